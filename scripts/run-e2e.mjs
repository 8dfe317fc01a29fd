#!/usr/bin/env node
// The end-to-end part of `npm test`: runs extension/dist/e2e/**/*.e2e.js (a real VS Code, code-server,
// driven by headless Chromium; see extension/e2e/README.md) in its own Mocha process.
//
//   node scripts/run-e2e.mjs [--grep PATTERN]
//
// - If the environment cannot run them (no /usr/bin/chromium, VS Code host not installed, ...), prints
//   one line "e2e: skipped — <reason> (run <fix>)" and counts nothing; with CI=true that is a failure.
// - COLLAB_E2E=0 skips them on purpose (also under CI=true).
// - Screenshots go to output/e2e/ (git-ignored), emptied first when the whole suite runs.
// - After a run, prints "e2e: N passed, N failed[, N skipped]" last. When spawned with an IPC channel (the
//   root runner does), also sends { e2eResult: { passes, failures, pending, skipped? } } to its parent.
// Exit code: 1 if a test failed (or, under CI=true, if the suite could not run), else 0.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Mocha from 'mocha';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const e2eDist = path.join(root, 'extension', 'dist', 'e2e');
const ci = process.env.CI === 'true' || process.env.CI === '1';
const started = Date.now();

function parseArgs(argv) {
  let grep;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--grep' || arg === '-g') grep = argv[++i];
    else if (arg.startsWith('--grep=')) grep = arg.slice('--grep='.length);
    else if (!arg.startsWith('-') && grep === undefined) grep = arg;
    else {
      console.error(`run-e2e: unknown argument ${arg} (usage: node scripts/run-e2e.mjs [--grep PATTERN])`);
      process.exit(2);
    }
  }
  return { grep };
}

function findE2eFiles(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findE2eFiles(full));
    else if (entry.isFile() && entry.name.endsWith('.e2e.js')) found.push(full);
  }
  return found.sort();
}

/** Reports the counts (to the root runner over IPC when it spawned us) and exits. */
function finish(result, code) {
  const exit = () => process.exit(code);
  const report = () => (process.send ? process.send({ e2eResult: result }, exit) : exit());
  if (result.skipped !== undefined) {
    // The one "e2e: skipped — ..." / "e2e: FAILED — ..." line already said it all.
    report();
    return;
  }
  let line = `${result.passes} passed, ${result.failures} failed`;
  if (result.pending > 0) line += `, ${result.pending} skipped`;
  process.stdout.write(`\ne2e: ${line}\n`, report);
}

/** Not runnable here: a skip (one line, nothing counted) or, under CI=true, one failure. */
function unavailable(reason) {
  if (ci) {
    console.log(`e2e: FAILED — CI=true, but the e2e tests cannot run: ${reason}`);
    finish({ passes: 0, failures: 1, pending: 0, skipped: reason }, 1);
  } else {
    console.log(`e2e: skipped — ${reason}`);
    finish({ passes: 0, failures: 0, pending: 0, skipped: reason }, 0);
  }
}

const { grep } = parseArgs(process.argv.slice(2));

if (process.env.COLLAB_E2E === '0') {
  console.log('e2e: skipped — COLLAB_E2E=0');
  finish({ passes: 0, failures: 0, pending: 0, skipped: 'COLLAB_E2E=0' }, 0);
} else if (!existsSync(path.join(e2eDist, 'host.js'))) {
  unavailable('extension/dist/e2e/host.js is not built (run npm run build)');
} else {
  const require = createRequire(import.meta.url);
  const host = require(path.join(e2eDist, 'host.js'));
  const availability = host.e2eAvailability();
  if (!availability.ok) {
    unavailable(host.describeUnavailable(availability));
  } else {
    await runSuite(host);
  }
}

async function runSuite(host) {
  const files = findE2eFiles(e2eDist);
  if (files.length === 0) {
    unavailable('no *.e2e.js under extension/dist/e2e (run npm run build)');
    return;
  }
  if (grep === undefined && host.OUTPUT_DIR === path.join(root, 'output', 'e2e')) {
    rmSync(host.OUTPUT_DIR, { recursive: true, force: true });
  }
  console.log(`\ne2e: ${files.length} file(s) in a real VS Code (code-server ${host.pinnedCodeServerVersion()}, Chromium ${host.CHROMIUM_PATH}); screenshots in ${path.relative(root, host.OUTPUT_DIR) || host.OUTPUT_DIR}/`);

  const mocha = new Mocha({ reporter: 'spec', timeout: 300_000, ...(grep !== undefined ? { grep } : {}) });
  for (const file of files) mocha.addFile(file);
  try {
    await mocha.loadFilesAsync();
  } catch (error) {
    console.error('run-e2e: an e2e file failed to load:');
    console.error(error);
    finish({ passes: 0, failures: 1, pending: 0 }, 1);
    return;
  }
  const stats = await new Promise((resolve) => {
    const runner = mocha.run();
    runner.on('end', () => resolve(runner.stats ?? {}));
  });
  await host.stopAllHosts().catch(() => undefined);
  const { passes = 0, failures = 0, pending = 0 } = stats;
  const shots = existsSync(host.OUTPUT_DIR) ? readdirSync(host.OUTPUT_DIR).filter((name) => name.endsWith('.png')) : [];
  console.log(`e2e: ${((Date.now() - started) / 1000).toFixed(1)} s; ${shots.length} screenshot(s) in ${path.relative(root, host.OUTPUT_DIR) || host.OUTPUT_DIR}/`);
  finish({ passes, failures, pending }, failures > 0 ? 1 : 0);
}
