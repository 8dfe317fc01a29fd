/**
 * Merges the latency records of clients living in several worker threads. Times are absolute
 * (`performance.timeOrigin + performance.now()`, one clock for every thread of the process). The
 * submitter's thread reports each acknowledged submission with its version; every thread reports,
 * per file and version, how many of its clients applied it and the latest apply time. `OpLedger`
 * completes a sample when the applies reach the file's clients − 1 (all other clients, whatever
 * their thread), as in the single-thread `LatencyTracker`, whatever order the records arrive in.
 */
import { unacked, type LatencyResults } from './latency';
import { OpLedger, type SentOp } from './op-ledger';
import { Counter, Samples } from './stats';

/** An acknowledged submission, reported by the submitter's thread (times absolute, in ms). */
export interface SubmissionRecord extends SentOp {
  readonly fileId: string;
  /** The version it was committed as. */
  readonly version: number;
}

/** Applies of one version of one file in one thread since its last batch. */
export interface ApplyRecord {
  readonly fileId: string;
  readonly version: number;
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

/** The main thread's merge of every worker's batches. */
export class LatencyMerge implements LatencyResults {
  private readonly ledger = new OpLedger();
  readonly endToEnd = this.ledger.endToEnd;
  readonly typedToApplied = this.ledger.typedToApplied;
  readonly ack = new Samples();
  /** Merged from the workers' final reports. */
  readonly errors = new Counter();
  /** Merged from the workers' final reports. */
  readonly counts = new Counter();

  /** Records that `n` more clients (in some thread) have `fileId` open. */
  addSubscribers(fileId: string, n: number): void {
    this.ledger.addSubscribers(fileId, n);
  }

  /** Takes one batch of one thread. */
  add(batch: LatencyBatch): void {
    for (const a of batch.acks) this.ack.add(a);
    for (const s of batch.submissions) this.ledger.submission(s.fileId, s.version, s);
    for (const a of batch.applies) this.ledger.applied(a.fileId, a.version, a.count, a.lastAt);
  }

  /** Measured ops not acknowledged, or not applied by some other client (0 after a converged run; call after the final reports). */
  incomplete(): number {
    return unacked(this.counts) + this.ledger.incomplete();
  }
}
