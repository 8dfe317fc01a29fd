/**
 * Group commit across files: the batches that files of this node are ready to commit are gathered
 * and committed together, one PostgreSQL transaction (and one WAL flush) for many files.
 *
 * No timer adds latency by default: while fewer than `maxConcurrent` group transactions are open,
 * the batches that became ready in this turn of the event loop (everything decoded from the
 * sockets read in one poll) leave together at the next `setImmediate`; while all slots are busy
 * they wait, and the next slot to free up takes everything that gathered meanwhile. Under light
 * load a group is one file's batch and costs one loop turn; under heavy load the groups grow with
 * the arrival rate, so the number of transactions per second stays near what the database does.
 *
 * With `overlapAfterMs` > 0, a further group opens beside an open one only once that one has been
 * out that long: a fast commit then takes what arrived meanwhile (fewer, larger commits: each has
 * a fixed cost of ~0.4 ms of PostgreSQL CPU, docs/benchmarks.md "Commit cost"), while a slow one
 * (a remote database, a disk stall) is still overlapped after a bounded wait. Measured at 2 ms:
 * 11–16 % less PostgreSQL CPU at 1,000 ops/s, p50 0.2–0.4 ms higher.
 *
 * Each file has at most one batch in flight (its queue in `FileSessions` waits for the outcome),
 * so a group never holds two batches of one file.
 */
import type { CommitAttempt, CommitBatchArgs } from '../storage/ops-repo';

/** What a group is committed through (OpsRepo). */
export interface GroupCommitStore {
  /** One transaction for all the batches; one attempt per batch, in order. */
  commitFiles(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]>;
}

/** How groups are formed. */
export interface CommitGroupOptions {
  /** Group transactions open at once. @default 4 */
  readonly maxConcurrent: number;
  /** Most submissions (over all files) in one group; a batch larger than this goes alone. @default 500 */
  readonly maxSubmissions: number;
  /**
   * A further group opens while one is out only once the newest open group has been out this long
   * (ms); 0 opens it at once. @default 0
   */
  readonly overlapAfterMs: number;
  /** The clock (ms) the overlap delay is measured with. @default performance.now */
  readonly now: () => number;
}

/** Defaults for `CommitGroupOptions`. */
export const DEFAULT_COMMIT_GROUP_OPTIONS: CommitGroupOptions = { maxConcurrent: 4, maxSubmissions: 500, overlapAfterMs: 0, now: () => performance.now() };

/** Observers of group commits (metrics). */
export interface CommitGroupHooks {
  /** A group of `files` batches holding `submissions` submissions is about to be committed. */
  onGroup?(files: number, submissions: number): void;
}

interface Waiting {
  readonly args: CommitBatchArgs;
  readonly resolve: (attempt: CommitAttempt) => void;
  readonly reject: (err: unknown) => void;
}

/** Gathers files' batches into group transactions. */
export class CommitGroups {
  private readonly options: CommitGroupOptions;
  private waiting: Waiting[] = [];
  private open = 0;
  private scheduled = false;
  /** When each open group left (options.now), one entry per open group, for the overlap delay. */
  private readonly openedAt: number[] = [];
  /** The timer that opens a further slot once the newest group has been out overlapAfterMs. */
  private overlapTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: GroupCommitStore,
    options: Partial<CommitGroupOptions> = {},
    private readonly hooks: CommitGroupHooks = {},
  ) {
    this.options = { ...DEFAULT_COMMIT_GROUP_OPTIONS, ...options };
  }

  /**
   * Commits one file's batch as part of the next group. Resolves with its own attempt after the
   * group's COMMIT; rejects (outcome unknown) when the group's transaction failed.
   */
  commit(args: CommitBatchArgs): Promise<CommitAttempt> {
    return new Promise<CommitAttempt>((resolve, reject) => {
      this.waiting.push({ args, resolve, reject });
      this.schedule();
    });
  }

  /** Batches waiting for a slot (for tests and metrics). */
  get pending(): number {
    return this.waiting.length;
  }

  private schedule(): void {
    if (this.scheduled || this.open >= Math.max(1, this.options.maxConcurrent) || this.waiting.length === 0) return;
    const wait = this.overlapWait();
    if (wait > 0) {
      // A group is out and young: what waits goes when it returns, or when it has been out long enough.
      this.overlapTimer ??= setTimeout(() => {
        this.overlapTimer = undefined;
        this.schedule();
      }, wait);
      return;
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.launch();
    });
  }

  /** Milliseconds until a further group may open beside the open ones (0: now). */
  private overlapWait(): number {
    if (this.open === 0 || this.options.overlapAfterMs <= 0) return 0;
    return Math.max(0, Math.max(...this.openedAt) + this.options.overlapAfterMs - this.options.now());
  }

  /** Starts one group with what is waiting, if a slot is free. */
  private launch(): void {
    if (this.open >= Math.max(1, this.options.maxConcurrent) || this.waiting.length === 0) return;
    // Only schedule() brings us here, and only once the overlap delay had passed; nothing opens a
    // group in between, so the delay still holds. A pending timer is now moot.
    if (this.overlapTimer) {
      clearTimeout(this.overlapTimer);
      this.overlapTimer = undefined;
    }
    const group = this.take();
    this.open++;
    const openedAt = this.options.now();
    this.openedAt.push(openedAt);
    this.hooks.onGroup?.(group.length, group.reduce((n, w) => n + w.args.submitters.length, 0));
    void this.run(group).finally(() => {
      this.open--;
      this.openedAt.splice(this.openedAt.indexOf(openedAt), 1);
      this.schedule();
    });
    // Another slot may be free and more may be waiting than one group takes.
    this.schedule();
  }

  /** The longest prefix of the waiting batches within `maxSubmissions` (at least one batch). */
  private take(): Waiting[] {
    let submissions = 0;
    let n = 0;
    for (const w of this.waiting) {
      submissions += w.args.submitters.length;
      if (n > 0 && submissions > this.options.maxSubmissions) break;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  private async run(group: readonly Waiting[]): Promise<void> {
    let attempts: CommitAttempt[];
    try {
      attempts = await this.store.commitFiles(group.map((w) => w.args));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => {
      const attempt = attempts[i];
      if (attempt) w.resolve(attempt);
      else w.reject(new Error('the group commit answered fewer attempts than batches'));
    });
  }
}
