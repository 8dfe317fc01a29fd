/** The messages between the main thread and a client worker thread (plain data, structured-cloned). */
import type { ClientCheck } from './convergence';
import type { LoopFigures } from './loop-delay';
import type { LoadSpec } from './scenarios/load';
import type { LatencyBatch } from './thread-merge';
import type { WorldSetup, WorldSpec } from './world';

/** The `workerData` of a client worker. */
export interface WorkerInit {
  readonly spec: WorldSpec;
  readonly setup: WorldSetup;
  /** The client indices this thread runs. */
  readonly indices: number[];
  readonly load: LoadSpec;
  /** How often latency records are posted (ms). */
  readonly batchMs: number;
}

/** A command of the main thread; every one is answered by a `reply` with its id. */
export type WorkerCommand =
  | { readonly id: number; readonly cmd: 'connect' }
  | { readonly id: number; readonly cmd: 'start' }
  | { readonly id: number; readonly cmd: 'measure' }
  | { readonly id: number; readonly cmd: 'stop' }
  | { readonly id: number; readonly cmd: 'check' }
  | { readonly id: number; readonly cmd: 'report' }
  | { readonly id: number; readonly cmd: 'close' };

/** The reply to `connect`: clients of each file open in this thread. */
export interface ConnectReply {
  readonly subscribers: [string, number][];
}

/** The reply to `stop` (load stopped, window closed in this thread). */
export interface StopReply {
  readonly missed: number;
  readonly paced: number;
  /** This thread's event-loop delay over the window. */
  readonly loop: LoopFigures;
}

/** The reply to `report` (sent after a final batch). */
export interface ReportReply {
  readonly counts: Record<string, number>;
  readonly errors: Record<string, number>;
  readonly disconnects: number;
  readonly disconnectsInWindow: number;
}

/** The reply to `check`. */
export type CheckReply = ClientCheck[];

/** What a worker posts. */
export type WorkerMessage =
  | { readonly kind: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'reply'; readonly id: number; readonly ok: false; readonly error: string }
  | { readonly kind: 'batch'; readonly batch: LatencyBatch };
