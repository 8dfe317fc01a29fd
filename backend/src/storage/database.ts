/**
 * Opens the database: PostgreSQL through `pg` when a URL is given, otherwise an embedded
 * PostgreSQL (PGlite, through `knex-pglite`) kept in a data directory. One code path: every query,
 * migration and transaction goes through the same Knex API on both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { knex, type Knex } from 'knex';
import pg from 'pg';
import { migrateToLatest } from './migrations';

/** Where the data lives: a PostgreSQL URL, or a directory for the embedded database. */
export type DatabaseTarget =
  | { readonly kind: 'postgres'; readonly url: string; readonly poolMax?: number }
  | { readonly kind: 'embedded'; readonly directory: string }
  /** An embedded database that lives only in memory (tests). */
  | { readonly kind: 'memory' };

/** An open database: the Knex handle and what it runs on. */
export interface Database {
  readonly knex: Knex;
  readonly kind: DatabaseTarget['kind'];
  /** A description for logs (no password). */
  readonly description: string;
  /** Closes every connection. */
  close(): Promise<void>;
}

/** Opens the database and brings its schema to the latest migration. */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const handle = createKnex(target);
  try {
    if (target.kind === 'postgres') await withMigrationLock(target.url, () => migrateToLatest(handle));
    else await migrateToLatest(handle);
  } catch (err) {
    await handle.destroy();
    throw err;
  }
  return {
    knex: handle,
    kind: target.kind,
    description: describe(target),
    close: () => handle.destroy(),
  };
}

/** Any constant: the advisory lock id under which nodes take turns to migrate. */
const MIGRATION_LOCK_ID = 0x636f6c6c; // 'coll'

/**
 * Runs `migrate` while holding a PostgreSQL advisory lock on a connection of its own, so that
 * nodes starting together migrate one after the other. Knex's own lock is not enough for a new
 * database: two nodes creating its bookkeeping tables at the same moment can fail, or leave two
 * rows in its lock table, which then reads as locked for ever. (The embedded database has one
 * process and needs none of this.)
 */
async function withMigrationLock<T>(url: string, migrate: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a dropped lock connection surfaces as a failed query
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    return await migrate();
  } finally {
    // Ending the session releases the lock even if the unlock itself fails.
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function createKnex(target: DatabaseTarget): Knex {
  if (target.kind === 'postgres') {
    return knex({
      client: 'pg',
      connection: target.url,
      pool: { min: 0, max: target.poolMax ?? 10 },
      // Fail fast when PostgreSQL is down instead of queueing submissions for a minute.
      acquireConnectionTimeout: 10_000,
      // Knex prints pool and connection errors to the console itself; every one of them also
      // reaches the caller as a thrown error (answered UNAVAILABLE and logged there), so its own
      // printing is only noise during a database outage.
      log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
    });
  }
  // knex-pglite is a CommonJS module whose default export is the Knex client class.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('knex-pglite') as { default?: unknown };
  const ClientPgLite = (mod.default ?? mod) as typeof knex.Client;
  if (target.kind === 'embedded') fs.mkdirSync(path.dirname(target.directory), { recursive: true });
  return knex({
    client: ClientPgLite,
    dialect: 'postgres',
    connection: target.kind === 'embedded' ? { filename: target.directory } : {},
  } as Knex.Config);
}

function describe(target: DatabaseTarget): string {
  switch (target.kind) {
    case 'postgres': {
      try {
        const url = new URL(target.url);
        return `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`;
      } catch {
        return 'PostgreSQL';
      }
    }
    case 'embedded':
      return `embedded PostgreSQL (PGlite) in ${target.directory}`;
    case 'memory':
      return 'embedded PostgreSQL (PGlite) in memory';
  }
}

/** True for PostgreSQL's unique-violation error (SQLSTATE 23505), whichever driver raised it. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  if (!e || e.code !== '23505') return false;
  if (constraint === undefined) return true;
  return e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint));
}

/** True for PostgreSQL's foreign-key violation (SQLSTATE 23503): the referenced row is gone. */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23503';
}

/** Error codes of a database that is down, restarting or unreachable (not of a bad query). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300']);

/**
 * True when `err` says the database could not be reached or dropped the connection (so the
 * request may succeed when retried), as opposed to a bug or a refused query. Covers the socket
 * errors, PostgreSQL's shutdown / too-many-connections states, class 08 (connection exception),
 * pg's "Connection terminated" and Knex's pool acquisition timeout.
 */
export function isStorageUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (e.name === 'KnexTimeoutError') return true;
  return typeof e.message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(e.message);
}
