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
 * Commits are grouped: the batches of several files (each the submissions waiting in that file's
 * queue) are committed in one transaction (`commitFiles`: one lock statement, one read of each
 * kind, one INSERT, one progress upsert, one WAL flush for all of them), and none of them is
 * acknowledged before that transaction's COMMIT returned. On node-postgres that transaction takes
 * two round trips (see `commitPipelined`).
 */
import type { Knex } from 'knex';
import type { CommittedOp, SequencingDecision, TextOp } from '@collab/protocol';
import pg from 'pg';
import { isForeignKeyViolation, isUniqueViolation } from './database';
import { isUuid } from './row-ids';

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
  /** Whether group commits go as two multi-statement round trips (node-postgres) rather than Knex statements. */
  readonly pipelined: boolean;

  constructor(private readonly db: Knex) {
    // knex-pglite extends Knex's pg client but runs each query as one statement in-process.
    this.pipelined = db.client.config?.client === 'pg';
  }

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
   * Commits one file's batch (a transaction of its own): `commitFiles` with one batch.
   */
  async commitBatch(args: CommitBatchArgs): Promise<CommitAttempt> {
    const [attempt] = await this.commitFiles([args]);
    if (!attempt) throw new Error('commitFiles answered no attempt');
    return attempt;
  }

  /**
   * Commits the batches of several files in ONE transaction (group commit across files): locks
   * the files' rows, locks and reads the submitters' progress rows, reads their roles and the ops
   * past each caller's head, lets each batch's `decide` make its sequencing decisions in batch
   * order, then inserts every committed op of every file with one statement and advances the
   * progress rows with one statement. One attempt per batch, in the given order: a file that was
   * deleted is `gone` and one too far behind is `behind` (nothing written for it) while the others
   * commit. Resolves only after COMMIT returned, i.e. when every op it reports as committed is
   * durable; when it rejects (database unreachable, outcome unknown) nothing may be acknowledged.
   * A lost race (unique violation) or a deletion racing the insert fails the whole transaction:
   * every batch is then a `conflict` (nothing written), to be retried.
   */
  async commitFiles(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
    if (batches.length === 0) return [];
    if (new Set(batches.map((b) => b.fileId)).size !== batches.length) throw new Error('commitFiles takes one batch per file');
    try {
      return this.pipelined ? await commitPipelined(this.db, batches) : await this.commitWithKnex(batches);
    } catch (err) {
      // Another node took one of these versions (or committed one of these submissions) first.
      if (isUniqueViolation(err)) return batches.map((): CommitAttempt => ({ kind: 'conflict' }));
      // file_ops.file_id references files: a file was deleted (by any node) before the insert.
      // Alone it is gone; in a group, nothing was written for any file: all retry, and the
      // retry's lock finds which file is gone.
      if (isForeignKeyViolation(err)) return batches.map((): CommitAttempt => (batches.length === 1 ? { kind: 'gone' } : { kind: 'conflict' }));
      throw err;
    }
  }

  /** `commitFiles` as a Knex transaction, one statement per step (the embedded database's path). */
  private async commitWithKnex(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
    return this.db.transaction(async (trx) => {
      const fileIds = batches.map((b) => b.fileId).sort();
      const locked = (await trx('files').whereIn('id', fileIds).orderBy('id', 'asc').forNoKeyUpdate().select('id')) as { id: string }[];
      const live = batches.filter((b) => locked.some((r) => r.id === b.fileId));
      const reads: CommitReads = { locked: new Set(locked.map((r) => r.id)), progress: [], roles: [], newer: [] };
      if (live.length > 0) {
        reads.progress = await trx('client_progress')
          .whereIn(['file_id', 'client_id'], progressPairs(live))
          .orderBy([{ column: 'file_id' }, { column: 'client_id' }])
          .forUpdate()
          .select('file_id', 'client_id', 'last_seq', 'last_version', 'fenced_seq');
        reads.roles = await trx('room_participants').whereIn(['room_id', 'user_id'], rolePairs(live)).select('room_id', 'user_id', 'role');
        reads.newer = rawRows(await trx.raw(newerSql(live.map(() => '(?::uuid, ?::integer)').join(', ')), live.flatMap((b) => [b.fileId, b.head])));
      }
      const plan = planCommit(batches, reads);
      const createdAt = new Map<string, Date | string>();
      if (plan.rows.length > 0) {
        const inserted = await trx('file_ops')
          .insert(plan.rows.map((r) => ({ file_id: r.fileId, version: r.version, op: JSON.stringify(r.op), author: r.userId, client_id: r.clientId, seq: r.seq })))
          .returning(['file_id', 'version', 'created_at']);
        for (const row of inserted as InsertedRow[]) createdAt.set(rowKey(row.file_id, Number(row.version)), row.created_at);
        await trx('client_progress')
          .insert(lastPerClient(plan.rows).map((r) => ({ file_id: r.fileId, client_id: r.clientId, last_seq: r.seq, last_version: r.version })))
          .onConflict(['file_id', 'client_id'])
          .merge(['last_seq', 'last_version']);
      }
      return settleAll(batches, plan, createdAt);
    });
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
  readonly fileId: string;
  readonly version: number;
  readonly op: TextOp;
  readonly userId: string;
  readonly clientId: string;
  readonly seq: number;
}

