/**
 * The group commit, on PostgreSQL (node-postgres) and on the embedded PGlite alike: two round trips
 * per group, with statements prepared once per connection (see `commitPipelined`).
 */
import type { Knex } from 'knex';
import pg from 'pg';
import {
  lastPerClient,
  newerSql,
  planCommit,
  progressPairs,
  rolePairs,
  rowKey,
  settleAll,
  type CommitAttempt,
  type CommitBatchArgs,
  type CommitReads,
  type InsertedRow,
  type ProgressRow,
} from './commit-plan';
import { isUuid } from './row-ids';

/**
 * `commitFiles` in two round trips: the locks and reads go as one multi-statement query that also
 * opens the transaction, the writes as one that also commits. Each round trip is a wake-up of the
 * server process and of its PostgreSQL backend, which on a busy machine costs far more than the
 * statements themselves (see docs/benchmarks.md). A multi-statement query takes no parameters, so
 * it EXECUTEs statements prepared once per connection with array literals built below. In READ
 * COMMITTED each statement of a multi-statement query takes a new snapshot, so the reads after the
 * files' locks see every commit made before the locks were granted.
 *
 * On the embedded database (PGlite, one connection in the server's process) there is no wake-up
 * to save, but the prepared, generically planned statements are: the same commit as one Knex
 * statement per step, each parsed and planned afresh, cost it ~40 % more CPU and a quarter of its
 * hot-file throughput (docs/benchmarks.md, 2026-12-02 fifth session).
 */
