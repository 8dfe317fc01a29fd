/**
 * `--threads N` (N > 1): the clients run in N worker threads (client-worker.ts), client i in thread
 * i mod N, so the clients of one file are spread over the threads. The main thread keeps the setup
 * over REST, the window and the merge of latency records (thread-merge.ts), counts and checks.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { waitForConvergence, type ClientCheck, type ConvergenceResult } from './convergence';
import type { Fleet, StopFigures } from './fleet';
import type { LoadSpec } from './scenarios/load';
import { LatencyMerge } from './thread-merge';
import type { CheckReply, ConnectReply, ReportReply, StopReply, WorkerCommand, WorkerInit, WorkerMessage } from './worker-messages';
import { round1, setupWorld, type WorldSetup, type WorldSpec } from './world';

type Command = WorkerCommand extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

/** One worker thread and its pending calls. */
class ClientThread {
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  constructor(
    readonly worker: Worker,
    onBatch: (m: Extract<WorkerMessage, { kind: 'batch' }>) => void,
  ) {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'batch') return onBatch(m);
      const call = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.ok) call?.resolve(m.value);
      else call?.reject(new Error(`client thread: ${m.error}`));
    });
    const fail = (err: Error): void => {
      this.failure = err;
      for (const c of this.calls.values()) c.reject(err);
      this.calls.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`client thread exited (code ${code})`)));
  }

  /** Sends a command and resolves with the reply's value. */
  call<T>(command: Command): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...command, id });
    });
  }
}

/** The clients spread over worker threads. */
export class ThreadFleet implements Fleet {
  private constructor(
    readonly results: LatencyMerge,
    private readonly threads: ClientThread[],
    readonly setupSeconds: { users: number; rooms: number; connect: number },
    readonly setup: WorldSetup,
  ) {}

  /** Sets up the world over REST here, then connects the clients in `n` worker threads. */
  static async build(spec: WorldSpec, load: LoadSpec, n: number, log: (line: string) => void, batchMs = 150): Promise<ThreadFleet> {
    const setup = await setupWorld(spec, log);
    const t = performance.now();
    const merge = new LatencyMerge();
    const threads: ClientThread[] = [];
    for (let k = 0; k < n; k++) {
      const indices = Array.from({ length: spec.clients }, (_, c) => c).filter((c) => c % n === k);
      const init: WorkerInit = { spec, setup, indices, load, batchMs };
      threads.push(new ClientThread(new Worker(path.join(__dirname, 'client-worker.js'), { workerData: init }), (m) => merge.add(m.batch)));
    }
    try {
      const replies = await Promise.all(threads.map((th) => th.call<ConnectReply>({ cmd: 'connect' })));
      for (const r of replies) for (const [fileId, count] of r.subscribers) merge.addSubscribers(fileId, count);
    } catch (err) {
      await Promise.all(threads.map((th) => th.worker.terminate()));
      throw err;
    }
    const tConnect = (performance.now() - t) / 1000;
    log(`  connected ${spec.clients} clients (joined, file open) in ${n} threads in ${tConnect.toFixed(1)} s`);
    return new ThreadFleet(merge, threads, { ...setup.seconds, connect: round1(tConnect) }, setup);
  }

  /** Starts the load in every thread. */
  async startLoad(): Promise<void> {
    await this.all({ cmd: 'start' });
  }

  /** Opens the window in every thread. */
  async startMeasuring(): Promise<void> {
    await this.all({ cmd: 'measure' });
  }

  /** Stops the load and closes the window in every thread. */
  async stopLoad(): Promise<StopFigures> {
    const r = await this.all<StopReply>({ cmd: 'stop' });
    return { missed: sum(r.map((x) => x.missed)), paced: sum(r.map((x) => x.paced)), loops: r.map((x) => x.loop) };
  }

  /** Every thread checks its clients; the reports are compared here across threads. */
  converge(timeoutMs?: number): Promise<ConvergenceResult> {
    return waitForConvergence(async () => (await this.all<CheckReply>({ cmd: 'check' })).flat() as ClientCheck[], timeoutMs);
  }

  /** Final batches and counts of every thread, merged. */
  async finish(): Promise<{ total: number; inWindow: number }> {
    const reports = await this.all<ReportReply>({ cmd: 'report' });
    for (const r of reports) {
      for (const [k, v] of Object.entries(r.counts)) this.results.counts.add(k, v);
      for (const [k, v] of Object.entries(r.errors)) this.results.errors.add(k, v);
    }
    return { total: sum(reports.map((r) => r.disconnects)), inWindow: sum(reports.map((r) => r.disconnectsInWindow)) };
  }

  /** Closes the clients in every thread and ends the threads. */
  async close(): Promise<void> {
    await Promise.allSettled(this.threads.map((th) => th.call({ cmd: 'close' })));
    await Promise.all(this.threads.map((th) => th.worker.terminate()));
  }

  private all<T>(command: Command): Promise<T[]> {
    return Promise.all(this.threads.map((th) => th.call<T>(command)));
  }
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
