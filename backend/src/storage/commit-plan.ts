/**
 * The decisions of a group commit, independent of how its statements reach the database: the
 * types the commit path shares, what a group reads under its locks, and `planCommit`, which turns
 * those reads into each batch's sequencing decisions and the rows to write. Used by the group
 * commit (`pg-group-commit.ts`), on PostgreSQL and PGlite alike.
 */
import type { CommittedOp, SequencingDecision, TextOp } from '@collab/protocol';

/** What the log knows about one client on one file. */
export interface ClientProgress {
  /** The last committed submission, or undefined if none. */
  readonly lastCommitted: { readonly seq: number; readonly version: number } | undefined;
  /** Seqs up to this were abandoned by a resync (0 when none). */
  readonly fencedSeq: number;
}

/** Who submitted one op of a batch: the identity it is de-duplicated and recorded under. */
export interface Submitter {
  readonly userId: string;
  readonly clientId: string;
  readonly seq: number;
}

/** What became of one submission of a batch that was decided (and, if anything was written, committed). */
export type SubmissionResult =
  | { readonly kind: 'committed'; readonly op: CommittedOp }
  | { readonly kind: 'duplicate'; readonly version: number }
  | { readonly kind: 'rejected'; readonly decision: Extract<SequencingDecision, { kind: 'reject' }> };

/** The outcome of one attempt to commit a batch of submissions to one file. */
export type CommitAttempt =
  /**
   * Every submission was decided and the transaction committed: one result per submission, in
   * batch order (the committed ones carry ascending, gapless versions).
   */
  | { readonly kind: 'done'; readonly results: readonly SubmissionResult[] }
  /** Another node committed first (the version or the identity was taken): nothing was written; reload and try again. */
  | { readonly kind: 'conflict' }
  /**
   * The log is too far past the caller's head to decide in this transaction (more than
   * `MAX_NEWER` ops, or not contiguous with it): these are the first ops after the head, read
   * inside the transaction; nothing was written. Apply them (or reload) and try again.
   */
  | { readonly kind: 'behind'; readonly ops: readonly CommittedOp[] }
  /** The file no longer exists (deleted, perhaps on another node): nothing was written. */
  | { readonly kind: 'gone' }
  /**
   * The batch was decided on predicted reads (one round trip, `CommitPredictions`) and the database,
   * checking them under the file's lock, disagreed: nothing was written for this file. Undo the
   * batch's decisions and try again; the next attempt reads under the lock.
   */
  | { readonly kind: 'mispredicted' };

/** The arguments of `OpsRepo.commitBatch`. */
export interface CommitBatchArgs {
  readonly fileId: string;
  /** The room the file belongs to (for the submitters' current roles). */
  readonly roomUuid: string;
  /** The head of the caller's cache: ops past it (other nodes' commits) are read and passed to `absorb`. */
  readonly head: number;
  /** The submissions, in the order they are to be decided (the file's queue order). */
  readonly submitters: readonly Submitter[];
  /**
   * Called once per attempt, before the first `decide`, with the ops committed after `head`
   * (ascending, contiguous from `head + 1`; usually none). They are durable whatever becomes of
   * this transaction.
   */
  readonly absorb: (newer: readonly CommittedOp[]) => void;
  /**
   * The sequencing decision for `submitters[index]`, given that client's progress (including
   * commits decided earlier in this batch) and the submitter's current role. Called in batch order;
   * a `commit` must name the version after the previous commit of the batch (or after the head).
   */
  readonly decide: (index: number, progress: ClientProgress, role: string | undefined) => SequencingDecision;
}

/** A `file_ops` row as the drivers return it. */
export interface OpRow {
  version: number;
  op: TextOp | string;
  author: string | null;
  client_id: string;
  seq: string | number;
  created_at: Date | string;
}

/** Most ops past the caller's head that one commit takes in; beyond that it answers `behind`. */
export const MAX_NEWER = 1000;

/** An op the batch decided to commit, not yet inserted. */
export interface PlannedRow {
  readonly fileId: string;
  readonly version: number;
  readonly op: TextOp;
  readonly userId: string;
  readonly clientId: string;
  readonly seq: number;
}

/** A batch result before the insert: committed ops are still rows without a commit time. */
export type PlannedResult = Exclude<SubmissionResult, { kind: 'committed' }> | { readonly kind: 'committed'; readonly row: PlannedRow };

