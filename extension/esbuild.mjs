#!/usr/bin/env node
// Bundles the extension into ONE file, out/extension.js, which is what the .vsix ships (and what
// package.json "main" points to). Everything the extension imports is inlined: our workspace packages
// (@collab/protocol, @collab/client), socket.io-client and its engine.io/ws stack, zod, ... Only
// `vscode` (provided by the editor) stays external, plus ws's optional native add-ons, which ws
// require()s inside try/catch and does without.
//
//   node esbuild.mjs                # dev: readable output + out/extension.js.map
//   node esbuild.mjs --production   # packaging: minified, external source map (not shipped), and
//                                   # out/THIRD_PARTY_NOTICES.txt (licenses of the inlined npm packages)
//   node esbuild.mjs --watch        # dev, rebuild on change
//   node esbuild.mjs --metafile     # also writes out/meta.json (inspect with https://esbuild.github.io/analyze/)
//
// Our workspace packages are bundled from their TypeScript sources (the `alias` below), not from their
// CommonJS tsc output in dist/: from ES modules esbuild can drop what the extension never uses. From
// dist/, protocol's index.js require()s every module, and with it all of zod (~560 KB of the bundle).
// esbuild does not type-check: `npm run bundle` runs `tsc -b` first.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
for (const arg of args) {
  if (!['--production', '--watch', '--metafile'].includes(arg)) {
    console.error(`esbuild.mjs: unknown argument ${arg} (usage: node esbuild.mjs [--production] [--watch] [--metafile])`);
    process.exit(2);
  }
}
const production = args.has('--production');

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: here,
  entryPoints: ['src/extension.ts'],
  outfile: 'out/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // '@collab/protocol' -> ../protocol/src (index.ts), '@collab/protocol/x' -> ../protocol/src/x.
  alias: { '@collab/protocol': '../protocol/src', '@collab/client': '../client/src' },
  // `vscode` is the editor's API module; bufferutil/utf-8-validate are optional native speed-ups of ws.
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
  // Production: out/extension.js.map without a sourceMappingURL comment (kept locally for decoding
  // stack traces, left out of the .vsix). Dev: linked map with the sources inlined.
  sourcemap: production ? 'external' : 'linked',
  sourcesContent: !production,
  minify: production,
  // The licenses of what we inline go to THIRD_PARTY_NOTICES.txt instead (see below).
  legalComments: production ? 'none' : 'inline',
  define: { 'process.env.NODE_ENV': JSON.stringify(production ? 'production' : 'development') },
  metafile: production || args.has('--metafile'),
  logLevel: 'info',
};

if (args.has('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log('esbuild.mjs: watching src/ (Ctrl+C to stop)');
} else {
  const result = await esbuild.build(options);
  if (result.errors.length > 0) process.exit(1);
  if (production && result.metafile) writeNotices(result.metafile);
  if (args.has('--metafile') && result.metafile) {
    writeFileSync(path.join(here, 'out', 'meta.json'), JSON.stringify(result.metafile));
    console.log(await esbuild.analyzeMetafile(result.metafile));
  }
}

/** The SPDX id from package.json: "license": "MIT", or the legacy {type} / [{type}] forms. */
function licenseId(pkg) {
  if (typeof pkg.license === 'string') return pkg.license;
  const legacy = [pkg.license, ...(Array.isArray(pkg.licenses) ? pkg.licenses : [])].filter((entry) => entry?.type);
  return legacy.length > 0 ? legacy.map((entry) => entry.type).join(' OR ') : 'unknown';
}

/**
 * out/THIRD_PARTY_NOTICES.txt: name, version, license and license text of every npm package whose code
 * ended up in the bundle (the metafile's inputs under node_modules/ with bytes in the output). Their MIT/BSD/ISC
 * licenses ask that the notice travels with copies of the code, so the .vsix ships this file.
 */
function writeNotices(metafile) {
  const packages = new Map();
  // Only the inputs that contributed bytes to the bundle (tree-shaken modules were read, not shipped).
  const shipped = Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs ?? {}).filter(([, info]) => info.bytesInOutput > 0).map(([input]) => input),
  );
  for (const input of new Set(shipped)) {
    const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (!match) continue;
    const dir = path.resolve(here, input.slice(0, match.index + match[0].length));
    if (packages.has(dir)) continue;
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const licenseFile = readdirSync(dir).find((name) => /^(licen[cs]e|copying)([.-]|$)/i.test(name));
    packages.set(dir, {
      name: pkg.name ?? match[1],
      version: pkg.version ?? '?',
      license: licenseId(pkg),
      text: licenseFile ? readFileSync(path.join(dir, licenseFile), 'utf8').trim() : undefined,
    });
  }
  const entries = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const missing = entries.filter((entry) => !entry.text);
  if (missing.length > 0) {
    console.warn(`esbuild.mjs: no LICENSE file in ${missing.map((entry) => entry.name).join(', ')} (listed with their license id only)`);
  }
  const parts = [
    'Collab (collab-vscode) bundles the following third-party npm packages into out/extension.js.',
    'Their license notices follow.',
    ...entries.map((entry) =>
      [`${'-'.repeat(78)}`, `${entry.name}@${entry.version} (${entry.license})`, '', entry.text ?? `License: ${entry.license}`].join('\n'),
    ),
  ];
  const file = path.join(here, 'out', 'THIRD_PARTY_NOTICES.txt');
  if (!existsSync(path.dirname(file))) mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${parts.join('\n\n')}\n`);
  console.log(`esbuild.mjs: out/THIRD_PARTY_NOTICES.txt lists ${entries.length} bundled package(s)`);
}
