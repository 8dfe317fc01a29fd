/**
 * The commit path: one in-memory session per open file (head version, head text in a rope, the
 * most recent ops), a per-file queue that serialises everything this node does to a file, and the
 * protocol's pure `sequence` decision applied inside a PostgreSQL transaction.
 *
 * The cache is a hint, PostgreSQL is the truth. With several nodes, another node may commit to a
 * file at any time, so this node's head is only a lower bound: every commit locks the file's row,
 * reads the ops past our head inside that transaction, applies them to the cache and decides
 * against the log as it is (OpsRepo.commit); the version's primary key remains the fence behind
 * that (a lost race reloads and retries). `open` and `headHash`
 * always read the log past the cached head, so a reply never names an older head than the
 * database had when the request arrived. A commit whose outcome is unknown (the connection died)
 * marks the session stale so it is reloaded before use; the client's resend under the same
 * `(clientId, seq)` is then answered as a duplicate with the original version.
 *
 * Group commit: submissions to one file that wait in its queue one after another form a batch
 * (at most `maxCommitBatch`), and the batches that files are ready to commit at the same moment
 * form a group committed in one transaction (CommitGroups, OpsRepo.commitFiles). Nothing is
 * acknowledged before that transaction's COMMIT; each file's submitters are then answered in
 * version order. A lone submission is simply a batch of one in a group of one.
 */
import {
  DEFAULT_LIMITS,
  ErrorCode,
  fail,
  invert,
  ok,
  ProtocolError,
  Rope,
  sequence,
  textHash,
  type CommittedOp,
  type ErrorBody,
  type Limits,
  type Result,
  type SequencingDecision,
  type Submission,
  type TextOp,
} from '@collab/protocol';
import type { ClientProgress, OpsRepo, SubmissionResult } from '../storage/ops-repo';
import { CommitGroups, DEFAULT_COMMIT_GROUP_OPTIONS } from './commit-groups';
import { isUuid } from '../storage/row-ids';

/** How sessions keep history, write snapshots and compact. */
export interface FileSessionOptions {
  readonly limits: Limits;
  /** Write a snapshot after this many ops. @default 100 */
  readonly snapshotEvery: number;
  /** Write a snapshot when a file has been idle this long (ms). @default 30_000 */
  readonly snapshotIdleMs: number;
  /** How many recent ops each session keeps in memory for transforms and catch-up. @default 1000 */
  readonly recentOps: number;
  /**
   * Compaction policy: after a snapshot at version v, delete ops older than `v - keep`. `null`
   * keeps the whole history (for replay and authorship). @default null
   */
  readonly compactKeepOps: number | null;
  /** How often a commit that lost a race to another node is retried. @default 20 */
  readonly maxCommitAttempts: number;
  /** Most submissions of one file committed together (group commit per file). @default 100 */
  readonly maxCommitBatch: number;
  /**
   * Group transactions (each committing the ready batches of many files) open at once. @default 4
   * (the server picks by database: `defaultCommitConcurrency` in app.ts)
   */
  readonly commitConcurrency: number;
  /** A further group transaction opens beside an open one only after that one has been out this long (ms). @default 0 */
  readonly commitOverlapAfterMs: number;
  /** Most submissions, over all files, in one group transaction. @default 500 */
  readonly maxGroupSubmissions: number;
}

/** Defaults for `FileSessionOptions`. */
export const DEFAULT_FILE_SESSION_OPTIONS: FileSessionOptions = {
  limits: DEFAULT_LIMITS,
  snapshotEvery: 100,
  snapshotIdleMs: 30_000,
  recentOps: 1000,
  compactKeepOps: null,
  maxCommitAttempts: 20,
  maxCommitBatch: 100,
  commitConcurrency: DEFAULT_COMMIT_GROUP_OPTIONS.maxConcurrent,
  commitOverlapAfterMs: 0,
  maxGroupSubmissions: DEFAULT_COMMIT_GROUP_OPTIONS.maxSubmissions,
};

/** The outcome of a submission. */
export type SubmitOutcome =
  /**
   * `published`: the op already went out to the file's readers (submitter included) in its batch's
   * frame (see `FileSessions.publishBatchesWith`); otherwise the caller broadcasts it.
   */
  | { readonly kind: 'committed'; readonly op: CommittedOp; readonly published?: boolean }
  | { readonly kind: 'duplicate'; readonly version: number }
  | { readonly kind: 'rejected'; readonly error: ErrorBody };

