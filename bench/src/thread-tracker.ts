/**
 * The latency sink of a worker thread: counts and errors stay local (sent in the final report);
 * acknowledged submissions, applies (aggregated per file and version) and ack durations are
 * batched with absolute times and posted to the main thread every `batchMs`, where `LatencyMerge`
 * completes the samples.
 */
import { countAcked, countSubmitted, type LatencySink } from './latency';
import type { SentOp } from './op-ledger';
import { Counter } from './stats';
import type { ApplyRecord, LatencyBatch, SubmissionRecord } from './thread-merge';

/** `performance.now()` as an absolute time, the same clock in every thread of the process. */
export function absoluteTime(now: number): number {
  return performance.timeOrigin + now;
}

/** Collects one thread's records and hands them out in batches. */
export class ThreadTracker implements LatencySink {
  readonly counts = new Counter();
  readonly errors = new Counter();
  /** Clients of each file open in this thread. */
  readonly subscribers = new Map<string, number>();
  private measuring = false;
  private submissions: SubmissionRecord[] = [];
  /** fileId → version → clients of this thread that applied it, and the latest time. */
  private applies = new Map<string, Map<number, { count: number; lastAt: number }>>();
  private acks: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** Starts posting a batch every `batchMs` (skipping empty ones). */
  startBatching(post: (batch: LatencyBatch) => void, batchMs = 150): void {
    this.timer = setInterval(() => {
      const b = this.takeBatch();
      if (b) post(b);
    }, batchMs);
  }

  /** Stops the batching timer. */
  stopBatching(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Everything recorded since the last batch, or undefined when nothing was. */
  takeBatch(): LatencyBatch | undefined {
    if (this.submissions.length === 0 && this.applies.size === 0 && this.acks.length === 0) return undefined;
    const applies: ApplyRecord[] = [];
    for (const [fileId, versions] of this.applies) {
      for (const [version, a] of versions) applies.push({ fileId, version, count: a.count, lastAt: a.lastAt });
    }
    const batch = { submissions: this.submissions, applies, acks: this.acks };
    this.submissions = [];
    this.applies = new Map();
    this.acks = [];
    return batch;
  }

  /** Opens (true: counts of the warm-up are dropped) or closes the measurement window in this thread. */
  setMeasuring(on: boolean): void {
    if (on) {
      this.counts.counts.clear();
      this.errors.counts.clear();
    }
    this.measuring = on;
  }

  /** True inside the measurement window. */
  get inWindow(): boolean {
    return this.measuring;
  }

  /** Records that one more client of this thread has `fileId` open. */
  addSubscriber(fileId: string): void {
    this.subscribers.set(fileId, (this.subscribers.get(fileId) ?? 0) + 1);
  }

  /** A first send; returns whether it is inside the window. */
  submitted(keystrokes: number): boolean {
    return countSubmitted(this.counts, this.measuring, keystrokes);
  }

  /** The submitter got its ack (same thread: the ack duration is taken here). */
  acked(fileId: string, version: number, now: number, sent: SentOp): void {
    this.submissions.push({ fileId, version, sentAt: absoluteTime(sent.sentAt), typedAt: absoluteTime(sent.typedAt), keystrokes: sent.keystrokes, measured: sent.measured });
    countAcked(this.counts, sent);
    if (sent.measured) this.acks.push(now - sent.sentAt);
  }

  /** A client of this thread applied versions `from + 1 .. to` of `fileId` (its own op `own` excepted). */
  applied(fileId: string, from: number, to: number, own: number, now: number): void {
    const at = absoluteTime(now);
    let versions = this.applies.get(fileId);
    if (!versions) {
      versions = new Map();
      this.applies.set(fileId, versions);
    }
    for (let v = from + 1; v <= to; v++) {
      if (v === own) continue;
      const a = versions.get(v);
      if (a) {
        a.count++;
        if (at > a.lastAt) a.lastAt = at;
      } else versions.set(v, { count: 1, lastAt: at });
    }
  }

  /** A client saw an error effect (by code). */
  error(code: string): void {
    this.errors.add(code);
  }
}
