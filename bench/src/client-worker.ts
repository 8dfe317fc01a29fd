/**
 * The entry of a client worker thread (`--threads N`, N > 1): runs the clients `indices` of the
 * world with their own event loop — connects them, drives the load, checks them for convergence —
 * and posts latency records in batches to the main thread, which merges them (client-threads.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BenchClient } from './bench-client';
import type { BenchDoc } from './bench-doc';
import { checkClients } from './convergence';
import { startLoopMonitor } from './loop-delay';
import { startLoad, type Load } from './scenarios/load';
import { ThreadTracker } from './thread-tracker';
import type { ConnectReply, ReportReply, StopReply, WorkerCommand, WorkerInit, WorkerMessage } from './worker-messages';
import { connectClients } from './world';

const port = parentPort;
if (!port) throw new Error('client-worker must run in a worker thread');
const init = workerData as WorkerInit;
const tracker = new ThreadTracker();
const loop = startLoopMonitor();
let clients: BenchClient[] = [];
let docs: BenchDoc[] = [];
let load: Load | undefined;
let disconnectsBefore = 0;

const post = (m: WorkerMessage): void => port.postMessage(m);
const flush = (): void => {
  const b = tracker.takeBatch();
  if (b) post({ kind: 'batch', batch: b });
};
const disconnects = (): number => clients.reduce((n, c) => n + (c ? c.disconnects : 0), 0);

/** Runs one command; resolves with its reply value. */
async function handle(m: WorkerCommand): Promise<unknown> {
  switch (m.cmd) {
    case 'connect': {
      ({ clients, docs } = await connectClients(init.spec, init.setup, init.indices, tracker));
      tracker.startBatching((batch) => post({ kind: 'batch', batch }), init.batchMs);
      return { subscribers: [...tracker.subscribers] } satisfies ConnectReply;
    }
    case 'start':
      load = startLoad(docs, init.load);
      return null;
    case 'measure':
      tracker.setMeasuring(true);
      disconnectsBefore = disconnects();
      load?.resetPaced();
      loop.reset();
      return null;
    case 'stop':
      load?.stop();
      tracker.setMeasuring(false);
      return { missed: load?.missed() ?? 0, paced: load?.paced() ?? 0, loop: loop.read() } satisfies StopReply;
    case 'check':
      return checkClients(docs);
    case 'report':
      flush();
      return { counts: tracker.counts.toJSON(), errors: tracker.errors.toJSON(), disconnects: disconnects(), disconnectsInWindow: disconnects() - disconnectsBefore } satisfies ReportReply;
    case 'close':
      load?.stop();
      tracker.stopBatching();
      loop.stop();
      for (const c of clients) if (c) c.close();
      return null;
  }
}

port.on('message', (m: WorkerCommand) => {
  handle(m).then(
    (value) => post({ kind: 'reply', id: m.id, ok: true, value }),
    (err: unknown) => post({ kind: 'reply', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
