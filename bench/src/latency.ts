/**
 * End-to-end latency of committed ops, measured inside the bench process: each submission is
 * known by the time it was first sent and, once acknowledged, the version it became; every other
 * client that has the file open reports when it applied that version; the sample is taken when
 * the last of them did (`OpLedger`).
 *
 * All clients live in this process, so one clock (performance.now) serves both ends; the figure
 * includes the bench's own event-loop delays, which the report gives separately. With `--threads N`
 * the same rule is applied across worker threads by `LatencyMerge` (thread-merge.ts).
 */
import { OpLedger, type SentOp } from './op-ledger';
import { Counter, Samples } from './stats';

/** What a client's open documents report to (the in-process tracker, or a worker thread's batcher). */
export interface LatencySink {
  readonly counts: Counter;
  readonly inWindow: boolean;
  addSubscriber(fileId: string): void;
  /** A first send of `keystrokes` keystrokes; returns whether it is inside the measurement window. */
  submitted(keystrokes: number): boolean;
  /** The submitter's op `sent` was acknowledged at `now` as `version` of `fileId`. */
  acked(fileId: string, version: number, now: number, sent: SentOp): void;
  /** A client applied versions `from + 1 .. to` of `fileId` at `now`; `own` is its own op among them, or -1. */
  applied(fileId: string, from: number, to: number, own: number, now: number): void;
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

/** Counts a first send of `keystrokes` keystrokes when `measuring`; returns `measuring` (the send is sampled). */
export function countSubmitted(counts: Counter, measuring: boolean, keystrokes: number): boolean {
  if (measuring) {
    counts.add('submitted');
    counts.add('keystrokesSubmitted', keystrokes);
  }
  return measuring;
}

/** Counts the ack of `sent` when it was sent inside the window. */
export function countAcked(counts: Counter, sent: SentOp): void {
  if (!sent.measured) return;
  counts.add('acked');
  counts.add('keystrokesAcked', sent.keystrokes);
}

/** Shared by every client of a run. */
export class LatencyTracker implements LatencySink, LatencyResults {
  private readonly ledger = new OpLedger();
  private measuring = false;
  /** Submit (first send) → applied by the last other subscriber. */
  readonly endToEnd = this.ledger.endToEnd;
  /** First keystroke of the submission → applied by the last other subscriber (adds buffering). */
  readonly typedToApplied = this.ledger.typedToApplied;
  /** Submit → ack at the submitter. */
  readonly ack = new Samples();
  /** Effects other than the normal ones (retryLater, rolledBack, stalled, needResync) by error code. */
  readonly errors = new Counter();
  /** Counts of what happened in the window. */
  readonly counts = new Counter();

  /** Records that one more client has `fileId` open. */
  addSubscriber(fileId: string): void {
    this.ledger.addSubscribers(fileId, 1);
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

  /** A first send; returns whether it is inside the window. */
  submitted(keystrokes: number): boolean {
    return countSubmitted(this.counts, this.measuring, keystrokes);
  }

  /** The submitter got the ack of `sent`, committed as `version` of `fileId`. */
  acked(fileId: string, version: number, now: number, sent: SentOp): void {
    this.ledger.submission(fileId, version, sent);
    countAcked(this.counts, sent);
    if (sent.measured) this.ack.add(now - sent.sentAt);
  }

  /** A client applied versions `from + 1 .. to` of `fileId` (its own op `own` excepted). */
  applied(fileId: string, from: number, to: number, own: number, now: number): void {
    this.ledger.appliedRange(fileId, from, to, own, 1, now);
  }

  /** True inside the measurement window. */
  get inWindow(): boolean {
    return this.measuring;
  }

  /** A client saw an error effect (by code). */
  error(code: string): void {
    this.errors.add(code);
  }

  /** Measured ops not acknowledged, or acknowledged and not applied by some other subscriber (0 after a converged run). */
  incomplete(): number {
    return unacked(this.counts) + this.ledger.incomplete();
  }
}

/** Measured submissions without an ack (from the window's counts). */
export function unacked(counts: Counter): number {
  return Math.max(0, (counts.counts.get('submitted') ?? 0) - (counts.counts.get('acked') ?? 0));
}
