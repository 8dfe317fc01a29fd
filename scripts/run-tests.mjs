#!/usr/bin/env node
// The root test runner (`npm test` builds first, then runs this).
//  1. Unit tests: every compiled test file, {protocol,client,backend,extension}/dist/**/*.test.js, in this
//     Mocha process with the spec reporter.
//  2. End-to-end tests: extension/dist/e2e/**/*.e2e.js, in a second Node process (scripts/run-e2e.mjs:
//     a real VS Code driven by headless Chromium). When this machine cannot run them it prints
//     "e2e: skipped — <reason> (run <fix>)" and counts nothing; with CI=true that is a failure.
//     COLLAB_E2E=0 skips them on purpose.
// Then prints a last line "N passed, N failed" (", N skipped" when tests are pending), both parts summed.
// Exits 1 if a test or hook failed or if no test ran.
//
//   node scripts/run-tests.mjs [--grep PATTERN | --grep=PATTERN | PATTERN]
//   MOCHA_TIMEOUT=ms (default 20000; unit tests only, e2e tests set their own)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Mocha from 'mocha';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['protocol', 'client', 'backend', 'extension', 'bench'];

function usage(message) {
  console.error(`run-tests: ${message}`);
  console.error('usage: node scripts/run-tests.mjs [--grep PATTERN | PATTERN]   (env MOCHA_TIMEOUT=ms)');
  process.exit(2);
}

function parseArgs(argv) {
  let grep;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let value;
    if (arg === '--grep' || arg === '-g') {
      if (i + 1 >= argv.length) usage(`${arg} needs a pattern`);
      value = argv[++i];
    } else if (arg.startsWith('--grep=')) {
      value = arg.slice('--grep='.length);
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      value = arg;
    }
    if (grep !== undefined) usage('give at most one filter');
    grep = value;
  }
  return { grep };
}

function parseTimeout(raw) {
  if (raw === undefined || raw.trim() === '') return 20000;
  if (!/^\d+$/.test(raw.trim())) usage(`MOCHA_TIMEOUT must be a whole number of milliseconds, got ${JSON.stringify(raw)}`);
  return Number(raw.trim());
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findTests(full));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) found.push(full);
  }
  return found;
}

/** Runs the unit tests in this process; resolves to Mocha's counts. */
async function runUnit(grep, timeout) {
  const files = packages.flatMap((name) => findTests(path.join(root, name, 'dist'))).sort();
  if (files.length === 0) {
    console.error('run-tests: no compiled test files found under {protocol,client,backend,extension}/dist (did the build run?)');
    return { passes: 0, failures: 1, pending: 0 };
  }

  const mocha = new Mocha({ reporter: 'spec', timeout, ...(grep !== undefined ? { grep } : {}) });
  for (const file of files) mocha.addFile(file);
  try {
    await mocha.loadFilesAsync();
  } catch (error) {
    console.error('run-tests: a test file failed to load:');
    console.error(error);
    return { passes: 0, failures: 1, pending: 0 };
  }

  const stats = await new Promise((resolve) => {
    const runner = mocha.run();
    runner.on('end', () => resolve(runner.stats ?? {}));
  });
  const { passes = 0, failures = 0, pending = 0 } = stats;
  return { passes, failures, pending };
}

/** Runs scripts/run-e2e.mjs in a child process (output passed through); resolves to the counts it reports over IPC. */
async function runE2e(grep) {
  const args = [path.join(root, 'scripts', 'run-e2e.mjs'), ...(grep !== undefined ? ['--grep', grep] : [])];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  let result;
  child.on('message', (message) => {
    if (message && typeof message === 'object' && 'e2eResult' in message) result = message.e2eResult;
  });
  const code = await new Promise((resolve) => {
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal));
    child.on('error', (error) => resolve(String(error)));
  });
  if (!result) {
    console.error(`run-tests: the e2e runner ended (${code}) without reporting a result`);
    return { passes: 0, failures: 1, pending: 0 };
  }
  const { passes = 0, failures = 0, pending = 0 } = result;
  // A non-zero exit with no failed test (e.g. a crash after the run) still fails the suite.
  return { passes, failures: failures === 0 && code !== 0 ? 1 : failures, pending };
}

/** Runs both suites; resolves to the exit code and the summary line. */
async function run() {
  const { grep } = parseArgs(process.argv.slice(2));
  const timeout = parseTimeout(process.env.MOCHA_TIMEOUT);
  const unit = await runUnit(grep, timeout);
  const e2e = await runE2e(grep);
  const passes = unit.passes + e2e.passes;
  const failures = unit.failures + e2e.failures;
  const pending = unit.pending + e2e.pending;
  let line = `${passes} passed, ${failures} failed`;
  if (pending > 0) line += `, ${pending} skipped`;
  if (passes + failures === 0) {
    console.error(`run-tests: no test ran${grep !== undefined ? ` (filter ${JSON.stringify(grep)})` : ''}`);
  }
  return { code: failures > 0 || passes + failures === 0 ? 1 : 0, line };
}

const { code, line } = await run();
// Print the summary last, flush it, and exit explicitly: a test that leaves a socket or timer open
// must not hang CI.
process.stdout.write(`\n${line}\n`, () => process.exit(code));
