/**
 * Merges the latency records of clients living in several worker threads. Times are absolute
 * (`performance.timeOrigin + performance.now()`, one clock for every thread of the process). The
 * submitter's thread reports each submission; every thread reports, per key, how many of its
 * clients applied it and the latest apply time. A sample completes when the applies reach the
 * file's clients − 1 (all other clients, whatever their thread): end-to-end = last apply − submit,
 * as in the single-thread `LatencyTracker`. Records may arrive in any order across threads.
 */
import type { LatencyResults } from './latency';
import { Counter, Samples } from './stats';

/** A first send, reported by the submitter's thread. */
export interface SubmissionRecord {
  readonly key: string;
  readonly fileId: string;
  /** Absolute time (ms) of the first send. */
  readonly sentAt: number;
  /** Absolute time (ms) of the first keystroke folded into it. */
  readonly typedAt: number;
  readonly keystrokes: number;
  /** Sent inside the measurement window. */
  readonly measured: boolean;
}

/** Applies of one key in one thread since its last batch. */
export interface ApplyRecord {
  readonly key: string;
  /** Clients of this thread that applied it. */
  readonly count: number;
  /** Absolute time (ms) of the latest of those applies. */
  readonly lastAt: number;
}

/** What a worker thread posts every ~150 ms (and once more when asked for its report). */
export interface LatencyBatch {
  readonly submissions: SubmissionRecord[];
  readonly applies: ApplyRecord[];
  /** Submit → ack durations (ms) of measured submissions (both ends in the same thread). */
  readonly acks: number[];
}

interface Entry {
  submission: SubmissionRecord | undefined;
  applied: number;
  lastAt: number;
}

/** The main thread's merge of every worker's batches. */
export class LatencyMerge implements LatencyResults {
  readonly endToEnd = new Samples();
  readonly typedToApplied = new Samples();
  readonly ack = new Samples();
  /** Merged from the workers' final reports. */
  readonly errors = new Counter();
  /** Merged from the workers' final reports. */
  readonly counts = new Counter();
  private readonly subscribers = new Map<string, number>();
  private readonly entries = new Map<string, Entry>();

  /** Records that `n` more clients (in some thread) have `fileId` open. */
  addSubscribers(fileId: string, n: number): void {
    this.subscribers.set(fileId, (this.subscribers.get(fileId) ?? 0) + n);
  }

  /** Takes one batch of one thread. */
  add(batch: LatencyBatch): void {
    for (const a of batch.acks) this.ack.add(a);
    for (const s of batch.submissions) {
      if ((this.subscribers.get(s.fileId) ?? 1) - 1 <= 0) continue;
      const e = this.entry(s.key);
      e.submission = s;
      this.settle(s.key, e);
    }
    for (const a of batch.applies) {
      const e = this.entry(a.key);
      e.applied += a.count;
      e.lastAt = Math.max(e.lastAt, a.lastAt);
      this.settle(a.key, e);
    }
  }

  /** Measured submissions that some other client has not applied (should be 0 after a converged run). */
  incomplete(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.submission?.measured) n++;
    return n;
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { submission: undefined, applied: 0, lastAt: -Infinity };
      this.entries.set(key, e);
    }
    return e;
  }

  private settle(key: string, e: Entry): void {
    const s = e.submission;
    if (!s || e.applied < (this.subscribers.get(s.fileId) ?? 1) - 1) return;
    this.entries.delete(key);
    if (!s.measured) return;
    this.endToEnd.add(e.lastAt - s.sentAt);
    this.typedToApplied.add(e.lastAt - s.typedAt);
  }
}
