/**
 * The operation log, per-client progress and snapshots: the storage half of the commit path.
 *
 * PostgreSQL is the single source of truth for each file's order. A commit first locks the file's
 * row (`FOR NO KEY UPDATE`), so commits to one file are serialised across every node, and reads
 * the ops committed past the caller's cached head inside that lock: the caller decides against the
 * log as it is, never against a stale cache. The primary key `file_ops(file_id, version)` stays as
 * the fence behind that: if two commits ever raced for version n+1, one would fail with a unique
 * violation (`conflict`) and retry. Nothing here decides what to commit: the caller passes the
 * protocol's pure sequencing decision in.
 *
 * Commits are grouped: the submissions waiting in a file's queue are committed in one transaction
 * (one file lock, one read of the newer ops, one INSERT, one progress upsert, one WAL flush), and
 * none of them is acknowledged before that transaction's COMMIT returned.
 */
import type { Knex } from 'knex';
import type { CommittedOp, SequencingDecision, TextOp } from '@collab/protocol';
import { isForeignKeyViolation, isUniqueViolation } from './database';

/** A file's snapshot: its text at `version`. */
export interface Snapshot {
  readonly fileId: string;
  /** Internal id of the room the file belongs to. */
  readonly roomUuid: string;
  readonly content: string;
  readonly version: number;
}

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
  | { readonly kind: 'gone' };

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

interface OpRow {
  version: number;
  op: TextOp | string;
  author: string | null;
  client_id: string;
  seq: string | number;
  created_at: Date | string;
}

/** Most ops past the caller's head that one commit takes in; beyond that it answers `behind`. */
const MAX_NEWER = 1000;

/** Reads and writes the op log, client progress and snapshots with Knex. */
export class OpsRepo {
  constructor(private readonly db: Knex) {}

  /** The file's snapshot row, or undefined when the file does not exist. */
  async snapshot(fileId: string): Promise<Snapshot | undefined> {
    const row = await this.db('files').where({ id: fileId }).first('id', 'room_id', 'content', 'version');
    if (!row) return undefined;
    return { fileId: row.id, roomUuid: row.room_id, content: row.content, version: Number(row.version) };
  }

  /** The committed ops with `after < version <= upTo`, ascending (possibly fewer if compacted or past the head). */
  async opsBetween(fileId: string, after: number, upTo: number = Number.MAX_SAFE_INTEGER, limit?: number): Promise<CommittedOp[]> {
    let query = this.db<OpRow>('file_ops')
      .where('file_id', fileId)
      .andWhere('version', '>', after)
      .andWhere('version', '<=', Math.min(upTo, 2_147_483_647))
      .orderBy('version', 'asc')
      .select('version', 'op', 'author', 'client_id', 'seq', 'created_at');
    if (limit !== undefined) query = query.limit(limit);
    const rows = await query;
    return rows.map(toCommittedOp);
  }

  /** The highest committed version of the file (its snapshot version when no op is newer). */
  async headVersion(fileId: string): Promise<number> {
    const row = await this.db('file_ops').where('file_id', fileId).max<{ max: number | null }>('version as max').first();
    const snap = await this.db('files').where({ id: fileId }).first('version');
    return Math.max(Number(row?.max ?? 0), Number(snap?.version ?? 0));
  }

