/**
 * The simulated clients of a scenario, wherever they run: `LocalFleet` keeps them in this thread
 * (`--threads 1`, the original code path), `ThreadFleet` (client-threads.ts) spreads them over
 * worker threads. The scenario drives either the same way and reads the same figures.
 */
import type { ConvergenceResult } from './convergence';
import { checkConvergence } from './convergence';
import type { LatencyResults } from './latency';
import { LatencyTracker } from './latency';
import type { LoopFigures } from './loop-delay';
import { startLoad, type Load, type LoadSpec } from './scenarios/load';
import { buildWorld, nodeOf, type World, type WorldSpec } from './world';

/** What stopping the load reports. */
export interface StopFigures {
  /** Typing ticks skipped because a bench thread fell behind. */
  readonly missed: number;
  /** Hot-file sends held back by the per-connection rate during the window. */
  readonly paced: number;
  /** Event-loop delay of each client thread over the window (empty for the in-process fleet). */
  readonly loops: LoopFigures[];
}

/** The clients of a run. */
export interface Fleet {
  /** Latency samples and counts (counts are complete after `finish`). */
  readonly results: LatencyResults;
  readonly setupSeconds: { users: number; rooms: number; connect: number };
  /** Checks that an op typed on one node reaches a client of the same file on another node. */
  probeCrossNode(): Promise<void>;
  /** Starts the load (before the warm-up). */
  startLoad(): Promise<void>;
  /** Opens the measurement window in every thread. */
  startMeasuring(): Promise<void>;
  /** Stops the load and closes the window. */
  stopLoad(): Promise<StopFigures>;
  /** The end-of-run convergence check over every client. */
  converge(timeoutMs?: number): Promise<ConvergenceResult>;
  /** Collects the final counts; resolves with disconnections (in total and since the window opened). */
  finish(): Promise<{ total: number; inWindow: number }>;
  /** Disconnects every client (and ends the worker threads). */
  close(): Promise<void>;
}

/** The in-process fleet: the clients, the tracker and the load all in this thread. */
export class LocalFleet implements Fleet {
  private load: Load | undefined;
  private disconnectsBefore = 0;

  private constructor(
    private readonly world: World,
    private readonly tracker: LatencyTracker,
    private readonly loadSpec: LoadSpec,
  ) {}

  /** Sets up and connects the world of `spec` in this thread. */
  static async build(spec: WorldSpec, load: LoadSpec, log: (line: string) => void): Promise<LocalFleet> {
    const tracker = new LatencyTracker();
    return new LocalFleet(await buildWorld(spec, tracker, log), tracker, load);
  }

  /** The results are the tracker's own. */
  get results(): LatencyResults {
    return this.tracker;
  }

  /** The world's setup times. */
  get setupSeconds(): { users: number; rooms: number; connect: number } {
    return this.world.setupSeconds;
  }

  /** Types on client 0 and waits for the first client of its file on another node to apply it. */
  async probeCrossNode(): Promise<void> {
    const world = this.world;
    const a = world.docs[0];
    const b = world.docs.find((d, i) => nodeOf(world.spec, i) !== nodeOf(world.spec, 0) && d.fileId === a?.fileId);
    if (!a || !b) throw new Error(NEED_TWO);
    const target = b.state.version + 1;
    a.type(0, 'x');
    const deadline = performance.now() + 3000;
    while (b.state.version < target) {
      if (performance.now() > deadline) throw new Error(NO_FANOUT);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Starts the load on every doc. */
  async startLoad(): Promise<void> {
    this.load = startLoad(this.world.docs, this.loadSpec);
  }

  /** Opens the window (the tracker drops the warm-up's samples and counts). */
  async startMeasuring(): Promise<void> {
    this.tracker.startMeasuring();
    this.disconnectsBefore = this.disconnects();
    this.load?.resetPaced();
  }

  /** Stops typing, then closes the window. */
  async stopLoad(): Promise<StopFigures> {
    this.load?.stop();
    this.tracker.stopMeasuring();
    return { missed: this.load?.missed() ?? 0, paced: this.load?.paced() ?? 0, loops: [] };
  }

  /** The convergence check of every doc. */
  converge(timeoutMs?: number): Promise<ConvergenceResult> {
    return checkConvergence(this.world.docs, timeoutMs);
  }

  /** Disconnections (the tracker's counts are already complete). */
  async finish(): Promise<{ total: number; inWindow: number }> {
    const total = this.disconnects();
    return { total, inWindow: total - this.disconnectsBefore };
  }

  /** Disconnects every client. */
  async close(): Promise<void> {
    this.load?.stop();
    for (const client of this.world.clients) client.close();
  }

  private disconnects(): number {
    return this.world.clients.reduce((n, c) => n + c.disconnects, 0);
  }
}

/** The error when no client of file 0 lives on another node. */
export const NEED_TWO = 'two-nodes: need at least two clients per file (clients > files) to check cross-node fan-out';
/** The error when ops do not cross nodes. */
export const NO_FANOUT = 'needs REDIS multi-node support (issue #5): an op committed on node 1 did not reach a client on node 2 within 3 s';