/** What opening a file returns. */
export type OpenResult =
  | { readonly mode: 'snapshot'; readonly version: number; readonly text: string; readonly lastCommitted: { seq: number; version: number } | null }
  | { readonly mode: 'ops'; readonly version: number; readonly ops: readonly CommittedOp[]; readonly lastCommitted: { seq: number; version: number } | null };

/** Observers of the commit path (metrics). */
export interface FileSessionHooks {
  /** A submission's commit finished; `ms` is the time its batch spent in the database transaction(s). */
  onCommit?(ms: number): void;
  /** A batch of `size` submissions is about to be committed together (once per batch, not per retry). */
  onBatch?(size: number): void;
  /** A group transaction of `files` files' batches, `submissions` in all, is about to start (every attempt). */
  onGroup?(files: number, submissions: number): void;
  /**
   * A commit lost a race to another node and was retried: either it found the log past its
   * cached head (`behind`, caught before writing) or its insert hit the version's primary key.
   */
  onConflict?(): void;
  /** A batch decided on predicted reads (one round trip) was refused by the database's check and is retried. */
  onMispredict?(): void;
  /** A background task (snapshot, compaction) failed. */
  onBackgroundError?(err: unknown): void;
}

/**
 * Sends a file's ops (two or more, consecutive, ascending) to all its readers as one frame: the
 * first `relayed` are ops other nodes committed that this node learned while committing the rest,
 * which are the ops it just committed.
 */
export type BatchPublisher = (fileId: string, ops: readonly CommittedOp[], relayed: number) => void;

/** Most ops of other nodes put in front of a batch frame; a longer gap is left to the readers' fetches. */
const MAX_RELAYED_OPS = 64;

/** A submission waiting in a file's queue for its batch to be committed. */
interface PendingSubmission {
  readonly userId: string;
  readonly sub: Submission;
  readonly resolve: (outcome: SubmitOutcome) => void;
}

class FileSession {
  head = 0;
  rope = new Rope();
  /** Ops with versions (head - recent.length, head], ascending. */
  recent: CommittedOp[] = [];
  snapshotVersion = 0;
  /** Set when the database may hold more than this cache (unknown commit outcome, other nodes). */
  stale = true;
  /** The tail of this file's queue: every task runs after the previous one settles. */
  tail: Promise<unknown> = Promise.resolve();
  /**
   * The batch that is the last task of the queue and has not started: a new submission joins it
   * rather than queueing a batch of its own. Cleared when it starts or when any other task is
   * queued behind it, so the queue's order between submissions and other tasks is kept.
   */
  openBatch: PendingSubmission[] | undefined;
  /**
   * Set when the rope and recent ops hold a batch's ops that were decided but are not (yet, or
   * ever) committed: the first such version. Set while the batch's transaction is open, cleared
   * when its COMMIT returned. If it stays set (the transaction failed), the cache is rebuilt from
   * the database before its next use; meanwhile readers outside the queue (`fetch`, `cachedHead`)
   * only trust the cache below it.
   */
  tentativeFrom: number | undefined;
  /**
   * The inverse of each tentative op, in version order from `tentativeFrom`: applied last to first,
   * they take the rope back to the durable head without reading the database (`undoTentative`).
   */
  tentativeUndo: TextOp[] = [];
  idleTimer: NodeJS.Timeout | undefined;
  /** Sockets (or other holders) that have the file open; the session is evicted at zero. */
  holders = 0;
  /** The file was deleted: the session is no longer in the map and must not be used. */
  deleted = false;

  constructor(
    readonly fileId: string,
    readonly roomUuid: string,
  ) {}

  /** The highest version of the cache known to be committed (below any tentative batch op). */
  get durableHead(): number {
    return this.tentativeFrom === undefined ? this.head : this.tentativeFrom - 1;
  }

  /** The cached ops with versions in (after, upTo], or undefined if the cache does not reach back. */
  cachedRange(after: number, upTo: number): CommittedOp[] | undefined {
    const first = this.head - this.recent.length + 1;
    if (after + 1 < first) return after >= upTo ? [] : undefined;
    return this.recent.slice(after + 1 - first, Math.max(0, upTo - first + 1));
  }
}

/** All open file sessions of this node. */
export class FileSessions {
  private readonly sessions = new Map<string, FileSession>();
  private readonly options: FileSessionOptions;
  private readonly groups: CommitGroups;
  private publishBatch: BatchPublisher | undefined;
  private closed = false;

