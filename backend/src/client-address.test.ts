/**
 * Whose address the login and sign-up limits key on: the peer's, unless TRUST_PROXY names the
 * proxy in front (then the client address that proxy put in X-Forwarded-For). Behind the shipped
 * nginx without it, every client would share nginx's budget; with it set carelessly, any client
 * could pick its own address by sending the header, which is why the default trusts nobody.
 */
import { strict as assert } from 'node:assert';
import { openDatabase, type Database } from './storage/database';
import { uniqueUsername } from './test-support/service-fixtures';
import { TestServer } from './test-support/test-app';

const PASSWORD = 'a sturdy passphrase 42';

describe('client address behind a proxy (TRUST_PROXY)', function () {
  this.timeout(20_000);
  let db: Database;

  before(async () => {
    db = await openDatabase({ kind: 'memory' });
  });
  after(async () => {
    await db.close();
  });

  /** Signs up one new user, claiming to come from `forwardedFor`; answers the HTTP status. */
  async function signUp(server: TestServer, forwardedFor: string): Promise<number> {
    const res = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ username: uniqueUsername(), password: PASSWORD }),
    });
    return res.status;
  }

  const oneSignUpEach = { capacity: 1, refillPerSecond: 1 / 3600 };

  it('with TRUST_PROXY=loopback, each forwarded client has its own sign-up budget', async () => {
    const server = await TestServer.start(db, { registrationLimit: oneSignUpEach, trustProxy: 'loopback' });
    try {
      assert.equal(await signUp(server, '203.0.113.1'), 201);
      assert.equal(await signUp(server, '203.0.113.2'), 201);
      assert.equal(await signUp(server, '203.0.113.1'), 429);
    } finally {
      await server.stop();
    }
  });

  it('without it, X-Forwarded-For is ignored: a client cannot buy a fresh budget by sending the header', async () => {
    const server = await TestServer.start(db, { registrationLimit: oneSignUpEach });
    try {
      assert.equal(await signUp(server, '203.0.113.1'), 201);
      assert.equal(await signUp(server, '203.0.113.2'), 429);
    } finally {
      await server.stop();
    }
  });
});
