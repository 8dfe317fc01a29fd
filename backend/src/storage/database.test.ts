/** Which database errors count as "unavailable, retry" (answered UNAVAILABLE), and several nodes migrating at once. */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { knex } from 'knex';
import { reachablePostgres } from '../test-support/databases';
import { isForeignKeyViolation, isStorageUnavailable, isUniqueViolation, openDatabase } from './database';

describe('storage: database error classification', () => {
  it('treats connection failures, server shutdown and pool timeouts as unavailable', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '53300']) {
      assert.ok(isStorageUnavailable(Object.assign(new Error('x'), { code })), code);
    }
    assert.ok(isStorageUnavailable(Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' })));
    assert.ok(isStorageUnavailable(new Error('Connection terminated unexpectedly')));
  });

  it('does not treat query errors or bugs as unavailable', () => {
    for (const code of ['23505', '23503', '42P01', '22P02']) {
      assert.ok(!isStorageUnavailable(Object.assign(new Error('x'), { code })), code);
    }
    assert.ok(!isStorageUnavailable(new TypeError('undefined is not a function')));
    assert.ok(!isStorageUnavailable(undefined));
    assert.ok(isUniqueViolation({ code: '23505' }) && isForeignKeyViolation({ code: '23503' }));
  });
});

describe('storage: several nodes migrating one new database at once', () => {
  it('both start: one applies the migrations, the other waits for the lock and finds nothing to do', async function () {
    this.timeout(60_000);
    const adminUrl = await reachablePostgres();
    if (!adminUrl) {
      if (process.env['CI'] === 'true') throw new Error('CI=true but PostgreSQL is not reachable');
      console.log('      skipped: PostgreSQL is not reachable');
      this.skip();
    }
    const name = `collab_test_${randomBytes(6).toString('hex')}`;
    const admin = knex({ client: 'pg', connection: adminUrl as string, pool: { min: 0, max: 1 } });
    await admin.raw(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl as string);
    url.pathname = `/${name}`;
    try {
      const opened = await Promise.all([0, 1, 2].map(() => openDatabase({ kind: 'postgres', url: url.toString(), poolMax: 2 })));
      const rows = await opened[0]!.knex('knex_migrations').select('name');
      assert.equal(new Set(rows.map((r: { name: string }) => r.name)).size, rows.length, 'each migration applied once');
      await Promise.all(opened.map((d) => d.close()));
    } finally {
      await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    }
  });
});