  constructor(
    private readonly repo: OpsRepo,
    options: Partial<FileSessionOptions> = {},
    private readonly hooks: FileSessionHooks = {},
  ) {
    this.options = { ...DEFAULT_FILE_SESSION_OPTIONS, ...options };
    this.groups = new CommitGroups(
      repo,
      { maxConcurrent: this.options.commitConcurrency, maxSubmissions: this.options.maxGroupSubmissions, overlapAfterMs: this.options.commitOverlapAfterMs },
      { onGroup: (files, submissions) => this.hooks.onGroup?.(files, submissions) },
    );
  }

  /**
   * Opens a file for a client: with `knownVersion`, the ops since it (or HISTORY_COMPACTED when
   * they are gone); without, the text at the head. `fenceSeq` (resync) is recorded atomically with
   * reading the client's progress. Counts as a holder until `release`.
   */
  async open(fileId: string, clientId: string, knownVersion?: number, fenceSeq?: number): Promise<Result<OpenResult>> {
    const loaded = await this.session(fileId);
    if (!loaded.ok) return loaded;
    const s = loaded.value;
    s.holders++;
    const result = await this.enqueue(s, async (): Promise<Result<OpenResult>> => {
      // Forced: another node may have committed past our cached head (the caller subscribed to
      // the file's channel before this read, so anything later arrives as a broadcast).
      await this.refresh(s, true);
      const progress = await this.repo.fenceAndReadProgress(fileId, clientId, fenceSeq);
      // A commit of this client's older seq may have landed between the refresh and the fence;
      // reading again makes the text include everything `lastCommitted` can name.
      if (fenceSeq !== undefined) await this.refresh(s, true);
      const lastCommitted = progress.lastCommitted ? { ...progress.lastCommitted } : null;
      if (knownVersion === undefined) {
        return ok({ mode: 'snapshot', version: s.head, text: s.rope.toString(), lastCommitted });
      }
      if (knownVersion > s.head) {
        return fail(ErrorCode.VERSION_AHEAD, `known version ${knownVersion} is ahead of the head ${s.head}`);
      }
      // At most maxFetchOps and one frame's worth: the client fetches the rest (PROTOCOL.md §8.2).
      const ops = await this.range(s, knownVersion, Math.min(s.head, knownVersion + this.options.limits.maxFetchOps));
      if (!ops) {
        return fail(ErrorCode.HISTORY_COMPACTED, `the ops after version ${knownVersion} were compacted; open without knownVersion`);
      }
      return ok({ mode: 'ops', version: s.head, ops: capReply(ops, this.options.limits.maxFrameBytes), lastCommitted });
    });
    if (!result.ok) this.release(fileId);
    return result;
  }

  /** Drops one holder; the last one out writes a snapshot and evicts the session. */
  release(fileId: string): void {
    const s = this.sessions.get(fileId);
    if (!s) return;
    s.holders = Math.max(0, s.holders - 1);
    if (s.holders > 0) return;
    void this.enqueue(s, async () => {
      if (s.holders > 0) return;
      await this.writeSnapshot(s);
      if (s.holders === 0 && this.sessions.get(fileId) === s) {
        clearTimeout(s.idleTimer);
        this.sessions.delete(fileId);
      }
    }).catch((err) => this.hooks.onBackgroundError?.(err));
  }

  /**
   * The committed ops with `from <= version <= to`, ascending: at most `limits.maxFetchOps`, and
   * cut short (never below one op) when their inserted text would make the reply frame too large.
   * Ops past the head are simply not there yet; HISTORY_COMPACTED when `from` was compacted away.
   */
  async fetch(fileId: string, from: number, to: number): Promise<Result<CommittedOp[]>> {
    const loaded = await this.session(fileId);
    if (!loaded.ok) return loaded;
    const s = loaded.value;
    const upTo = Math.min(to, from + this.options.limits.maxFetchOps - 1);
    let ops: CommittedOp[] | undefined;
    // Not past the durable head: while a batch's transaction is open the cache already holds its
    // ops, and nobody may see an op that could still vanish.
    if (!s.stale && upTo <= s.durableHead) ops = s.cachedRange(from - 1, upTo);
    // Not (all) in this node's cache: another node may have committed past our head.
    ops ??= await this.repo.opsBetween(fileId, from - 1, upTo);
    if (ops.length === 0) {
      const head = await this.repo.headVersion(fileId);
      return from > head ? ok([]) : fail(ErrorCode.HISTORY_COMPACTED, `the ops from version ${from} were compacted`);
    }
    if (ops[0]?.version !== from) return fail(ErrorCode.HISTORY_COMPACTED, `the ops from version ${from} were compacted`);
    return ok(capReply(ops, this.options.limits.maxFrameBytes));
  }

