/**
 * Health, readiness and metrics of a running server after real socket traffic, and the log output
 * captured while that traffic (sign-ups, sign-ins, tokens good and bad) went through: it must hold
 * no token, password or secret. On PGlite and on PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import type { CollabClient } from '@collab/client';
import { openDatabase } from '../storage/database';
import { forEachDatabase } from '../test-support/databases';
import { handshakeError, openRaw, testTimeout, type RawSocket } from '../test-support/sockets';
import { TestServer } from '../test-support/test-app';
import { createLogger } from './logger';

forEachDatabase('health, metrics and logs', (ctx) => {
  let server: TestServer;
  const lines: string[] = [];
  const clients: CollabClient[] = [];
  const raws: RawSocket[] = [];
  testTimeout(20_000);

  before(async () => {
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } });
    server = await TestServer.start(ctx.current().db, { logger });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await server?.stop();
  });

  async function get(route: string): Promise<{ status: number; type: string; text: string }> {
    const res = await fetch(`${server.url}${route}`);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }
  function sample(text: string, name: string): number | undefined {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  }

  it('GET /healthz and /readyz answer, and /metrics counts commits, refusals and commit latency', async () => {
    const health = await get('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
    const ready = await get('/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.text), { status: 'ready', database: ctx.label === 'PGlite' ? 'memory' : 'postgres' });

    const before = await get('/metrics');
    assert.equal(before.status, 200);
    assert.match(before.type, /^text\/plain/);
    const committed0 = sample(before.text, 'collab_ops_committed_total') ?? 0;
    const forbidden0 = sample(before.text, 'collab_ops_rejected_total{code="FORBIDDEN"}') ?? 0;
    const latency0 = sample(before.text, 'collab_commit_seconds_count') ?? 0;

    const owner = await server.user('m_owner');
    const viewer = await server.user('m_viewer');
    const roomId = await server.room(owner);
    await server.invite(owner, roomId, viewer, 'viewer');
    const fileId = await server.file(owner, roomId, 'metrics.txt', '');
    const c = await server.connect(owner);
    clients.push(c);
    await c.joinRoom(roomId);
    const doc = await c.openFile(roomId, fileId);
    for (let i = 0; i < 5; i++) {
      doc.type(doc.text.length, `${i}`);
      await doc.synced();
    }
    const v = await openRaw(server.url, viewer.token, roomId, fileId);
    raws.push(v);
    const refused = await v.request('op:submit', { roomId, fileId, clientId: v.clientId, seq: 1, baseVersion: 5, op: [5, 'v'] });
    assert.equal(!refused.ok && refused.error.code, 'FORBIDDEN');

    const after = await get('/metrics');
    const committed = sample(after.text, 'collab_ops_committed_total')!;
    const forbidden = sample(after.text, 'collab_ops_rejected_total{code="FORBIDDEN"}')!;
    const latency = sample(after.text, 'collab_commit_seconds_count')!;
    console.log(`      metrics: committed ${committed0}→${committed}, FORBIDDEN ${forbidden0}→${forbidden}, commit samples ${latency0}→${latency}`);
    assert.equal(committed - committed0, 5);
    assert.equal(forbidden - forbidden0, 1);
    assert.ok(latency - latency0 >= 6, 'every commit attempt (the refused one too) is timed');
    assert.ok(sample(after.text, 'collab_commit_seconds_sum')! > 0);
    assert.ok((sample(after.text, 'collab_op_latency_seconds_count') ?? 0) >= 5);
    assert.ok((sample(after.text, 'collab_sockets') ?? 0) >= 2);
    assert.ok((sample(after.text, 'collab_open_files') ?? 0) >= 1);
    assert.ok(/^process_cpu_user_seconds_total /m.test(after.text), 'process metrics are exported');
  });

  it('no token, password or secret reaches the log output', async () => {
    const password = 'a sturdy passphrase 42'; // what TestServer.user registers with
    const wrongPassword = 'Wr0ng-passw0rd-for-the-log-test';
    const owner = await server.user('log');
    const login = await server.api('POST', '/auth/login', { username: owner.username, password });
    assert.equal(login.status, 200);
    const badLogin = await server.api('POST', '/auth/login', { username: owner.username, password: wrongPassword });
    assert.equal(badLogin.status, 401);
    const malformed = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"username":"x","password":"${wrongPassword}"` });
    assert.equal(malformed.status, 400);
    const badBearer = await server.api('GET', '/rooms', undefined, `${owner.token}x`);
    assert.equal(badBearer.status, 401);
    const tampered = `${owner.token.slice(0, -3)}abc`;
    assert.equal((await handshakeError(server.url, { token: tampered })).data?.code, 'UNAUTHENTICATED');
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'log.txt', 'x');
    const r = await openRaw(server.url, login.body.token as string, roomId, fileId);
    raws.push(r);
    await r.request('op:submit', { roomId, fileId, clientId: r.clientId, seq: 1, baseVersion: 0, op: [1, '!'] });
    await r.request('op:submit', { roomId, fileId, clientId: r.clientId, seq: 2, baseVersion: 9, op: [2, '!'] });
    await r.request('no:such:event', { token: owner.token, password });
    // The logger the app uses redacts the fields that can carry secrets, wherever they are.
    server.app.logger.warn(
      {
        token: owner.token,
        password,
        user: { password, token: owner.token },
        auth: { token: owner.token },
        authorization: `Bearer ${owner.token}`,
        req: { headers: { authorization: `Bearer ${owner.token}` } },
      },
      'redaction probe',
    );

    const output = lines.join('');
    const probe = lines.find((l) => l.includes('redaction probe'));
    assert.ok(probe, 'the capture sees the app’s log lines');
    assert.match(probe, /\[redacted\]/);
    for (const [what, secret] of [
      ['the registration token', owner.token],
      ['the sign-in token', login.body.token as string],
      ['the tampered token', tampered],
      ['the token signature', owner.token.split('.')[2]!],
      ['the password', password],
      ['the wrong password', wrongPassword],
      ['the JWT secret', server.secret],
    ] as const) {
      assert.ok(!output.includes(secret), `${what} appears in the log output`);
    }
    console.log(`      ${lines.length} log lines captured, none with a secret`);
  });
});

// Independent of the suite's database: a server whose own database has gone away.
describe('readiness without a database', () => {
  it('GET /readyz is 503 when the database is unreachable', async function () {
    this.timeout(20_000);
    const db = await openDatabase({ kind: 'memory' });
    const broken = await TestServer.start(db);
    try {
      await db.close();
      const res = await fetch(`${broken.url}/readyz`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, 'unavailable');
      assert.equal((await fetch(`${broken.url}/healthz`)).status, 200, 'liveness does not depend on the database');
    } finally {
      await broken.stop();
    }
  });
});
