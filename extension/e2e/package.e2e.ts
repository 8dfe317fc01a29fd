/**
 * E2E test of the packaged extension: `npm run package -w extension` builds the .vsix (esbuild bundle +
 * vsce), its contents are checked (small, self-contained, only the runtime files), then it is installed
 * into a real VS Code (code-server --install-extension, isolated dirs) the way a user would, and
 * "Collab: Show Log" must activate it and show the Collab output channel.
 *
 * Screenshots (output/e2e/): package-output.png, package-extensions.png, package-side-by-side.png.
 *
 *   node extension/dist/e2e/package.e2e.js              standalone: exit 0 = PASS
 *   (and under mocha, through the root runner: npm test)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import {
  EXTENSION_ROOT,
  OUTPUT_DIR,
  REPO_ROOT,
  contributedCommandTitle,
  describeUnavailable,
  e2eAvailability,
  outputPanel,
  runCommand,
  screenshot,
  sideBySide,
  startVsCode,
  stopAllHosts,
} from './host';

/** The .vsix must stay small: the bundle plus README images. */
export const MAX_VSIX_BYTES = 2 * 1024 * 1024;

/** Every file the .vsix may contain (paths inside the zip; `extension/` is the extension folder). */
const EXPECTED_FILES = [
  '[Content_Types].xml',
  'extension.vsixmanifest',
  'extension/package.json',
  'extension/out/extension.js',
  'extension/out/THIRD_PARTY_NOTICES.txt',
  'extension/readme.md',
  'extension/changelog.md',
  'extension/LICENSE.txt',
  'extension/media/icon.png',
  'extension/media/screenshot.png',
];
/** Modules the bundle may still require() at run time: the editor's API and ws's optional native add-ons. */
const ALLOWED_EXTERNALS = new Set(['vscode', 'bufferutil', 'utf-8-validate']);

interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  method: number;
  localHeaderOffset: number;
}

/** The entries of a zip file, from its central directory (what `unzip -l` lists). */
export function listZip(file: string): ZipEntry[] {
  const zip = readFileSync(file);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file (no end of central directory)`);
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    entries.push({
      method: zip.readUInt16LE(offset + 10),
      compressedSize: zip.readUInt32LE(offset + 20),
      size: zip.readUInt32LE(offset + 24),
      localHeaderOffset: zip.readUInt32LE(offset + 42),
      name: zip.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** One file's content from a zip (stored or deflated). */
export function readZipEntry(file: string, name: string): Buffer {
  const entry = listZip(file).find((e) => e.name === name);
  if (!entry) throw new Error(`${name} is not in ${file}`);
  const zip = readFileSync(file);
  const at = entry.localHeaderOffset;
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const data = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${name}: unsupported zip method ${entry.method}`);
}

/** The non-relative, non-builtin modules a bundle still require()s (should be only ALLOWED_EXTERNALS). */
export function externalRequires(code: string): string[] {
  const builtins = new Set(builtinModules);
  const found = new Set<string>();
  for (const match of code.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)) {
    const name = match[1]!;
    if (name.startsWith('.') || name.startsWith('node:') || builtins.has(name) || builtins.has(name.split('/')[0]!)) continue;
    found.add(name);
  }
  return [...found].sort();
}

/** Keys under which "contributes" names files of the extension (icons, grammars, language configurations, walkthrough media). */
const FILE_KEYS = new Set(['icon', 'light', 'dark', 'path', 'configuration', 'image', 'markdown', 'svg']);

/** Relative file paths named under FILE_KEYS anywhere in a manifest section (codicons such as "$(sync)" are not files). */
export function referencedFiles(value: unknown, found: string[] = [], key = ''): string[] {
  if (typeof value === 'string') {
    if (FILE_KEYS.has(key) && !value.startsWith('$(') && !/^[a-z]+:/i.test(value) && /\.[a-z0-9]+$/i.test(value)) found.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) referencedFiles(item, found, key);
  } else if (value && typeof value === 'object') {
    for (const [childKey, item] of Object.entries(value)) referencedFiles(item, found, childKey);
  }
  return found;
}