/** A batch result before the insert: committed ops are still rows without a commit time. */
type PlannedResult = Exclude<SubmissionResult, { kind: 'committed' }> | { readonly kind: 'committed'; readonly row: PlannedRow };

/** The key of one (file, client) progress row in the maps below. */
function progressKey(fileId: string, clientId: string): string {
  return `${fileId}\u0000${clientId}`;
}

/** The key of one (room, user) participant row. */
function roleKey(roomUuid: string, userId: string): string {
  return `${roomUuid}\u0000${userId}`;
}

/** The key of one committed op. */
function rowKey(fileId: string, version: number): string {
  return `${fileId}\u0000${version}`;
}

/** What a group commit reads under its locks, as rows. */
interface CommitReads {
  /** The files whose rows were locked (the others are gone). */
  locked: Set<string>;
  progress: ProgressRow[];
  roles: { room_id: string; user_id: string; role: string }[];
  /** The ops past each live batch's head (`newerSql`). */
  newer: (OpRow & { file_id: string })[];
}

interface ProgressRow {
  file_id: string;
  client_id: string;
  last_seq: unknown;
  last_version: unknown;
  fenced_seq: unknown;
}

interface InsertedRow {
  file_id: string;
  version: number | string;
  created_at: Date | string;
}

/** The decisions of a group: finished attempts (gone, behind), and per decided file its results and rows to insert. */
interface CommitPlan {
  readonly attempts: Map<string, CommitAttempt>;
  readonly planned: Map<string, PlannedResult[]>;
  readonly rows: PlannedRow[];
}

/** The (file, client) pairs whose progress rows a group locks, distinct. */
function progressPairs(batches: readonly CommitBatchArgs[]): [string, string][] {
  const pairs = new Map<string, [string, string]>();
  for (const b of batches) for (const s of b.submitters) pairs.set(progressKey(b.fileId, s.clientId), [b.fileId, s.clientId]);
  return [...pairs.values()];
}

/** The (room, user) pairs whose roles a group reads, distinct. */
function rolePairs(batches: readonly CommitBatchArgs[]): [string, string][] {
  const pairs = new Map<string, [string, string]>();
  for (const b of batches) for (const s of b.submitters) pairs.set(roleKey(b.roomUuid, s.userId), [b.roomUuid, s.userId]);
  return [...pairs.values()];
}

/**
 * The statement reading the ops past each batch's head (at most MAX_NEWER + 1 per file, ascending),
 * given the `(file_id, head)` VALUES rows: one index probe per file, usually finding nothing.
 */
