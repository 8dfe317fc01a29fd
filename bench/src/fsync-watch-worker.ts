/**
 * The thread of `FsyncWatch` (disk-probe.ts): writes an 8 KB block + fdatasync at a fixed rate into a temporary
 * file until told to stop, then posts every latency and removes its file. Synchronous calls in a
 * thread of their own: a stall blocks this thread only, and each write is timed around the calls
 * alone, so neither the bench's event loop nor libuv's pool shows up in the figures.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

const { dir, rateHz } = workerData as { dir: string; rateHz: number };
/** Block size of one write: PostgreSQL's WAL page. */
const BLOCK = 8192;
/** The file is preallocated to this size and written in a cycle, like a WAL segment (no size change, so no inode update). */
const FILE_SIZE = 1 << 20;
const tmp = mkdtempSync(path.join(dir, '.collab-bench-fsync-'));
const fd = openSync(path.join(tmp, 'probe'), 'w');
const block = Buffer.alloc(BLOCK, 0x5a);
for (let off = 0; off < FILE_SIZE; off += BLOCK) writeSync(fd, block, 0, BLOCK, off);
fdatasyncSync(fd);

const latencies: number[] = [];
const start = performance.now();
let next = start;
let offset = 0;
let timer: NodeJS.Timeout | undefined;

function tick(): void {
  const t0 = performance.now();
  writeSync(fd, block, 0, BLOCK, offset);
  fdatasyncSync(fd);
  const now = performance.now();
  latencies.push(now - t0);
  offset = (offset + BLOCK) % FILE_SIZE;
  // A fixed schedule (timers round their delays); after a stall, carry on from now rather than
  // bursting to catch up.
  next = Math.max(next + 1000 / rateHz, now);
  timer = setTimeout(tick, next - now);
}

parentPort?.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  if (timer) clearTimeout(timer);
  closeSync(fd);
  rmSync(tmp, { recursive: true, force: true });
  parentPort?.postMessage({ latencies, seconds: (performance.now() - start) / 1000 });
  parentPort?.close();
});
parentPort?.postMessage('ready');
tick();
