/**
 * Opens the database: PostgreSQL through `pg` when a URL is given, otherwise an embedded
 * PostgreSQL (PGlite, through `knex-pglite`) kept in a data directory. One code path: every query,
 * migration and transaction goes through the same Knex API on both.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { knex, type Knex } from 'knex';
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
    await migrateToLatest(handle);
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

function createKnex(target: DatabaseTarget): Knex {
  if (target.kind === 'postgres') {
    return knex({
      client: 'pg',
      connection: target.url,
      pool: { min: 0, max: target.poolMax ?? 10 },
      // Fail fast when PostgreSQL is down instead of queueing submissions for a minute.
      acquireConnectionTimeout: 10_000,
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
