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
import { buildWorld, type World, type WorldSetup, type WorldSpec } from './world';

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
  /** What the REST setup created (users, rooms, files). */
  readonly setup: WorldSetup;
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

  /** The world's REST setup. */
  get setup(): WorldSetup {
    return this.world.setup;
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
