/**
 * Completes end-to-end latency samples, keyed by the op's place in its file's history: `(fileId,
 * version)`. The submitter reports when it sent the op and, once acknowledged, which version it
 * became; every other client reports applying versions. A sample completes when the applies of a
 * version reach the file's clients − 1 and its submission is known, in whichever order they came
 * (another client may apply an op before the submitter's ack arrives): end-to-end = last apply −
 * first send.
 *
 * Keying by version, rather than by `(clientId, seq)`, lets a client report "versions a..b" with
 * integer lookups: this runs for every op at every client, and at 50 clients on one file that is
 * the bench's hottest loop after the state machine itself.
 */
import { Samples } from './stats';

/** A submission of ours, as the submitter saw it; times are on the caller's clock. */
export interface SentOp {
  /** When it was first sent. */
  readonly sentAt: number;
  /** When the first keystroke folded into it was typed. */
  readonly typedAt: number;
  readonly keystrokes: number;
  /** Sent inside the measurement window (warm-up ops complete without a sample). */
  readonly measured: boolean;
}

interface Entry {
  submission: SentOp | undefined;
  applied: number;
  lastAt: number;
}

/** Pending ops of every file, and the samples of those completed inside the measurement window. */
export class OpLedger {
  /** Submit (first send) → applied by the last other client of the file. */
  readonly endToEnd = new Samples();
  /** First keystroke of the submission → applied by the last other client (adds buffering). */
  readonly typedToApplied = new Samples();
  private readonly files = new Map<string, Map<number, Entry>>();
  /** How many clients have each file open (in every thread). */
  private readonly subscribers = new Map<string, number>();

  /** Records that `n` more clients have `fileId` open. */
  addSubscribers(fileId: string, n: number): void {
    this.subscribers.set(fileId, this.subscribersOf(fileId) + n);
  }

  /** The submitter's op `sent` became `version` of `fileId`. */
  submission(fileId: string, version: number, sent: SentOp): void {
    if (this.subscribersOf(fileId) <= 1) return; // nobody else to apply it
    const e = this.entry(this.entries(fileId), version);
    e.submission = sent;
    this.settle(fileId, version, e);
  }

  /** `count` other clients applied `version` of `fileId`, the latest of them at `at`. */
  applied(fileId: string, version: number, count: number, at: number): void {
    this.appliedRange(fileId, version - 1, version, -1, count, at);
  }

  /** One client applied versions `from + 1 .. to` of `fileId` at `at`, except `own` (its own op, or -1). */
  appliedRange(fileId: string, from: number, to: number, own: number, count: number, at: number): void {
    const entries = this.entries(fileId);
    for (let v = from + 1; v <= to; v++) {
      if (v === own) continue;
      const e = this.entry(entries, v);
      e.applied += count;
      if (at > e.lastAt) e.lastAt = at;
      this.settle(fileId, v, e);
    }
  }

  /** Measured submissions that some other client has not applied (0 after a converged run). */
  incomplete(): number {
    let n = 0;
    for (const entries of this.files.values()) for (const e of entries.values()) if (e.submission?.measured) n++;
    return n;
  }

  private entries(fileId: string): Map<number, Entry> {
    let entries = this.files.get(fileId);
    if (!entries) {
      entries = new Map();
      this.files.set(fileId, entries);
    }
    return entries;
  }

  private entry(entries: Map<number, Entry>, version: number): Entry {
    let e = entries.get(version);
    if (!e) {
      e = { submission: undefined, applied: 0, lastAt: -Infinity };
      entries.set(version, e);
    }
    return e;
  }

  private subscribersOf(fileId: string): number {
    return this.subscribers.get(fileId) ?? 0;
  }

  private settle(fileId: string, version: number, e: Entry): void {
    const s = e.submission;
    if (!s || e.applied < this.subscribersOf(fileId) - 1) return;
    this.files.get(fileId)?.delete(version);
    if (!s.measured) return;
    this.endToEnd.add(e.lastAt - s.sentAt);
    this.typedToApplied.add(e.lastAt - s.typedAt);
  }
}
