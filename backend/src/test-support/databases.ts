/**
 * The databases backend tests run on: the embedded PGlite always, and a real PostgreSQL when one
 * is reachable. Under `CI=true` PostgreSQL must be reachable: the suite fails instead of skipping.
 *
 * Each real-PostgreSQL test database is created fresh (`collab_test_<random>`) and dropped
 * afterwards, so runs never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { knex, type Knex } from 'knex';
import { openDatabase, type Database } from '../storage/database';

/** A database a test suite can use, with a way to dispose of it. */
export interface TestDatabase {
  readonly label: string;
  readonly db: Database;
  /** For real PostgreSQL: the URL of this test's own database (for a second server process). */
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

/** How to open one kind of test database. */
interface TestDatabaseKind {
  readonly label: string;
  open(): Promise<TestDatabase>;
}

/** The admin URL for real PostgreSQL in tests: `TEST_DATABASE_URL`, else the local CI service. */
function adminUrls(): string[] {
  const explicit = process.env['TEST_DATABASE_URL'];
  if (explicit) return [explicit];
  return ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];
}

let reachable: Promise<string | undefined> | undefined;

/** The first admin URL that answers, or undefined (memoised for the whole run). */
export function reachablePostgres(): Promise<string | undefined> {
  reachable ??= (async () => {
    for (const url of adminUrls()) {
      const probe = knex({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 2000 }, pool: { min: 0, max: 1 } });
      try {
        await probe.raw('select 1');
        return url;
      } catch {
        // try the next one
      } finally {
        await probe.destroy();
      }
    }
    return undefined;
  })();
  return reachable;
}

const embeddedMemory: TestDatabaseKind = {
  label: 'PGlite',
  async open() {
    const db = await openDatabase({ kind: 'memory' });
    return { label: 'PGlite', db, url: undefined, dispose: () => db.close() };
  },
};

function realPostgres(adminUrl: string): TestDatabaseKind {
  return {
    label: 'PostgreSQL',
    async open() {
      const name = `collab_test_${randomBytes(6).toString('hex')}`;
      const admin: Knex = knex({ client: 'pg', connection: adminUrl, pool: { min: 0, max: 1 } });
      await admin.raw(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const db = await openDatabase({ kind: 'postgres', url: url.toString() });
      return {
        label: 'PostgreSQL',
        db,
        url: url.toString(),
        async dispose() {
          await db.close();
          await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.destroy();
        },
      };
    },
  };
}

/**
 * A fresh database on the real PostgreSQL (multi-node tests need one that several servers open by
 * URL), or the reason there is none. Under CI=true an unreachable PostgreSQL throws instead.
 */
export async function freshPostgres(): Promise<TestDatabase | string> {
  const url = await reachablePostgres();
  if (url) return realPostgres(url).open();
  const why = `PostgreSQL is not reachable at ${adminUrls().join(' or ')}`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true but ${why} (set TEST_DATABASE_URL to override)`);
  return why;
}

/** What a suite declared with `forEachDatabase` gets: its database once `before` has run. */
export interface DatabaseContext {
  readonly label: string;
  /** The open test database (throws if used before the suite's `before` hook). */
  current(): TestDatabase;
}

/**
 * Declares `suite` once on the embedded PGlite and once on real PostgreSQL, each with a fresh
 * database opened before its tests and dropped after them. The PostgreSQL copy is skipped (shown
 * as pending, with the reason) when no server is reachable, except under CI=true, where it fails.
 */
export function forEachDatabase(title: string, suite: (ctx: DatabaseContext) => void): void {
  const kinds: { label: string; open: () => Promise<TestDatabase | string> }[] = [
    { label: 'PGlite', open: () => embeddedMemory.open() },
    {
      label: 'PostgreSQL',
      async open() {
        const url = await reachablePostgres();
        if (url) return realPostgres(url).open();
        const why = `PostgreSQL is not reachable at ${adminUrls().join(' or ')}`;
        if (process.env['CI'] === 'true') throw new Error(`CI=true but ${why} (set TEST_DATABASE_URL to override)`);
        return why;
      },
    },
  ];
  for (const kind of kinds) {
    describe(`${title} [${kind.label}]`, function () {
      let opened: TestDatabase | undefined;
      before(async function () {
        this.timeout(60_000);
        const result = await kind.open();
        if (typeof result === 'string') {
          console.log(`      skipped: ${result}`);
          this.skip();
        } else {
          opened = result;
        }
      });
      suite({
        label: kind.label,
        current() {
          if (!opened) throw new Error('the test database is not open yet');
          return opened;
        },
      });
      // Registered after the suite's own hooks so that it runs after them: Mocha runs a suite's
      // `after` hooks in the order they were declared, and a suite's `after` (stopping its server,
      // which writes the last snapshots) needs the database still open.
      after(async function () {
        this.timeout(60_000);
        await opened?.dispose();
      });
    });
  }
}
