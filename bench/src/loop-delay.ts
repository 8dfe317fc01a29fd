/** The event-loop delay of the current thread, in milliseconds, as the report gives it. */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The monitor's sampling interval (ms); its readings include it, so it is subtracted (as in run-env). */
const RESOLUTION_MS = 2;

/** Event-loop delay percentiles (ms). */
export interface LoopFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Starts monitoring this thread's event loop; `reset` at the window start, `read` at its end. */
export function startLoopMonitor(): { reset(): void; read(): LoopFigures; stop(): void } {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
  return {
    reset: () => h.reset(),
    read: () => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }),
    stop: () => h.disable(),
  };
}

/** The worst of several threads' figures, each percentile taken separately (p50, p99 and max of the worst thread for each). */
export function worstLoop(list: readonly LoopFigures[]): LoopFigures {
  return {
    p50: Math.max(0, ...list.map((l) => l.p50)),
    p99: Math.max(0, ...list.map((l) => l.p99)),
    max: Math.max(0, ...list.map((l) => l.max)),
  };
}