  /**
   * Commits a batch of submissions to one file in ONE transaction: locks the file's row, locks and
   * reads the submitters' progress rows, reads their roles and the ops past the caller's head, lets
   * `decide` make each sequencing decision in batch order, then inserts every committed op with one
   * statement and advances the progress rows with one statement. Resolves only after COMMIT
   * returned, i.e. when every op it reports as committed is durable; when it rejects (database
   * unreachable, outcome unknown) nothing may be acknowledged. A single submission is a batch of one.
   */
  async commitBatch(args: CommitBatchArgs): Promise<CommitAttempt> {
    const { fileId } = args;
    try {
      return await this.db.transaction(async (trx) => {
        // The file's row lock serialises commits to this file across nodes (taken first, in the
        // same order as a file deletion's cascade, so the two cannot deadlock). NO KEY UPDATE does
        // not block the foreign-key checks of other tables.
        const file = await trx('files').where({ id: fileId }).forNoKeyUpdate().first('id');
        if (!file) return { kind: 'gone' } as const;
        const progress = await lockProgress(trx, fileId, args.submitters);
        // The roles are read in the same transaction as the commit: a demotion committed before
        // this point refuses the op, whichever node the demotion happened on.
        const roles = await readRoles(trx, args.roomUuid, args.submitters);
        // The authoritative head is the log's, not our cache's: under the file's lock, nobody can
        // commit to it until we are done, so these are all the ops the decisions must know about.
        const rows = await trx<OpRow>('file_ops')
          .where('file_id', fileId)
          .andWhere('version', '>', args.head)
          .orderBy('version', 'asc')
          .limit(MAX_NEWER + 1)
          .select('version', 'op', 'author', 'client_id', 'seq', 'created_at');
        const newer = rows.map(toCommittedOp);
        if (newer.length > MAX_NEWER || (newer.length > 0 && newer[0]?.version !== args.head + 1)) {
          return { kind: 'behind', ops: newer.slice(0, MAX_NEWER) } as const;
        }
        args.absorb(newer);
        const decided = decideAll(args, progress, roles, args.head + newer.length);
        if (decided.rows.length === 0) return { kind: 'done', results: decided.results.map(settleWithout) } as const;
        const inserted = await trx('file_ops')
          .insert(decided.rows.map((r) => ({ file_id: fileId, version: r.version, op: JSON.stringify(r.op), author: r.userId, client_id: r.clientId, seq: r.seq })))
          .returning(['version', 'created_at']);
        // One progress row per client (a statement may not update a row twice): its last commit.
        const last = new Map<string, PlannedRow>();
        for (const r of decided.rows) last.set(r.clientId, r);
        await trx('client_progress')
          .insert([...last.values()].map((r) => ({ file_id: fileId, client_id: r.clientId, last_seq: r.seq, last_version: r.version })))
          .onConflict(['file_id', 'client_id'])
          .merge(['last_seq', 'last_version']);
        const createdAt = new Map<number, Date | string>();
        for (const row of inserted as { version: number | string; created_at: Date | string }[]) createdAt.set(Number(row.version), row.created_at);
        return { kind: 'done', results: decided.results.map((r) => settle(r, createdAt)) } as const;
      });
    } catch (err) {
      // Another node took one of these versions (or committed one of these submissions) first.
      if (isUniqueViolation(err)) return { kind: 'conflict' };
      // file_ops.file_id references files: the file was deleted (by any node) before the insert.
      if (isForeignKeyViolation(err)) return { kind: 'gone' };
      throw err;
    }
  }

  /**
   * Reads the client's progress and raises its fence to `fenceSeq` in one statement, so that from
   * now on a late-arriving older submission of this client is refused (see SequencingFacts.fencedSeq).
   */
  async fenceAndReadProgress(fileId: string, clientId: string, fenceSeq: number | undefined): Promise<ClientProgress> {
    if (fenceSeq === undefined) {
      const row = await this.db('client_progress').where({ file_id: fileId, client_id: clientId }).first('last_seq', 'last_version', 'fenced_seq');
      return toProgress(row);
    }
    const rows = await this.db('client_progress')
      .insert({ file_id: fileId, client_id: clientId, last_seq: 0, last_version: 0, fenced_seq: fenceSeq })
      .onConflict(['file_id', 'client_id'])
      .merge({ fenced_seq: this.db.raw('GREATEST(client_progress.fenced_seq, EXCLUDED.fenced_seq)') })
      .returning(['last_seq', 'last_version', 'fenced_seq']);
    return toProgress(rows[0]);
  }

  /** Writes a snapshot unless a newer one is already stored (any node may write; never goes backwards). */
  async writeSnapshot(fileId: string, version: number, content: string): Promise<boolean> {
    // `.returning` because knex-pglite reports a result object, not a count, for a bare update.
    const updated = await this.db('files').where('id', fileId).andWhere('version', '<', version).update({ content, version }, ['id']);
    return updated.length > 0;
  }

  /** Deletes ops with `version <= upTo` (compaction; the snapshot must already be at or past `upTo`). */
  async compact(fileId: string, upTo: number): Promise<number> {
    const deleted = await this.db('file_ops').where('file_id', fileId).andWhere('version', '<=', upTo).delete(['version']);
    return deleted.length;
  }

  /**
   * Binds `clientId` to `userId` on first use; false when it already belongs to someone else
   * (nobody may submit, and so spend acks, under another user's client id).
   */
  async bindClientId(clientId: string, userId: string): Promise<boolean> {
    await this.db('client_ids').insert({ client_id: clientId, user_id: userId }).onConflict('client_id').ignore();
    const row = await this.db('client_ids').where({ client_id: clientId }).first('user_id');
    return row?.user_id === userId;
  }
}