/** The key of one (file, client) progress row in the maps below. */
export function progressKey(fileId: string, clientId: string): string {
  return `${fileId}\u0000${clientId}`;
}

/** The key of one (room, user) participant row. */
export function roleKey(roomUuid: string, userId: string): string {
  return `${roomUuid}\u0000${userId}`;
}

/** The key of one committed op. */
export function rowKey(fileId: string, version: number): string {
  return `${fileId}\u0000${version}`;
}

/** What a group commit reads under its locks, as rows. */
export interface CommitReads {
  /** The files whose rows were locked (the others are gone). */
  locked: Set<string>;
  progress: ProgressRow[];
  roles: { room_id: string; user_id: string; role: string }[];
  /** The ops past each live batch's head (`newerSql`). */
  newer: (OpRow & { file_id: string })[];
}

/** A `client_progress` row as read under lock. */
export interface ProgressRow {
  file_id: string;
  client_id: string;
  last_seq: unknown;
  last_version: unknown;
  fenced_seq: unknown;
}

/** What the op insert returns per row. */
export interface InsertedRow {
  file_id: string;
  version: number | string;
  created_at: Date | string;
}

/** The decisions of a group: finished attempts (gone, behind), and per decided file its results and rows to insert. */
export interface CommitPlan {
  readonly attempts: Map<string, CommitAttempt>;
  readonly planned: Map<string, PlannedResult[]>;
  readonly rows: PlannedRow[];
}

/** The (file, client) pairs whose progress rows a group locks, distinct. */
export function progressPairs(batches: readonly CommitBatchArgs[]): [string, string][] {
  const pairs = new Map<string, [string, string]>();
  for (const b of batches) for (const s of b.submitters) pairs.set(progressKey(b.fileId, s.clientId), [b.fileId, s.clientId]);
  return [...pairs.values()];
}

/** The (room, user) pairs whose roles a group reads, distinct. */
export function rolePairs(batches: readonly CommitBatchArgs[]): [string, string][] {
  const pairs = new Map<string, [string, string]>();
  for (const b of batches) for (const s of b.submitters) pairs.set(roleKey(b.roomUuid, s.userId), [b.roomUuid, s.userId]);
  return [...pairs.values()];
}

/**
 * The statement reading the ops past each batch's head (at most MAX_NEWER + 1 per file, ascending),
 * given a row source of `(file_id, head)` pairs (`unnest` of two arrays): one
 * index probe per file, usually finding nothing.
 */
export function newerSql(pairs: string): string {
  return `SELECT h.file_id, o.version, o.op, o.author, o.client_id, o.seq, o.created_at
    FROM ${pairs} AS h(file_id, head)
    CROSS JOIN LATERAL (
      SELECT f.version, f.op, f.author, f.client_id, f.seq, f.created_at
        FROM file_ops f
       WHERE f.file_id = h.file_id AND f.version > h.head
       ORDER BY f.version ASC
       LIMIT ${MAX_NEWER + 1}
    ) o
   ORDER BY h.file_id, o.version`;
}

/**
 * Decides every batch against what the group read under its locks: a file that was not locked is
 * gone, one whose log is too far past its head (or not contiguous) is behind, and the others pass
 * their newer ops to `absorb` and make their decisions in batch order (`decideAll`).
 */
export function planCommit(batches: readonly CommitBatchArgs[], reads: CommitReads): CommitPlan {
  const progress = new Map<string, ClientProgress>();
  for (const row of reads.progress) progress.set(progressKey(row.file_id, row.client_id), toProgress(row));
  const roles = new Map(reads.roles.map((r) => [roleKey(r.room_id, r.user_id), r.role]));
  const newerByFile = new Map<string, CommittedOp[]>();
  for (const row of reads.newer) {
    let ops = newerByFile.get(row.file_id);
    if (!ops) newerByFile.set(row.file_id, (ops = []));
    ops.push(toCommittedOp(row));
  }
  const plan: CommitPlan = { attempts: new Map(), planned: new Map(), rows: [] };
  for (const b of batches) {
    if (!reads.locked.has(b.fileId)) {
      plan.attempts.set(b.fileId, { kind: 'gone' });
      continue;
    }
    const newer = newerByFile.get(b.fileId) ?? [];
    if (newer.length > MAX_NEWER || (newer.length > 0 && newer[0]?.version !== b.head + 1)) {
      plan.attempts.set(b.fileId, { kind: 'behind', ops: newer.slice(0, MAX_NEWER) });
      continue;
    }
    b.absorb(newer);
    const decided = decideAll(b, progress, roles, b.head + newer.length);
    plan.planned.set(b.fileId, decided.results);
    plan.rows.push(...decided.rows);
  }
  return plan;
}

