/**
 * Which server code a run measured: other people rebuild `backend/dist` while benchmarks run, so
 * every result names the commit, whether the backend's sources differ from it, and a hash of the
 * compiled backend and protocol at spawn time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The build a run used. */
export interface BuildInfo {
  readonly commit: string;
  /** Uncommitted changes under backend/src or protocol/src. */
  readonly dirty: boolean;
  /** sha256 (12 hex digits) of backend/dist and protocol/dist *.js. */
  readonly distHash: string;
}

/** Reads the build information now. */
export function buildInfo(): BuildInfo {
  const git = (args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const hash = createHash('sha256');
  for (const dir of ['backend/dist', 'protocol/dist']) for (const file of jsFiles(path.join(ROOT, dir))) hash.update(file).update(readFileSync(file));
  return {
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--', 'backend/src', 'protocol/src']) !== '',
    distHash: hash.digest('hex').slice(0, 12),
  };
}

function jsFiles(dir: string): string[] {
  let out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out = out.concat(jsFiles(full));
    else if (e.name.endsWith('.js') && !e.name.endsWith('.test.js')) out.push(full);
  }
  return out;
}