/** An op the batch decided to commit, not yet inserted. */
interface PlannedRow {
  readonly version: number;
  readonly op: TextOp;
  readonly userId: string;
  readonly clientId: string;
  readonly seq: number;
}

/** A batch result before the insert: committed ops are still rows without a commit time. */
type PlannedResult = Exclude<SubmissionResult, { kind: 'committed' }> | { readonly kind: 'committed'; readonly row: PlannedRow };

/**
 * Locks the progress rows of every submitter's client and reads them (absent rows read as no
 * progress). The locks are taken in client-id order, so two transactions locking overlapping sets
 * cannot deadlock; they also serialise each client's submissions across nodes: a resend racing its
 * original on another node waits here, then sees the original's progress and is a duplicate.
 */
async function lockProgress(trx: Knex.Transaction, fileId: string, submitters: readonly Submitter[]): Promise<Map<string, ClientProgress>> {
  const clientIds = [...new Set(submitters.map((s) => s.clientId))].sort();
  const rows = await trx('client_progress')
    .where('file_id', fileId)
    .whereIn('client_id', clientIds)
    .orderBy('client_id', 'asc')
    .forUpdate()
    .select('client_id', 'last_seq', 'last_version', 'fenced_seq');
  const progress = new Map<string, ClientProgress>();
  for (const id of clientIds) progress.set(id, toProgress(undefined));
  for (const row of rows as { client_id: string; last_seq: unknown; last_version: unknown; fenced_seq: unknown }[]) progress.set(row.client_id, toProgress(row));
  return progress;
}

/** The current role of every submitter in the room (absent: not a participant). */
async function readRoles(trx: Knex.Transaction, roomUuid: string, submitters: readonly Submitter[]): Promise<Map<string, string>> {
  const userIds = [...new Set(submitters.map((s) => s.userId))];
  const rows = await trx('room_participants').where('room_id', roomUuid).whereIn('user_id', userIds).select('user_id', 'role');
  return new Map((rows as { user_id: string; role: string }[]).map((r) => [r.user_id, r.role]));
}

/**
 * Runs the caller's decision for each submission in batch order. Each decision sees the progress
 * left by the earlier ones (a client's second op in the batch sees its first as committed), and
 * every commit must take the next version, so the batch's ops are gapless after `head`.
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
    const decision = args.decide(index, progress.get(s.clientId) ?? toProgress(undefined), roles.get(s.userId));
    if (decision.kind === 'duplicate') {
      results.push({ kind: 'duplicate', version: decision.version });
    } else if (decision.kind === 'reject') {
      results.push({ kind: 'rejected', decision });
    } else {
      // A wrong version here would be a bug in the caller; failing the transaction writes nothing.
      if (decision.version !== next) throw new Error(`batch decided version ${decision.version}, expected ${next}`);
      const row: PlannedRow = { version: next++, op: decision.op, userId: s.userId, clientId: s.clientId, seq: s.seq };
      rows.push(row);
      results.push({ kind: 'committed', row });
      const fencedSeq = progress.get(s.clientId)?.fencedSeq ?? 0;
      progress.set(s.clientId, { lastCommitted: { seq: s.seq, version: row.version }, fencedSeq });
    }
  });
  return { results, rows };
}

/** A batch result with nothing committed, as is. */
function settleWithout(result: PlannedResult): SubmissionResult {
  if (result.kind === 'committed') throw new Error('a committed row was not inserted');
  return result;
}

/** A batch result with its committed op's commit time (`created_at`, read back from the insert). */
function settle(result: PlannedResult, createdAt: ReadonlyMap<number, Date | string>): SubmissionResult {
  if (result.kind !== 'committed') return result;
  const { row } = result;
  const at = createdAt.get(row.version);
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

function toProgress(row: { last_seq?: unknown; last_version?: unknown; fenced_seq?: unknown } | undefined): ClientProgress {
  if (!row) return { lastCommitted: undefined, fencedSeq: 0 };
  const lastSeq = Number(row.last_seq);
  return {
    lastCommitted: lastSeq > 0 ? { seq: lastSeq, version: Number(row.last_version) } : undefined,
    fencedSeq: Number(row.fenced_seq ?? 0),
  };
}

function toCommittedOp(row: OpRow): CommittedOp {
  return {
    version: Number(row.version),
    op: typeof row.op === 'string' ? (JSON.parse(row.op) as TextOp) : row.op,
    clientId: row.client_id,
    seq: Number(row.seq),
    ...(row.author ? { author: row.author } : {}),
    at: new Date(row.created_at).getTime(),
  };
}
