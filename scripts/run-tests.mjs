#!/usr/bin/env node
// The root test runner (`npm test` builds first, then runs this). Runs every compiled test file,
// {protocol,client,backend,extension}/dist/**/*.test.js, in one Mocha process with the spec reporter, then
// prints a last line "N passed, N failed" (", N skipped" when tests are pending).
// Exits 1 if a test or hook failed or if no test ran.
//
//   node scripts/run-tests.mjs [--grep PATTERN | --grep=PATTERN | PATTERN]
//   MOCHA_TIMEOUT=ms (default 20000)
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Mocha from 'mocha';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['protocol', 'client', 'backend', 'extension'];

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

/** Runs the suite; resolves to the exit code and the summary line. */
async function run() {
  const { grep } = parseArgs(process.argv.slice(2));
  const timeout = parseTimeout(process.env.MOCHA_TIMEOUT);
  const files = packages.flatMap((name) => findTests(path.join(root, name, 'dist'))).sort();
  if (files.length === 0) {
    console.error('run-tests: no compiled test files found under {protocol,client,backend,extension}/dist (did the build run?)');
    return { code: 1, line: '0 passed, 0 failed' };
  }

  const mocha = new Mocha({ reporter: 'spec', timeout, ...(grep !== undefined ? { grep } : {}) });
  for (const file of files) mocha.addFile(file);
  try {
    await mocha.loadFilesAsync();
  } catch (error) {
    console.error('run-tests: a test file failed to load:');
    console.error(error);
    return { code: 1, line: '0 passed, 1 failed' };
  }

  const stats = await new Promise((resolve) => {
    const runner = mocha.run();
    runner.on('end', () => resolve(runner.stats ?? {}));
  });
  const { passes = 0, failures = 0, pending = 0 } = stats;
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