function newerSql(values: string): string {
  return `SELECT h.file_id, o.version, o.op, o.author, o.client_id, o.seq, o.created_at
    FROM (VALUES ${values}) AS h(file_id, head)
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
function planCommit(batches: readonly CommitBatchArgs[], reads: CommitReads): CommitPlan {
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
function lastPerClient(rows: readonly PlannedRow[]): PlannedRow[] {
  const last = new Map<string, PlannedRow>();
  for (const r of rows) last.set(progressKey(r.fileId, r.clientId), r);
  return [...last.values()];
}

/** The attempts of a committed group, in batch order, with each committed op's commit time. */
function settleAll(batches: readonly CommitBatchArgs[], plan: CommitPlan, createdAt: ReadonlyMap<string, Date | string>): CommitAttempt[] {
  return batches.map((b) => {
    const results = plan.planned.get(b.fileId);
    if (results) return { kind: 'done', results: results.map((r) => settle(r, createdAt)) };
    const attempt = plan.attempts.get(b.fileId);
    if (!attempt) throw new Error(`no attempt for file ${b.fileId}`);
    return attempt;
  });
}

/**
 * `commitFiles` on node-postgres in two round trips: the locks and reads go as one multi-statement
 * query that also opens the transaction, the writes as one that also commits. Each round trip is a
 * wake-up of the server process and of its PostgreSQL backend, which on a busy machine costs far
 * more than the statements themselves (see docs/benchmarks.md). Values are inlined as escaped
 * literals (a multi-statement query takes no parameters). The statements and their order are those
 * of the Knex path; in READ COMMITTED each statement of a multi-statement query takes a new
 * snapshot, so the reads after the files' locks see every commit made before the locks were granted.
 */
async function commitPipelined(db: Knex, batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
  const conn = (await db.client.acquireConnection()) as PgConnection;
  try {
    let results: PgResult[];
    try {
      const fileIds = batches.map((b) => uuidLiteral(b.fileId)).sort();
      results = asResults(
        await conn.query(
          [
            'BEGIN',
            `SELECT id FROM files WHERE id IN (${fileIds.join(', ')}) ORDER BY id FOR NO KEY UPDATE`,
            `SELECT file_id, client_id, last_seq, last_version, fenced_seq FROM client_progress
              WHERE (file_id, client_id) IN (${progressPairs(batches).map(([f, c]) => `(${uuidLiteral(f)}, ${textLiteral(c)})`).join(', ')})
              ORDER BY file_id, client_id FOR UPDATE`,
            `SELECT room_id, user_id, role FROM room_participants
              WHERE (room_id, user_id) IN (${rolePairs(batches).map(([r, u]) => `(${uuidLiteral(r)}, ${uuidLiteral(u)})`).join(', ')})`,
            newerSql(batches.map((b) => `(${uuidLiteral(b.fileId)}, ${intLiteral(b.head)})`).join(', ')),
          ].join(';\n'),
        ),
        5,
      );
    } catch (err) {
      await rollback(conn, err);
      throw err;
    }
    const [, locked, progress, roles, newer] = results as [PgResult, PgResult, PgResult, PgResult, PgResult];
    let plan: CommitPlan;
    try {
      plan = planCommit(batches, {
        locked: new Set((locked.rows as { id: string }[]).map((r) => r.id)),
        progress: progress.rows as ProgressRow[],
        roles: roles.rows as CommitReads['roles'],
        newer: newer.rows as CommitReads['newer'],
      });
    } catch (err) {
      await rollback(conn, err);
      throw err;
    }
    const createdAt = new Map<string, Date | string>();
    try {
      if (plan.rows.length === 0) {
        await conn.query('COMMIT');
      } else {
        const written = asResults(
          await conn.query(
            [
              `INSERT INTO file_ops (file_id, version, op, author, client_id, seq) VALUES ${plan.rows
                .map((r) => `(${uuidLiteral(r.fileId)}, ${intLiteral(r.version)}, ${textLiteral(JSON.stringify(r.op))}::jsonb, ${uuidLiteral(r.userId)}, ${textLiteral(r.clientId)}, ${intLiteral(r.seq)})`)
                .join(', ')}
              RETURNING file_id, version, created_at`,
              `INSERT INTO client_progress (file_id, client_id, last_seq, last_version) VALUES ${lastPerClient(plan.rows)
                .map((r) => `(${uuidLiteral(r.fileId)}, ${textLiteral(r.clientId)}, ${intLiteral(r.seq)}, ${intLiteral(r.version)})`)
                .join(', ')}
              ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version`,
              'COMMIT',
            ].join(';\n'),
          ),
          3,
        );
        for (const row of (written[0] as PgResult).rows as InsertedRow[]) createdAt.set(rowKey(row.file_id, Number(row.version)), row.created_at);
      }
    } catch (err) {
      // A failed statement skips the rest of the query (the COMMIT included): roll back. If the
      // connection itself failed, the outcome is unknown and the caller acknowledges nothing.
      await rollback(conn, err);
      throw err;
    }
    return settleAll(batches, plan, createdAt);
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** The part of a node-postgres client used here. */
interface PgConnection {
  query(text: string): Promise<PgResult | PgResult[]>;
  __knex__disposed?: unknown;
}

interface PgResult {
  readonly rows: unknown[];
}

/** The results of a multi-statement query (node-postgres answers an array, one per statement). */
function asResults(result: PgResult | PgResult[], expected: number): PgResult[] {
  const all = Array.isArray(result) ? result : [result];
  if (all.length !== expected) throw new Error(`expected ${expected} statement results, got ${all.length}`);
  return all;
}

/** Ends a failed transaction; a connection that cannot even roll back is not given back to the pool. */
async function rollback(conn: PgConnection, cause: unknown): Promise<void> {
  try {
    await conn.query('ROLLBACK');
  } catch {
    conn.__knex__disposed = cause instanceof Error ? cause.message : 'rollback failed';
  }
}

/** A uuid as a SQL literal (ids come from our own rows; anything else is refused, not escaped). */
function uuidLiteral(id: string): string {
  if (!isUuid(id)) throw new Error(`not a uuid: ${JSON.stringify(id)}`);
  return `'${id}'::uuid`;
}

/** An integer as a SQL literal. */
function intLiteral(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return String(n);
}

/** A string as a SQL literal, escaped by node-postgres (quotes doubled; backslashes in E'' form). */
function textLiteral(s: string): string {
  return pg.escapeLiteral(s);
}

/** The rows of a `knex.raw` result (node-postgres and PGlite both answer `{ rows }`). */
function rawRows<T>(result: unknown): T[] {
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new Error('unexpected raw query result');
  return rows as T[];
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
