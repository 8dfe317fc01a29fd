/**
 * End-to-end latency of committed ops, measured inside the bench process: each submission is keyed
 * by `(clientId, seq)` with the time it was first sent; every other client that has the file open
 * reports when it applied that op; the sample is taken when the last of them did.
 *
 * All clients live in this process, so one clock (performance.now) serves both ends; the figure
 * includes the bench's own event-loop delays, which the report gives separately. With `--threads N`
 * the same rule is applied across worker threads by `LatencyMerge` (thread-merge.ts).
 */
import { Counter, Samples } from './stats';

/** What a client's open documents report to (the in-process tracker, or a worker thread's batcher). */
export interface LatencySink {
  readonly counts: Counter;
  readonly inWindow: boolean;
  addSubscriber(fileId: string): void;
  submitted(key: string, fileId: string, sentAt: number, typedAt: number, keystrokes: number): boolean;
  acked(now: number, sentAt: number, keystrokes: number, measured: boolean): void;
  applied(key: string, now: number): void;
  error(code: string): void;
}

/** The figures a scenario reads at the end of a run (from the tracker, or merged across threads). */
export interface LatencyResults {
  readonly endToEnd: Samples;
  readonly typedToApplied: Samples;
  readonly ack: Samples;
  readonly errors: Counter;
  readonly counts: Counter;
  incomplete(): number;
}

interface PendingOp {
  readonly sentAt: number;
  /** When the first keystroke folded into this submission was typed. */
  readonly typedAt: number;
  /** Other subscribers that have not applied it yet. */
  remaining: number;
  /** Submitted inside the measurement window (warm-up ops are tracked but not sampled). */
  readonly measured: boolean;
}

/** Shared by every client of a run. */
export class LatencyTracker implements LatencySink, LatencyResults {
  private readonly pending = new Map<string, PendingOp>();
  private readonly subscribers = new Map<string, number>();
  private measuring = false;
  /** Submit (first send) → applied by the last other subscriber. */
  readonly endToEnd = new Samples();
  /** First keystroke of the submission → applied by the last other subscriber (adds buffering). */
  readonly typedToApplied = new Samples();
  /** Submit → ack at the submitter. */
  readonly ack = new Samples();
  /** Effects other than the normal ones (retryLater, rolledBack, stalled, needResync) by error code. */
  readonly errors = new Counter();
  /** Counts of what happened in the window. */
  readonly counts = new Counter();

  /** Records that one more client has `fileId` open. */
  addSubscriber(fileId: string): void {
    this.subscribers.set(fileId, (this.subscribers.get(fileId) ?? 0) + 1);
  }

  /** Starts the measurement window: drops samples and counts of the warm-up. */
  startMeasuring(): void {
    this.measuring = true;
    this.endToEnd.clear();
    this.typedToApplied.clear();
    this.ack.clear();
    this.errors.counts.clear();
    this.counts.counts.clear();
  }

  /** Ends the window: later submissions are no longer sampled (ops in flight still complete). */
  stopMeasuring(): void {
    this.measuring = false;
  }

  /** A client sent submission `key` for the first time; returns whether it is inside the window. */
  submitted(key: string, fileId: string, sentAt: number, typedAt: number, keystrokes: number): boolean {
    const others = (this.subscribers.get(fileId) ?? 1) - 1;
    if (this.measuring) {
      this.counts.add('submitted');
      this.counts.add('keystrokesSubmitted', keystrokes);
    }
    if (others > 0) this.pending.set(key, { sentAt, typedAt, remaining: others, measured: this.measuring });
    return this.measuring;
  }

  /** The submitter got the ack of a submission sent at `sentAt` (`measured`: sent inside the window). */
  acked(now: number, sentAt: number, keystrokes: number, measured: boolean): void {
    if (!measured) return;
    this.ack.add(now - sentAt);
    this.counts.add('acked');
    this.counts.add('keystrokesAcked', keystrokes);
  }

  /** Another subscriber applied `key`. */
  applied(key: string, now: number): void {
    const p = this.pending.get(key);
    if (!p) return;
    if (--p.remaining > 0) return;
    this.pending.delete(key);
    if (!p.measured) return;
    this.endToEnd.add(now - p.sentAt);
    this.typedToApplied.add(now - p.typedAt);
  }

  /** True inside the measurement window. */
  get inWindow(): boolean {
    return this.measuring;
  }

  /** A client saw an error effect (by code). */
  error(code: string): void {
    this.errors.add(code);
  }

  /** Measured ops that some subscriber has not applied (should be 0 after a converged run). */
  incomplete(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.measured) n++;
    return n;
  }
}