  /** The head version and the `textHash` of the text there (for `file:verify`). */
  async headHash(fileId: string): Promise<Result<{ version: number; hash: string }>> {
    const loaded = await this.session(fileId);
    if (!loaded.ok) return loaded;
    const s = loaded.value;
    return this.enqueue(s, async () => {
      await this.refresh(s, true);
      return ok({ version: s.head, hash: textHash(s.rope.chunkList()) });
    });
  }

  /**
   * Sequences and commits one submission. Resolves after the op is durable in PostgreSQL (or
   * with the reason it was not committed). Submissions to one file are decided one at a time, in
   * queue order; those waiting together are committed in one transaction (see `join`).
   */
  async submit(fileId: string, userId: string, sub: Submission): Promise<SubmitOutcome> {
    let loaded: Result<FileSession>;
    try {
      loaded = await this.session(fileId);
    } catch (err) {
      // The database is unreachable while loading the file: nothing was written; retry later.
      return { kind: 'rejected', error: { code: ErrorCode.UNAVAILABLE, message: `storage unavailable: ${describeError(err)}` } };
    }
    if (!loaded.ok) return { kind: 'rejected', error: loaded.error };
    const s = loaded.value;
    return new Promise<SubmitOutcome>((resolve) => this.join(s, { userId, sub, resolve }));
  }

  /**
   * Forgets a file that was deleted (on this node or another): its session is dropped without a
   * snapshot, after the work already queued on it. Holders that still submit get FILE_NOT_FOUND.
   */
  evict(fileId: string): void {
    const s = this.sessions.get(fileId);
    if (!s) return;
    this.sessions.delete(fileId);
    clearTimeout(s.idleTimer);
    s.stale = true;
    s.deleted = true;
  }

  /** Writes every pending snapshot and stops timers (graceful shutdown). Waits for queued work. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    await Promise.all(
      all.map((s) =>
        this.enqueue(s, async () => {
          clearTimeout(s.idleTimer);
          await this.writeSnapshot(s);
        }).catch((err) => this.hooks.onBackgroundError?.(err)),
      ),
    );
    this.sessions.clear();
  }

  /**
   * From now on, when a file's batch commits two or more ops, `publish` is called with them (in
   * version order) before any of its submitters is answered, and those submitters are answered
   * together with `published: true`. It must send them synchronously, as one frame, to every reader
   * of the file: each submitter then finds its own op in the frame (by clientId and seq) ahead of
   * its ack, so nobody sees a later op before the acks of the earlier ones, and a batch of k ops
   * costs each reader one frame instead of k.
   */
  publishBatchesWith(publish: BatchPublisher): void {
    this.publishBatch = publish;
  }

  /** The head version of a file with a live, fresh session here (undefined otherwise). */
  cachedHead(fileId: string): number | undefined {
    const s = this.sessions.get(fileId);
    // Not a head that a batch in its transaction has only decided (see `FileSession.tentativeFrom`).
    return s && !s.stale ? s.durableHead : undefined;
  }

  /** True while something on this node (a socket) has the file open. */
  holds(fileId: string): boolean {
    const s = this.sessions.get(fileId);
    return s !== undefined && s.holders > 0 && !s.deleted;
  }

  /** Number of files with a live session on this node. */
  get size(): number {
    return this.sessions.size;
  }

  /** Group-commit transactions this node keeps open at once. */
  get commitConcurrency(): number {
    return this.options.commitConcurrency;
  }

  // --- internals -------------------------------------------------------------------------------

  private async session(fileId: string): Promise<Result<FileSession>> {
    if (this.closed) return fail(ErrorCode.SHUTTING_DOWN, 'the server is shutting down');
    const existing = this.sessions.get(fileId);
    if (existing) return ok(existing);
    // PostgreSQL refuses to compare a non-UUID string with a uuid column: not found, not an error.
    if (!isUuid(fileId)) return fail(ErrorCode.FILE_NOT_FOUND, 'no such file');
    const snap = await this.repo.snapshot(fileId);
    if (!snap) return fail(ErrorCode.FILE_NOT_FOUND, 'no such file');
    // Another caller may have created it while we awaited the snapshot.
    const raced = this.sessions.get(fileId);
    if (raced) return ok(raced);
    const s = new FileSession(fileId, snap.roomUuid);
    s.rope = new Rope(snap.content);
    s.head = snap.version;
    s.snapshotVersion = snap.version;
    s.stale = true; // ops after the snapshot are loaded by the first refresh
    this.sessions.set(fileId, s);
    return ok(s);
  }

