/**
 * fdatasync latency on PostgreSQL's filesystem *during* a window, at a low rate (default 20 writes
 * a second, a few percent of the WAL flushes of a typing run). The probe before the window says
 * what the disk was like before; this says whether it stalled while the latencies were taken, which
 * is what a tail of the size of a stall needs to be explained. Runs in a worker thread.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fsyncStats, type FsyncStats } from './disk-probe';

/** Writes per second while watching. */
export const WATCH_RATE_HZ = 20;

/** A running watch: stop it to get its figures. */
export class FsyncWatch {
  private constructor(
    private readonly worker: Worker,
    private readonly dir: string,
  ) {}

  /** Starts watching `dir` (a directory on PostgreSQL's filesystem); resolves once the first write is under way. */
  static async start(dir: string, rateHz = WATCH_RATE_HZ): Promise<FsyncWatch> {
    const worker = new Worker(path.join(__dirname, 'fsync-watch-worker.js'), { workerData: { dir, rateHz } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new FsyncWatch(worker, dir);
  }

  /** Stops the writes, removes the file, and summarises (as the probe before the window). */
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