export async function commitPipelined(db: Knex, batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
  const conn = (await db.client.acquireConnection()) as PgConnection | EmbeddedConnection;
  const run = statementRunner(conn);
  try {
    await prepareOnce(conn, run);
    const progressIds = progressPairs(batches);
    const roleIds = rolePairs(batches);
    const [, , locked, progress, roles, newer] = asResults(
      await run(
        [
          'BEGIN',
          // Plan each statement once per connection: these arguments never call for another plan,
          // and re-planning them at every commit cost PostgreSQL more CPU than running them.
          'SET LOCAL plan_cache_mode = force_generic_plan',
          `EXECUTE collab_lock_files(${uuidArray(batches.map((b) => b.fileId))})`,
          `EXECUTE collab_lock_progress(${uuidArray(progressIds.map(([f]) => f))}, ${textArray(progressIds.map(([, c]) => c))})`,
          `EXECUTE collab_roles(${uuidArray(roleIds.map(([r]) => r))}, ${uuidArray(roleIds.map(([, u]) => u))})`,
          `EXECUTE collab_newer(${uuidArray(batches.map((b) => b.fileId))}, ${intArray(batches.map((b) => b.head))})`,
        ].join(';\n'),
      ),
      6,
    ) as [PgResult, PgResult, PgResult, PgResult, PgResult, PgResult];
    const plan = planCommit(batches, {
      locked: new Set((locked.rows as { id: string }[]).map((r) => r.id)),
      progress: progress.rows as ProgressRow[],
      roles: roles.rows as CommitReads['roles'],
      newer: newer.rows as CommitReads['newer'],
    });
    const createdAt = new Map<string, Date | string>();
    if (plan.rows.length === 0) {
      await run('COMMIT');
    } else {
      const rows = plan.rows;
      const last = lastPerClient(rows);
      const [inserted] = asResults(
        await run(
          [
            `EXECUTE collab_insert_ops(${uuidArray(rows.map((r) => r.fileId))}, ${intArray(rows.map((r) => r.version))}, ${textArray(rows.map((r) => JSON.stringify(r.op)))}, ${uuidArray(rows.map((r) => r.userId))}, ${textArray(rows.map((r) => r.clientId))}, ${intArray(rows.map((r) => r.seq))})`,
            `EXECUTE collab_upsert_progress(${uuidArray(last.map((r) => r.fileId))}, ${textArray(last.map((r) => r.clientId))}, ${intArray(last.map((r) => r.seq))}, ${intArray(last.map((r) => r.version))})`,
            'COMMIT',
          ].join(';\n'),
        ),
        3,
      );
      for (const row of (inserted as PgResult).rows as InsertedRow[]) createdAt.set(rowKey(row.file_id, Number(row.version)), row.created_at);
    }
    return settleAll(batches, plan, createdAt);
  } catch (err) {
    // Whatever failed (a statement, which skips the rest of its query, the COMMIT included; a
    // decision; the connection): roll back. If the connection itself failed, the outcome is
    // unknown and the caller acknowledges nothing.
    await rollback(conn, run, err);
    throw err;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/**
 * The group commit's statements, prepared once per connection (parsed and planned once, not per
 * transaction). Arrays carry the rows; `unnest` turns them back into rows. Locks are taken in one
 * order by every commit, so two groups never deadlock: files by id, then progress rows by (file,
 * client). (Exported for the commit-cost benchmark, which runs them piece by piece.)
 */
export const GROUP_COMMIT_STATEMENTS = [
  `PREPARE collab_lock_files(uuid[]) AS
     SELECT id FROM files WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`,
  // Keys first, each looked up through the primary key: a generic plan of `(a, b) IN (unnest …)`
  // hash-joins a sequential scan of the whole table. (FOR UPDATE, or LIMIT 1 on a primary-key
  // lookup, keeps the planner from flattening the lateral subquery back into that join.) The
  // keys are sorted and a nested loop visits them in that order, so the progress rows are still
  // locked in (file, client) order.
  `PREPARE collab_lock_progress(uuid[], text[]) AS
     SELECT p.file_id, p.client_id, p.last_seq, p.last_version, p.fenced_seq
       FROM (SELECT * FROM unnest($1, $2) AS k(file_id, client_id) ORDER BY file_id, client_id) k
       CROSS JOIN LATERAL (
         SELECT * FROM client_progress c WHERE c.file_id = k.file_id AND c.client_id = k.client_id FOR UPDATE
       ) p`,
  `PREPARE collab_roles(uuid[], uuid[]) AS
     SELECT p.room_id, p.user_id, p.role
       FROM unnest($1, $2) AS k(room_id, user_id)
       CROSS JOIN LATERAL (
         SELECT * FROM room_participants r WHERE r.room_id = k.room_id AND r.user_id = k.user_id LIMIT 1
       ) p`,
  `PREPARE collab_newer(uuid[], integer[]) AS ${newerSql('unnest($1, $2)')}`,
  `PREPARE collab_insert_ops(uuid[], integer[], jsonb[], uuid[], text[], bigint[]) AS
     INSERT INTO file_ops (file_id, version, op, author, client_id, seq)
     SELECT * FROM unnest($1, $2, $3, $4, $5, $6)
     RETURNING file_id, version, created_at`,
  `PREPARE collab_upsert_progress(uuid[], text[], bigint[], integer[]) AS
     INSERT INTO client_progress (file_id, client_id, last_seq, last_version)
     SELECT * FROM unnest($1, $2, $3, $4)
     ON CONFLICT (file_id, client_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_version = EXCLUDED.last_version`,
].join(';\n');

/** Connections on which GROUP_COMMIT_STATEMENTS has run (a new connection, e.g. after a restart, prepares again). */
const preparedOn = new WeakSet<object>();

async function prepareOnce(conn: object, run: StatementRunner): Promise<void> {
  if (preparedOn.has(conn)) return;
  await run(GROUP_COMMIT_STATEMENTS);
  preparedOn.add(conn);
}

/** The part of a node-postgres client used here. */
interface PgConnection {
  query(text: string): Promise<PgResult | PgResult[]>;
  __knex__disposed?: unknown;
}

/** The part of the embedded database (PGlite, knex-pglite's one connection) used here. */
interface EmbeddedConnection {
  exec(text: string): Promise<PgResult[]>;
}

/** Runs a multi-statement query (no parameters) on one connection: a result per statement. */
type StatementRunner = (text: string) => Promise<PgResult | PgResult[]>;

/**
 * node-postgres takes several statements through `query`; PGlite through `exec` (its `query`
 * takes one statement). Both run them as PostgreSQL's simple query protocol: a failing statement
 * skips the rest of the string.
 */
function statementRunner(conn: PgConnection | EmbeddedConnection): StatementRunner {
  if (conn instanceof pg.Client) return (text) => (conn as PgConnection).query(text);
  if ('exec' in conn && typeof conn.exec === 'function') return (text) => conn.exec(text);
  throw new Error('the group commit runs on node-postgres or PGlite connections only');
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
async function rollback(conn: PgConnection | EmbeddedConnection, run: StatementRunner, cause: unknown): Promise<void> {
  try {
    await run('ROLLBACK');
  } catch {
    (conn as PgConnection).__knex__disposed = cause instanceof Error ? cause.message : 'rollback failed';
  }
}

/**
 * A uuid[] literal. Ids come from our own rows and are checked against the uuid pattern: anything
 * else is refused, never escaped.
 */
export function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!isUuid(id)) throw new Error(`not a uuid: ${JSON.stringify(id)}`);
  return `'{${ids.join(',')}}'::uuid[]`;
}

/** An integer[] literal of safe integers. */
export function intArray(ns: readonly number[]): string {
  for (const n of ns) if (!Number.isSafeInteger(n)) throw new Error(`not an integer: ${n}`);
  return `'{${ns.join(',')}}'`;
}

/**
 * A text[] literal: each element double-quoted with `"` and `\\` backslash-escaped (array syntax),
 * then the whole written as a SQL string literal (`sqlLiteral`).
 */
export function textArray(items: readonly string[]): string {
  const body = items.map((s) => `"${s.replace(/[\\"]/g, '\\$&')}"`).join(',');
  return sqlLiteral(`{${body}}`);
}

/**
 * `text` as a SQL string literal, exactly as node-postgres' `escapeLiteral` writes it (quotes and
 * backslashes doubled; the E'' form when a backslash occurs), in one `replace` instead of one string
 * concatenation per character: at typing load that loop made ~6 % of the server's allocations.
 */
export function sqlLiteral(text: string): string {
  const quoted = `'${text.replace(/['\\]/g, '$&$&')}'`;
  return text.includes('\\') ? ` E${quoted}` : quoted;
}
