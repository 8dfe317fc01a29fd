/**
 * fdatasync latency of the filesystem PostgreSQL's WAL lives on. Every acknowledged op waits for
 * a WAL flush (synchronous_commit = on), so a disk that stalls now and then puts a floor under the
 * end-to-end p99 whatever the server does; the report prints this floor next to the figures.
 * The probe runs for a few seconds before the measured window at 200 writes a second; the watch
 * (`FsyncWatch`) runs during the window at 20 a second, a few percent of a typing run's WAL flushes,
 * and says whether the disk stalled while the latencies were taken. Both write from a worker
 * thread (`fsync-watch-worker.ts`), so a stall blocks only that thread and each write is timed
 * around its own calls.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import { Samples, round } from './stats';

/** A write taking longer than this counts as a stall. */
export const STALL_MS = 20;

/** Writes per second of the watch during a window. */
export const WATCH_RATE_HZ = 20;

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

/** A running series of timed writes (8 KB + fdatasync) in a temporary file: stop it to get its figures. */
export class FsyncWatch {
  private constructor(
    private readonly worker: Worker,
    private readonly dir: string,
  ) {}

  /** Starts writing in `dir` at `rateHz`; resolves once the first write is under way. */
  static async start(dir: string, rateHz = WATCH_RATE_HZ): Promise<FsyncWatch> {
    const worker = new Worker(path.join(__dirname, 'fsync-watch-worker.js'), { workerData: { dir, rateHz } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new FsyncWatch(worker, dir);
  }

  /** Stops the writes, removes the file, and summarises. */
  async stop(): Promise<FsyncStats> {
    const done = new Promise<{ latencies: number[]; seconds: number }>((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
    });
    this.worker.postMessage('stop');
    const { latencies, seconds } = await done;
    await this.worker.terminate();
    return fsyncStats(latencies, seconds, this.dir);
  }
}

/**
 * Writes an 8 KB block + fdatasync at a fixed rate (default 200/s) into a temporary file in `dir`
 * for `durationMs` (default 3 s), then deletes it; a slow write delays the next ones rather than
 * queueing them (as PostgreSQL's single WAL flusher would).
 */
export async function probeFsync(dir: string, options: ProbeOptions = {}): Promise<FsyncStats> {
  const watch = await FsyncWatch.start(dir, options.rateHz ?? 200);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs ?? 3000));
  return watch.stop();
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

/** PostgreSQL's data directory on this machine, and where to write probes: its parent, or why not there. */
export interface PostgresDisk {
  readonly dataDir: string;
  readonly probeDir: string | { readonly reason: string };
}

/**
 * Finds PostgreSQL's data directory over the admin connection, and its parent as the place to
 * probe (same filesystem, but never inside the data directory itself). Never throws.
 */
export async function postgresDisk(adminUrl: string): Promise<PostgresDisk | { reason: string }> {
  const found = await localDataDirectory(adminUrl);
  if ('reason' in found) return found;
  const parent = path.dirname(found.dir);
  try {
    // The data directory may be a mount point of its own: then its parent says nothing about it.
    if (statSync(parent).dev !== statSync(found.dir).dev) return { dataDir: found.dir, probeDir: { reason: `${parent} is not on the filesystem of ${found.dir}` } };
    return { dataDir: found.dir, probeDir: parent };
  } catch (err) {
    return { dataDir: found.dir, probeDir: { reason: `cannot probe ${parent}: ${err instanceof Error ? err.message : String(err)}` } };
  }
}

/** Probes fdatasync where `disk` says to, or says why not. Never throws. */
export async function probeDisk(disk: PostgresDisk | { reason: string }, options: ProbeOptions = {}): Promise<DiskProbeResult> {
  if ('reason' in disk) return { stats: null, reason: disk.reason };
  if (typeof disk.probeDir !== 'string') return { stats: null, reason: disk.probeDir.reason };
  try {
    return { stats: await probeFsync(disk.probeDir, options) };
  } catch (err) {
    return { stats: null, reason: `cannot probe ${disk.probeDir}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** `probeDisk` of PostgreSQL's disk as found over the admin connection. Never throws. */
export async function probePostgresDisk(adminUrl: string, options: ProbeOptions = {}): Promise<DiskProbeResult> {
  return probeDisk(await postgresDisk(adminUrl), options);
}