  /** Runs `task` after everything already queued on this file. */
  private enqueue<T>(s: FileSession, task: () => Promise<T>): Promise<T> {
    // Whatever is queued from now on runs after `task`: a later submission must not jump ahead
    // of it by joining a batch queued before it.
    s.openBatch = undefined;
    const run = s.tail.then(task, task);
    s.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Queues a submission: it joins the batch at the end of the file's queue if that one has not
   * started and has room, else it starts a new batch there. While one batch is in its
   * transaction, the submissions arriving meanwhile gather in the next one.
   */
  private join(s: FileSession, pending: PendingSubmission): void {
    const open = s.openBatch;
    if (open && open.length < Math.max(1, this.options.maxCommitBatch)) {
      open.push(pending);
      return;
    }
    const batch = [pending];
    void this.enqueue(s, async () => {
      // Started: nobody may join it any more (its submitters are being decided).
      if (s.openBatch === batch) s.openBatch = undefined;
      await this.commitBatch(s, batch);
    });
    s.openBatch = batch; // after enqueue, which clears it
  }

  /**
   * Brings the cache up to the database's head (only when stale, unless `force`). Must run inside
   * the file's queue.
   */
  private async refresh(s: FileSession, force = false): Promise<void> {
    if (!s.stale && !force && s.tentativeFrom === undefined) return;
    if (s.tentativeFrom !== undefined) {
      // A batch that did not commit left its ops in the cache: start again from the snapshot.
      await this.reload(s);
      s.tentativeFrom = undefined;
      s.tentativeUndo = [];
    }
    for (;;) {
      const ops = await this.repo.opsBetween(s.fileId, s.head, undefined, 5000);
      if (ops.length === 0) break;
      if (ops[0]?.version !== s.head + 1) {
        // Compacted past our cache: reload from the snapshot.
        await this.reload(s);
        continue;
      }
      for (const op of ops) this.remember(s, op);
    }
    s.stale = false;
  }

  private async reload(s: FileSession): Promise<void> {
    const snap = await this.repo.snapshot(s.fileId);
    if (!snap) throw new Error(`file ${s.fileId} vanished`);
    s.rope = new Rope(snap.content);
    s.head = snap.version;
    s.snapshotVersion = snap.version;
    s.recent = [];
  }

  /** Applies a committed op to the cache (in version order). */
  private remember(s: FileSession, op: CommittedOp): void {
    s.rope.apply(op.op);
    s.head = op.version;
    s.recent.push(op);
    if (s.recent.length > this.options.recentOps * 2) s.recent = s.recent.slice(-this.options.recentOps);
  }

  /** The ops in (after, upTo], from the cache or the database; undefined when compacted. */
  private async range(s: FileSession, after: number, upTo: number): Promise<CommittedOp[] | undefined> {
    if (after >= upTo) return [];
    const cached = s.cachedRange(after, upTo);
    if (cached) return cached;
    const ops = await this.repo.opsBetween(s.fileId, after, upTo);
    if (ops.length !== upTo - after || ops[0]?.version !== after + 1) return undefined;
    return ops;
  }

  /**
   * Commits a batch and resolves each submission with its outcome, in batch order (= version order
   * for the committed ones), only after the batch's transaction committed. Never rejects.
   */
  private async commitBatch(s: FileSession, batch: readonly PendingSubmission[]): Promise<void> {
    const started = performance.now();
    // Ops past this head that the commit reads from other nodes lead the batch frame (`batchFrame`).
    const headBefore = s.head;
    this.hooks.onBatch?.(batch.length);
    let outcomes: readonly SubmitOutcome[];
    try {
      outcomes = await this.commitWithRetries(s, batch);
    } catch (err) {
      // A bug rather than the database (commitWithRetries answers outages itself): still answer everyone.
      s.stale = true;
      outcomes = batch.map(() => unavailable(err));
    }
    const ms = performance.now() - started;
    for (let i = 0; i < batch.length; i++) this.hooks.onCommit?.(ms);
    const committed = outcomes.flatMap((o) => (o.kind === 'committed' ? [o.op] : []));
    const frame = this.batchFrame(s, headBefore, committed);
    let published = false;
    if (frame.ops.length > 1 && this.publishBatch) {
      // One frame with the whole batch, to every reader (submitters included), then every answer.
      try {
        this.publishBatch(s.fileId, frame.ops, frame.relayed);
        published = true;
      } catch (err) {
        // Not published: each submitter's answer broadcasts its own op, one immediate each (below).
        this.hooks.onBackgroundError?.(err);
      }
    }
    if (published) {
      batch.forEach((pending, i) => {
        const o = outcomes[i] ?? unavailable(undefined);
        pending.resolve(o.kind === 'committed' ? { ...o, published: true } : o);
      });
    } else {
      // Each submitter's continuation sends its ack and broadcasts its op; the ack goes out a few
      // microtasks after the broadcast. Resolved all at once, op n+1's broadcast would overtake op
      // n's ack, and op n's submitter would see a gap and fetch. One immediate per submission: Node
      // drains the microtasks between immediates, so each ack and broadcast is sent before the next
      // submission is resolved, in version order, as if they had been committed one by one.
      batch.forEach((pending, i) => setImmediate(() => pending.resolve(outcomes[i] ?? unavailable(undefined))));
    }
    // The next task (perhaps the next batch) starts after this batch's submitters were answered.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * The batch's frame: its committed ops, led by the ops other nodes committed between `after`
   * (this node's head before the batch) and the first of them, when the cache holds all of those:
   * this node read them under the file's lock while committing, so they are durable. Its readers
   * would otherwise get them only from the other nodes' broadcasts, which cross Redis and commonly
   * arrive after this node's frame: each reader would see a gap and fetch it (PROTOCOL.md §7.4).
   * Readers that already have them drop them as duplicates. Not relayed when there are too many or
   * the frame would be too large (readers then fetch, as before).
   */
  private batchFrame(s: FileSession, after: number, committed: CommittedOp[]): { ops: CommittedOp[]; relayed: number } {
    const alone = { ops: committed, relayed: 0 };
    const first = committed[0]?.version;
    if (first === undefined || first - 1 <= after || first - 1 - after > MAX_RELAYED_OPS || s.stale) return alone;
    // The cache is contiguous: a range of the right length is exactly versions after+1 .. first-1.
    const relayed = s.cachedRange(after, first - 1);
    if (relayed?.length !== first - 1 - after) return alone;
    const ops = [...relayed, ...committed];
    return capReply(ops, this.options.limits.maxFrameBytes).length === ops.length ? { ops, relayed: relayed.length } : alone;
  }

  /** Attempts the batch until it is decided (retrying lost races and catch-ups); one outcome per submission. */
  private async commitWithRetries(s: FileSession, batch: readonly PendingSubmission[]): Promise<readonly SubmitOutcome[]> {
    const everyone = (outcome: SubmitOutcome): SubmitOutcome[] => batch.map(() => outcome);
    const fileGone: SubmitOutcome = { kind: 'rejected', error: { code: ErrorCode.FILE_NOT_FOUND, message: 'the file was deleted' } };
    let behindRounds = 0;
    try {
      for (let attempt = 1; attempt <= this.options.maxCommitAttempts; attempt++) {
        if (s.deleted) return everyone(fileGone);
        await this.refresh(s);
        const outcome = await this.attemptBatch(s, batch);
        switch (outcome.kind) {
          case 'done':
            return outcome.outcomes;
          case 'behind': {
            this.hooks.onConflict?.();
            // Very far behind (or not contiguous): take what was read into the cache (in order; a
            // gap would mean compaction, so reload) and decide again at once.
            const first = outcome.ops[0]?.version;
            if (first === s.head + 1) for (const op of outcome.ops) this.remember(s, op);
            else s.stale = true;
            // Not a lost race (nothing was written), so it does not count as an attempt; but a file
            // other nodes write faster than we can catch up is bounded all the same.
            if (++behindRounds <= this.options.maxCommitAttempts * 5) attempt--;
            continue;
          }
          case 'gone':
            this.evict(s.fileId);
            return everyone(fileGone);
          case 'mispredicted':
            // Nothing written, the batch's decisions undone (`attemptBatch`): decide again at once,
            // this time on what the locks read. Not a lost race, so not an attempt; bounded like `behind`.
            this.hooks.onMispredict?.();
            if (++behindRounds <= this.options.maxCommitAttempts * 5) attempt--;
            continue;
          case 'conflict':
            // Another node committed one of these versions first; nothing of ours was written (and
            // nothing acknowledged). Load what it wrote and try the whole batch again, after a short
            // random pause so that two nodes racing for one file do not keep colliding.
            this.hooks.onConflict?.();
            s.stale = true;
            await sleep(Math.random() * Math.min(20, 2 ** attempt));
            continue;
        }
      }
      return everyone({ kind: 'rejected', error: { code: ErrorCode.COMMIT_CONFLICT, message: 'too many concurrent commits; retry' } });
    } catch (err) {
      // The outcome is unknown (the database may or may not have committed): nobody is
      // acknowledged, and the cache is reloaded before the next use. The clients retry under the
      // same (clientId, seq), so nothing is applied twice.
      s.stale = true;
      return everyone(unavailable(err));
    }
  }

  /**
   * One transaction for the whole batch. Each submission is decided against the cache as it is at
   * that point: the ops other nodes committed (read under the file's lock) and the ops decided
   * earlier in this batch are applied to the cache as they are decided, so the next decision
   * transforms over them. Those batch ops are only tentative until COMMIT: if the transaction does
   * not commit, the session keeps `tentativeFrom` set and is rebuilt from the database before its next use.
   */
  private async attemptBatch(
    s: FileSession,
    batch: readonly PendingSubmission[],
  ): Promise<
    { kind: 'done'; outcomes: SubmitOutcome[] } | { kind: 'behind'; ops: readonly CommittedOp[] } | { kind: 'gone' } | { kind: 'conflict' } | { kind: 'mispredicted' }
  > {
    // Each submission's history from the cache (or the database) up to our head, read before the
    // transaction; `past` collects what comes after that head during the transaction.
    const known: (CommittedOp[] | undefined)[] = [];
    for (const { sub } of batch) known.push(sub.baseVersion <= s.head ? await this.range(s, sub.baseVersion, s.head) : []);
    const past: CommittedOp[] = [];
    const outcome = await this.groups.commit({
      fileId: s.fileId,
      roomUuid: s.roomUuid,
      head: s.head,
      submitters: batch.map(({ userId, sub }) => ({ userId, clientId: sub.clientId, seq: sub.seq })),
      absorb: (newer) => {
        if (newer.length === 0) return;
        // Committed by other nodes (read under the file's lock): they are part of the log whatever
        // becomes of this transaction, so the cache takes them for good.
        this.hooks.onConflict?.();
        for (const op of newer) this.remember(s, op);
        past.push(...newer);
      },
      decide: (index, progress, role) => {
        const { userId, sub } = batch[index] as PendingSubmission;
        const decision = this.decide(s, sub, known[index], past, progress, role);
        if (decision.kind === 'commit') {
          // Tentative until COMMIT (the real commit time replaces `at` then; see `settle`).
          const op: CommittedOp = { version: decision.version, op: decision.op, clientId: sub.clientId, seq: sub.seq, author: userId, at: Date.now() };
          s.tentativeFrom ??= op.version;
          s.tentativeUndo.push(invert(op.op, s.rope));
          this.remember(s, op);
          past.push(op);
        }
        return decision;
      },
    });
    if (outcome.kind === 'mispredicted') this.undoTentative(s);
    if (outcome.kind !== 'done') return outcome;
    // COMMIT returned: the tentative ops are durable, with these commit times.
    s.tentativeFrom = undefined;
    s.tentativeUndo = [];
    const committed = outcome.results.flatMap((r) => (r.kind === 'committed' ? [r.op] : []));
    for (const op of committed) this.settle(s, op);
    if (committed.length > 0) this.afterCommit(s);
    return { kind: 'done', outcomes: outcome.results.map(toSubmitOutcome) };
  }

  /**
   * The sequencing decision for one submission, at the cache's current head: `known` is its history
   * up to the head the batch started from (undefined when compacted), `past` the ops after that head.
   */
  private decide(
    s: FileSession,
    sub: Submission,
    known: readonly CommittedOp[] | undefined,
    past: readonly CommittedOp[],
    progress: ClientProgress,
    role: string | undefined,
  ): SequencingDecision {
    const head = s.head;
    const history = known && sub.baseVersion <= head ? [...known, ...past.filter((op) => op.version > sub.baseVersion)] : undefined;
    let decision: SequencingDecision;
    try {
      decision = sequence(
        sub,
        {
          head,
          headText: s.rope,
          // Undefined (compacted) is passed as an empty history: `sequence` then refuses with
          // HISTORY_COMPACTED unless the submission is a recognised duplicate.
          history: history ?? [],
          lastCommitted: progress.lastCommitted,
          fencedSeq: progress.fencedSeq || undefined,
        },
        this.options.limits,
      );
    } catch (err) {
      // The decision itself refused (an op that does not fit): only this submission is refused.
      if (err instanceof ProtocolError) return { kind: 'reject', error: err.toBody() };
      throw err;
    }
    // A resend of an op committed before a demotion is still acknowledged (it is already in
    // everyone's text); anything new needs the right to edit, checked on every op.
    if (decision.kind === 'duplicate') return decision;
    if (role === undefined) return refuse(ErrorCode.NOT_A_PARTICIPANT, 'you are not a participant of this room');
    if (role !== 'owner' && role !== 'editor') return refuse(ErrorCode.FORBIDDEN, `a ${role} cannot edit`);
    return decision;
  }

  /**
   * Takes a batch's tentative ops back out of the cache (nothing of them was written). Should the
   * cache not end with exactly those ops, `tentativeFrom` stays set and the cache is rebuilt from
   * the database before its next use, as after a failed transaction.
   */
  private undoTentative(s: FileSession): void {
    const from = s.tentativeFrom;
    if (from === undefined) return;
    if (s.head - from + 1 !== s.tentativeUndo.length || s.recent.length < s.tentativeUndo.length || s.recent.at(-1)?.version !== s.head) return;
    try {
      for (let i = s.tentativeUndo.length - 1; i >= 0; i--) {
        s.rope.apply(s.tentativeUndo[i] as TextOp);
        s.recent.pop();
        s.head--;
      }
    } catch {
      // A bug if ever: the rope is partly undone, so keep `tentativeFrom` for the rebuild.
      return;
    }
    s.tentativeFrom = undefined;
    s.tentativeUndo = [];
  }

  /** Replaces a tentative op in the recent ops with its committed form (same op, real commit time). */
  private settle(s: FileSession, op: CommittedOp): void {
    const index = op.version - (s.head - s.recent.length + 1);
    if (index >= 0 && index < s.recent.length && s.recent[index]?.version === op.version) s.recent[index] = op;
  }

  /** Schedules snapshots after a commit: every N ops, and when the file goes idle. */
  private afterCommit(s: FileSession): void {
    if (s.head - s.snapshotVersion >= this.options.snapshotEvery) {
      void this.enqueue(s, () => this.writeSnapshot(s)).catch((err) => this.hooks.onBackgroundError?.(err));
    }
    clearTimeout(s.idleTimer);
    s.idleTimer = setTimeout(() => {
      void this.enqueue(s, () => this.writeSnapshot(s)).catch((err) => this.hooks.onBackgroundError?.(err));
    }, this.options.snapshotIdleMs);
    s.idleTimer.unref();
  }

  /** Writes the cached head as the file's snapshot, then compacts per policy. Runs in the queue. */
  private async writeSnapshot(s: FileSession): Promise<void> {
    if (s.stale || s.head <= s.snapshotVersion) return;
    const version = s.head;
    await this.repo.writeSnapshot(s.fileId, version, s.rope.toString());
    s.snapshotVersion = version;
    const keep = this.options.compactKeepOps;
    if (keep !== null && version - keep > 0) await this.repo.compact(s.fileId, version - keep);
  }
}

/**
 * The longest prefix of `ops` (at least one) whose encoded size stays within `maxBytes`, estimating
 * 3 bytes per inserted code unit (UTF-8 of the BMP) plus a fixed overhead per op.
 */
function capReply(ops: CommittedOp[], maxBytes: number): CommittedOp[] {
  let total = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as CommittedOp;
    total += 200 + 12 * op.op.length;
    for (const c of op.op) if (typeof c === 'string') total += 3 * c.length;
    if (total > maxBytes && i > 0) return ops.slice(0, i);
  }
  return ops;
}

/** A submission's outcome from the batch's result. */
function toSubmitOutcome(result: SubmissionResult): SubmitOutcome {
  return result.kind === 'rejected' ? { kind: 'rejected', error: result.decision.error } : result;
}

/** Storage failed with an unknown outcome: nothing was acknowledged, the client may retry. */
function unavailable(err: unknown): SubmitOutcome {
  return { kind: 'rejected', error: { code: ErrorCode.UNAVAILABLE, message: `storage unavailable: ${describeError(err)}` } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function refuse(code: ErrorCode, message: string): SequencingDecision {
  return { kind: 'reject', error: { code, message } };
}

function describeError(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return err instanceof Error ? err.name : 'unknown error';
}
