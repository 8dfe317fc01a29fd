/**
 * A VS Code language id guessed from a file name, for `file:create` when no document says it (files
 * shared from disk, files a guest creates). The server only stores it; every editor picks the
 * language by its own file associations. Pure.
 */

const BY_EXTENSION: Readonly<Record<string, string>> = {
  ts: 'typescript', mts: 'typescript', cts: 'typescript', tsx: 'typescriptreact', js: 'javascript', mjs: 'javascript', cjs: 'javascript',
  jsx: 'javascriptreact', json: 'json', jsonc: 'jsonc', md: 'markdown', py: 'python', go: 'go', rs: 'rust', java: 'java', kt: 'kotlin',
  c: 'c', h: 'c', cpp: 'cpp', cc: 'cpp', hpp: 'cpp', cs: 'csharp', css: 'css', scss: 'scss', less: 'less', html: 'html', htm: 'html',
  xml: 'xml', svg: 'xml', yml: 'yaml', yaml: 'yaml', toml: 'toml', sh: 'shellscript', bash: 'shellscript', zsh: 'shellscript',
  ps1: 'powershell', rb: 'ruby', php: 'php', sql: 'sql', swift: 'swift', lua: 'lua', r: 'r', dart: 'dart', vue: 'vue', txt: 'plaintext',
};

const BY_NAME: Readonly<Record<string, string>> = {
  dockerfile: 'dockerfile', makefile: 'makefile', '.gitignore': 'ignore', '.dockerignore': 'ignore',
};

/** The language id for a path (`/`-separated; only the last segment matters), `plaintext` when unknown. */
export function languageOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const byName = BY_NAME[name];
  if (byName) return byName;
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'plaintext';
  return BY_EXTENSION[name.slice(dot + 1)] ?? 'plaintext';
}
