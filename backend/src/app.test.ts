/** How the server configures its commit path per database. */
import { strict as assert } from 'node:assert';
import { defaultCommitConcurrency } from './app';
import { forEachDatabase } from './test-support/databases';
import { TestServer } from './test-support/test-app';

forEachDatabase('server: group-commit concurrency', (ctx) => {
  it('keeps 4 group transactions open on PostgreSQL and 1 on the embedded database (one connection), unless the sessions are configured otherwise', async () => {
    const { db } = ctx.current();
    const server = await TestServer.start(db);
    try {
      assert.equal(server.app.sessions.commitConcurrency, db.kind === 'postgres' ? 4 : 1);
      assert.equal(server.app.sessions.commitConcurrency, defaultCommitConcurrency(db.kind));
    } finally {
      await server.stop();
    }
    const told = await TestServer.start(db, { sessions: { commitConcurrency: 3 } });
    try {
      assert.equal(told.app.sessions.commitConcurrency, 3);
    } finally {
      await told.stop();
    }
  });
});
