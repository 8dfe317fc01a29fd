/**
 * fdatasync latency of the filesystem PostgreSQL's WAL lives on. Every acknowledged op waits for
 * a WAL flush (synchronous_commit = on), so a disk that stalls now and then puts a floor under the
 * end-to-end p99 whatever the server does; the report prints this floor next to the figures.
 * The probe runs for a few seconds before the measured window, never during it.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { Samples, round } from './stats';

/** A write taking longer than this counts as a stall. */
export const STALL_MS = 20;

/** Block size of one probe write: PostgreSQL's WAL page. */
const BLOCK = 8192;

/** The probe's file is preallocated to this size and written in a cycle, like a WAL segment (no size change, so no inode update). */
const FILE_SIZE = 1 << 20;

/** What the probe found (milliseconds). */
export interface FsyncStats {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Writes slower than `STALL_MS`. */
  readonly stalls: number;
  /** `stalls` per second of probe. */
  readonly stallsPerSec: number;
  /** How long the probe ran (s). */
  readonly probeSeconds: number;
  /** The directory the probe wrote in. */
  readonly dir: string;
}

/** The probe's outcome: figures, or why there are none (the run carries on either way). */
export type DiskProbeResult = { readonly stats: FsyncStats } | { readonly stats: null; readonly reason: string };

/** Pacing of the probe. */
export interface ProbeOptions {
  /** Writes per second. @default 200 */
  readonly rateHz?: number;
  /** How long to probe (ms). @default 3000 */
  readonly durationMs?: number;
}

/** Percentiles (nearest rank) and stall count of a list of write+fdatasync latencies taken over `seconds`. */
export function fsyncStats(latenciesMs: readonly number[], seconds: number, dir: string): FsyncStats {
  const s = new Samples();
  for (const x of latenciesMs) s.add(x);
  const p = s.summary();
  const stalls = latenciesMs.filter((x) => x > STALL_MS).length;
  return {
    samples: latenciesMs.length,
    p50: p?.p50 ?? 0,
    p99: p?.p99 ?? 0,
    max: p?.max ?? 0,
    stalls,
    stallsPerSec: seconds > 0 ? round(stalls / seconds, 2) : 0,
    probeSeconds: round(seconds, 2),
    dir,
  };
}

/**
 * Writes an 8 KB block + fdatasync at a fixed rate into a temporary file in `dir` for
 * `durationMs`, then deletes it. Each write is timed around the synchronous calls only, so the
 * bench's own event loop does not show up in the figures; a slow write delays the next ones
 * rather than queueing them (as PostgreSQL's single WAL flusher would).
 */
export async function probeFsync(dir: string, options: ProbeOptions = {}): Promise<FsyncStats> {
  const interval = 1000 / (options.rateHz ?? 200);
  const durationMs = options.durationMs ?? 3000;
  const tmp = mkdtempSync(path.join(dir, '.collab-bench-fsync-'));
  const file = path.join(tmp, 'probe');
  const fd = openSync(file, 'w');
  const latencies: number[] = [];
  try {
    const block = Buffer.alloc(BLOCK, 0x5a);
    for (let off = 0; off < FILE_SIZE; off += BLOCK) writeSync(fd, block, 0, BLOCK, off);
    fdatasyncSync(fd);
    const start = performance.now();
    let next = start;
    let offset = 0;
    while (performance.now() - start < durationMs) {
      const t0 = performance.now();
      writeSync(fd, block, 0, BLOCK, offset);
      fdatasyncSync(fd);
      latencies.push(performance.now() - t0);
      offset = (offset + BLOCK) % FILE_SIZE;
      next += interval;
      // Behind schedule after a stall: carry on from now instead of bursting to catch up.
      if (next < performance.now()) next = performance.now();
      await new Promise((resolve) => setTimeout(resolve, next - performance.now()));
    }
    return fsyncStats(latencies, (performance.now() - start) / 1000, dir);
  } finally {
    closeSync(fd);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** True when the URL's server runs on this machine (so its data directory is a path here). */
function isLocal(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === '' || host === 'localhost' || host === '::1' || host.startsWith('127.') || host.startsWith('/');
}

/**
 * PostgreSQL's data directory, asked over the admin connection, when the server runs on this
 * machine (so that the path is one here); otherwise why not. Never throws.
 */
export async function localDataDirectory(adminUrl: string): Promise<{ dir: string } | { reason: string }> {
  try {
    if (!isLocal(new URL(adminUrl))) return { reason: 'PostgreSQL is not on this machine' };
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const dir = String((await client.query('SHOW data_directory')).rows[0]?.['data_directory'] ?? '');
      return dir ? { dir } : { reason: 'SHOW data_directory returned nothing' };
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (err) {
    return { reason: `SHOW data_directory failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Finds PostgreSQL's data directory over the admin connection and probes its parent directory
 * (same filesystem, but never inside the data directory itself). Never throws: any failure
 * becomes a reason.
 */
export async function probePostgresDisk(adminUrl: string, options: ProbeOptions = {}): Promise<DiskProbeResult> {
  const found = await localDataDirectory(adminUrl);
  if ('reason' in found) return { stats: null, reason: found.reason };
  const dataDir = found.dir;
  const parent = path.dirname(dataDir);
  try {
    // The data directory may be a mount point of its own: then its parent says nothing about it.
    if (statSync(parent).dev !== statSync(dataDir).dev) return { stats: null, reason: `${parent} is not on the filesystem of ${dataDir}` };
    return { stats: await probeFsync(parent, options) };
  } catch (err) {
    return { stats: null, reason: `cannot probe ${parent}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