function manifest(): { name: string; version: string; publisher: string; main?: string } {
  return JSON.parse(readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    publisher: string;
    main?: string;
  };
}

/** Runs `npm run package -w extension` and returns the .vsix path (extension/dist/<name>-<version>.vsix). */
export function buildVsix(log: (line: string) => void = console.log): string {
  const { name, version, main } = manifest();
  const mainPath = path.resolve(EXTENSION_ROOT, main ?? '');
  assert.ok(
    mainPath.startsWith(path.join(EXTENSION_ROOT, 'out') + path.sep),
    `extension/package.json "main" is ${JSON.stringify(main)}, but the .vsix ships the esbuild bundle: it must be "./out/extension.js"`,
  );
  const vsix = path.join(EXTENSION_ROOT, 'dist', `${name}-${version}.vsix`);
  rmSync(vsix, { force: true });
  const started = Date.now();
  try {
    execFileSync('npm', ['run', 'package', '-w', 'extension'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe', timeout: 180_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`npm run package -w extension failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
  assert.ok(existsSync(vsix), `npm run package did not produce ${vsix}`);
  log(`npm run package: ${path.relative(REPO_ROOT, vsix)} (${statSync(vsix).size} bytes) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return vsix;
}

/** Checks the .vsix contents; returns the listing. */
export function checkVsixContents(vsix: string, log: (line: string) => void = console.log): ZipEntry[] {
  const entries = listZip(vsix);
  const names = entries.map((e) => e.name).sort();
  for (const entry of entries) log(`${String(entry.size).padStart(9)} ${String(entry.compressedSize).padStart(9)}  ${entry.name}`);
  const size = statSync(vsix).size;
  log(`${entries.length} files, ${size} bytes`);

  const packaged = JSON.parse(readZipEntry(vsix, 'extension/package.json').toString('utf8')) as {
    main?: string;
    engines?: { vscode?: string };
    contributes?: unknown;
  };
  // Files the manifest's "contributes" points at (view/command icons, grammars, schemas...) must be shipped.
  const referenced = referencedFiles(packaged.contributes).map((file) => `extension/${path.posix.normalize(file)}`);
  const unreferencedMissing = referenced.filter((n) => !names.includes(n));
  assert.deepEqual(unreferencedMissing, [], `package.json "contributes" refers to files the .vsix lacks (add them to .vscodeignore's allowlist): ${unreferencedMissing.join(', ')}`);

  // Only runtime files: the expected ones, media/, and what "contributes" refers to.
  const unexpected = names.filter((n) => !EXPECTED_FILES.includes(n) && !n.startsWith('extension/media/') && !referenced.includes(n));
  assert.deepEqual(unexpected, [], `unexpected files in the .vsix (update .vscodeignore, or EXPECTED_FILES here): ${unexpected.join(', ')}`);
  const missing = EXPECTED_FILES.filter((n) => !names.includes(n));
  assert.deepEqual(missing, [], `missing from the .vsix: ${missing.join(', ')}`);
  assert.ok(size <= MAX_VSIX_BYTES, `the .vsix is ${size} bytes, over the ${MAX_VSIX_BYTES}-byte budget`);

  assert.equal(path.posix.normalize(packaged.main ?? ''), 'out/extension.js');
  assert.equal(packaged.engines?.vscode, '^1.100.0');
  const bundle = readZipEntry(vsix, 'extension/out/extension.js').toString('utf8');
  const externals = externalRequires(bundle).filter((name) => !ALLOWED_EXTERNALS.has(name));
  assert.deepEqual(externals, [], `the bundle require()s modules the .vsix does not ship: ${externals.join(', ')}`);
  assert.doesNotMatch(bundle, /sourceMappingURL=/, 'the packaged bundle points at a source map that is not shipped');
  return entries;
}

export async function runPackageScenario(log: (line: string) => void = console.log): Promise<{ vsix: string; screenshots: string[] }> {
  const vsix = buildVsix(log);
  checkVsixContents(vsix, log);

  const workspaceDir = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-package-ws-'));
  writeFileSync(path.join(workspaceDir, 'notes.txt'), 'installed from the .vsix\n');
  const host = await startVsCode({ name: 'vsix', workspaceDir, extensionDevelopmentPath: null, vsix: [vsix] });
  try {
    const { version, publisher, name } = manifest();
    assert.equal(host.extensionId, `${publisher}.${name}`);
    // Installed as a real folder from the package (not the development symlink), without node_modules.
    const installed = readdirSync(host.extensionsDir).filter((entry) => entry.startsWith(`${publisher}.${name}-`));
    assert.deepEqual(installed, [`${publisher}.${name}-${version}`]);
    const installedDir = path.join(host.extensionsDir, installed[0]!);
    assert.ok(!lstatSync(installedDir).isSymbolicLink(), `${installedDir} is a symlink`);
    assert.ok(existsSync(path.join(installedDir, 'out', 'extension.js')));
    assert.ok(!existsSync(path.join(installedDir, 'node_modules')), 'the installed extension has a node_modules folder');
    log(`installed ${installed[0]} into ${host.extensionsDir}`);

    const { page } = host;
    await runCommand(page, contributedCommandTitle('collab.showLog'));
    await host.waitForActivation();
    let panel = await outputPanel(page);
    for (let i = 0; i < 75 && !(panel.channel === 'Collab' && panel.text.includes(`Collab ${version} activated`)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      panel = await outputPanel(page);
    }
    assert.equal(panel.channel, 'Collab');
    assert.match(panel.text, new RegExp(`Collab ${version.replace(/\./g, '\\.')} activated`));
    const outputShot = await screenshot(page, path.join(OUTPUT_DIR, 'package-output.png'));

    // The Extensions view (Ctrl+Shift+X) lists it as installed, with its icon; its details page renders the
    // README. (Its relative image stays blank there: the details webview only loads https:/data: images,
    // so the screenshot shows once the package has a "repository" and vsce rewrites the link.)
    await page.keyboard.press('Control+Shift+X');
    const row = page.locator('.extensions-viewlet .monaco-list-row', { has: page.locator('.name', { hasText: /^Collab$/ }) }).first();
    await row.waitFor({ state: 'visible', timeout: 20_000 });
    await row.click();
    await page.locator('.extension-editor .header .name', { hasText: 'Collab' }).first().waitFor({ state: 'visible', timeout: 20_000 });
    const extensionsShot = await screenshot(page, path.join(OUTPUT_DIR, 'package-extensions.png'), { settleMs: 1500 });

    const composed = await sideBySide(outputShot, extensionsShot, path.join(OUTPUT_DIR, 'package-side-by-side.png'), {
      labels: ['.vsix installed: "Collab: Show Log"', 'Extensions view: Collab (installed from the .vsix)'],
    });
    return { vsix, screenshots: [outputShot, extensionsShot, composed] };
  } finally {
    await host.stop();
    rmSync(workspaceDir, { recursive: true, force: true });
  }
}

if (typeof describe === 'function') {
  describe('e2e package: the .vsix installs into a real VS Code and activates', function () {
    this.timeout(300_000);
    after(() => stopAllHosts());
    it('npm run package builds a small .vsix; code-server --install-extension installs it; "Collab: Show Log" activates it', async function () {
      const availability = e2eAvailability();
      if (!availability.ok) {
        console.log(`    skipped: ${describeUnavailable(availability)}`);
        this.skip();
      }
      await runPackageScenario((line) => console.log(`    ${line}`));
    });
  });
}

if (require.main === module) {
  const availability = e2eAvailability();
  if (!availability.ok) {
    console.error(`e2e package: cannot run: ${describeUnavailable(availability)}`);
    process.exit(1);
  }
  const started = Date.now();
  runPackageScenario()
    .then((result) => {
      for (const file of result.screenshots) console.log(`e2e package: screenshot ${file}`);
      console.log(`e2e package: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(0);
    })
    .catch(async (error: unknown) => {
      console.error('e2e package: FAIL', error);
      await stopAllHosts();
      process.exit(1);
    });
}