/** One progress row per (file, client) (a statement may not update a row twice): its last commit. */
export function lastPerClient(rows: readonly PlannedRow[]): PlannedRow[] {
  const last = new Map<string, PlannedRow>();
  for (const r of rows) last.set(progressKey(r.fileId, r.clientId), r);
  return [...last.values()];
}

/** The attempts of a committed group, in batch order, with each committed op's commit time. */
export function settleAll(batches: readonly CommitBatchArgs[], plan: CommitPlan, createdAt: ReadonlyMap<string, Date | string>): CommitAttempt[] {
  return batches.map((b) => {
    const results = plan.planned.get(b.fileId);
    if (results) return { kind: 'done', results: results.map((r) => settle(r, createdAt)) };
    const attempt = plan.attempts.get(b.fileId);
    if (!attempt) throw new Error(`no attempt for file ${b.fileId}`);
    return attempt;
  });
}

/**
 * Runs the caller's decision for each submission of one file's batch in batch order. Each decision
 * sees the progress left by the earlier ones (a client's second op in the batch sees its first as
 * committed), and every commit must take the next version, so the batch's ops are gapless after `head`.
 */
function decideAll(
  args: CommitBatchArgs,
  progress: Map<string, ClientProgress>,
  roles: Map<string, string>,
  head: number,
): { results: PlannedResult[]; rows: PlannedRow[] } {
  const results: PlannedResult[] = [];
  const rows: PlannedRow[] = [];
  let next = head + 1;
  args.submitters.forEach((s, index) => {
    const key = progressKey(args.fileId, s.clientId);
    const decision = args.decide(index, progress.get(key) ?? toProgress(undefined), roles.get(roleKey(args.roomUuid, s.userId)));
    if (decision.kind === 'duplicate') {
      results.push({ kind: 'duplicate', version: decision.version });
    } else if (decision.kind === 'reject') {
      results.push({ kind: 'rejected', decision });
    } else {
      // A wrong version here would be a bug in the caller; failing the transaction writes nothing.
      if (decision.version !== next) throw new Error(`batch decided version ${decision.version}, expected ${next}`);
      const row: PlannedRow = { fileId: args.fileId, version: next++, op: decision.op, userId: s.userId, clientId: s.clientId, seq: s.seq };
      rows.push(row);
      results.push({ kind: 'committed', row });
      const fencedSeq = progress.get(key)?.fencedSeq ?? 0;
      progress.set(key, { lastCommitted: { seq: s.seq, version: row.version }, fencedSeq });
    }
  });
  return { results, rows };
}

/** A batch result with its committed op's commit time (`created_at`, read back from the insert). */
function settle(result: PlannedResult, createdAt: ReadonlyMap<string, Date | string>): SubmissionResult {
  if (result.kind !== 'committed') return result;
  const { row } = result;
  const at = createdAt.get(rowKey(row.fileId, row.version));
  const op: CommittedOp = {
    version: row.version,
    op: row.op,
    clientId: row.clientId,
    seq: row.seq,
    author: row.userId,
    at: at ? new Date(at).getTime() : Date.now(),
  };
  return { kind: 'committed', op };
}

/** A progress row (or its absence) as the sequencer's facts. */
export function toProgress(row: { last_seq?: unknown; last_version?: unknown; fenced_seq?: unknown } | undefined): ClientProgress {
  if (!row) return { lastCommitted: undefined, fencedSeq: 0 };
  const lastSeq = Number(row.last_seq);
  return {
    lastCommitted: lastSeq > 0 ? { seq: lastSeq, version: Number(row.last_version) } : undefined,
    fencedSeq: Number(row.fenced_seq ?? 0),
  };
}

/** A `file_ops` row as a committed op. */
export function toCommittedOp(row: OpRow): CommittedOp {
  return {
    version: Number(row.version),
    op: typeof row.op === 'string' ? (JSON.parse(row.op) as TextOp) : row.op,
    clientId: row.client_id,
    seq: Number(row.seq),
    ...(row.author ? { author: row.author } : {}),
    at: new Date(row.created_at).getTime(),
  };
}
