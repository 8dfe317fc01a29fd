import { strict as assert } from 'node:assert';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import jwt from 'jsonwebtoken';
import { ErrorCode } from '@collab/protocol';
import type { AccountService } from '../domain/accounts';
import { TokenService } from '../domain/tokens';
import type { Database } from '../storage/database';
import { forEachDatabase } from '../test-support/databases';
import { uniqueUsername, wireServices, type Services, type WireOptions } from '../test-support/service-fixtures';
import { authenticateToken, createHttpApi, httpStatusFor, type HttpLogger } from './http-api';

const PASSWORD = 'correct horse battery staple';
const JWT_SECRET = 'the-http-test-secret-0123456789-abcdefghij';

/** A running API on 127.0.0.1 with its services. */
interface RunningApi {
  readonly base: string;
  readonly s: Services;
  readonly logged: unknown[];
  close(): Promise<void>;
}

async function startApi(db: Database, options: WireOptions = {}, override?: Partial<{ accounts: AccountService }>): Promise<RunningApi> {
  const s = wireServices(db, { jwtSecret: JWT_SECRET, ...options });
  const logged: unknown[] = [];
  const logger: HttpLogger = { error: (obj, msg) => logged.push({ obj, msg }) };
  const app = express();
  app.use('/api', createHttpApi({ accounts: override?.accounts ?? s.accounts, rooms: s.rooms, files: s.files, tokens: s.tokens, logger }));
  const server: Server = await new Promise((resolve) => {
    const srv = app.listen(0, '127.0.0.1', () => resolve(srv));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/api`,
    s,
    logged,
    close: () => new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** One HTTP exchange: status, headers and parsed JSON body (undefined for an empty body). */
interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(api: RunningApi, method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Exchange> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers['content-type'] ??= 'application/json';
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${api.base}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

function expectError(ex: Exchange, status: number, code: string, why = ''): void {
  assert.equal(ex.status, status, `${why} expected ${status} ${code}, got ${ex.status} ${JSON.stringify(ex.body)}`);
  assert.equal(ex.body?.error?.code, code);
  assert.equal(typeof ex.body.error.message, 'string');
}

forEachDatabase('transport: HTTP API', (ctx) => {
  let api: RunningApi;

  before(async () => {
    api = await startApi(ctx.current().db);
  });
  after(async () => {
    await api?.close();
  });
  beforeEach(() => api.s.recorder.clear());

  /** Registers a fresh user through the API; returns its token and user. */
  async function signUp(prefix = 'user'): Promise<{ token: string; user: { id: string; username: string } }> {
    const ex = await call(api, 'POST', '/auth/register', { body: { username: uniqueUsername(prefix), password: PASSWORD } });
    assert.equal(ex.status, 201, JSON.stringify(ex.body));
    return ex.body;
  }

  async function newRoom(token: string, isPrivate = true): Promise<string> {
    const ex = await call(api, 'POST', '/rooms', { token, body: { name: 'Room', isPrivate } });
    assert.equal(ex.status, 201, JSON.stringify(ex.body));
    return ex.body.room.roomId as string;
  }

  describe('accounts', () => {
    it('registers and logs in, returning {token, user}, uncacheable', async () => {
      const username = uniqueUsername('Ada');
      const reg = await call(api, 'POST', '/auth/register', { body: { username, email: `${username}@example.org`, password: PASSWORD } });
      assert.equal(reg.status, 201);
      assert.deepEqual(Object.keys(reg.body).sort(), ['token', 'user']);
      assert.equal(reg.body.user.username, username);
      assert.equal(reg.headers.get('cache-control'), 'no-store');
      const login = await call(api, 'POST', '/auth/login', { body: { username: username.toLowerCase(), password: PASSWORD } });
      assert.equal(login.status, 200);
      assert.equal(login.body.user.id, reg.body.user.id);
      const rooms = await call(api, 'GET', '/rooms', { token: login.body.token });
      assert.equal(rooms.status, 200);
      assert.deepEqual(rooms.body, { rooms: [] });
    });

    it('refuses a username taken in another case with 409 USERNAME_TAKEN', async () => {
      const username = uniqueUsername('Grace');
      await call(api, 'POST', '/auth/register', { body: { username, password: PASSWORD } });
      expectError(await call(api, 'POST', '/auth/register', { body: { username: username.toUpperCase(), password: PASSWORD } }), 409, ErrorCode.USERNAME_TAKEN);
    });

    it('refuses weak passwords with 400 WEAK_PASSWORD and a reason', async () => {
      const username = uniqueUsername();
      for (const [password, why] of [
        ['short', /at least 10/],
        [username, /username/],
        ['zzzzzzzzzzzzzz', /repeated/],
        ['Password123', /common/],
      ] as const) {
        const ex = await call(api, 'POST', '/auth/register', { body: { username, password } });
        expectError(ex, 400, ErrorCode.WEAK_PASSWORD);
        assert.match(ex.body.error.message, why);
      }
    });

    it('answers 401 BAD_CREDENTIALS alike for a wrong password and an unknown user', async () => {
      const { user } = await signUp();
      const wrong = await call(api, 'POST', '/auth/login', { body: { username: user.username, password: 'not my password' } });
      const unknown = await call(api, 'POST', '/auth/login', { body: { username: uniqueUsername('ghost'), password: PASSWORD } });
      expectError(wrong, 401, ErrorCode.BAD_CREDENTIALS);
      assert.deepEqual(wrong.body, unknown.body);
      assert.equal(wrong.status, unknown.status);
    });

    it('refuses malformed bodies with 400 INVALID_MESSAGE', async () => {
      expectError(await call(api, 'POST', '/auth/register', { body: { username: 'abc' } }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', '/auth/register', { body: { username: 'abcdef', password: PASSWORD, admin: true } }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', '/auth/register', { body: { username: 'a b', password: PASSWORD } }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', '/auth/login', { body: [1, 2] }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', '/auth/login', { raw: '{"username": ' }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', '/auth/login', { raw: 'username=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 400, ErrorCode.INVALID_MESSAGE);
    });

    it('trips the login rate limit with 429 RATE_LIMITED and Retry-After', async () => {
      const limited = await startApi(ctx.current().db, { loginLimits: { perUsername: { capacity: 3, refillPerSecond: 1 / 60 }, perClient: { capacity: 100, refillPerSecond: 1 } } });
      try {
        const username = uniqueUsername();
        assert.equal((await call(limited, 'POST', '/auth/register', { body: { username, password: PASSWORD } })).status, 201);
        for (let i = 0; i < 3; i++) {
          expectError(await call(limited, 'POST', '/auth/login', { body: { username, password: 'wrong password' } }), 401, ErrorCode.BAD_CREDENTIALS);
        }
        const ex = await call(limited, 'POST', '/auth/login', { body: { username, password: PASSWORD } });
        expectError(ex, 429, ErrorCode.RATE_LIMITED);
        assert.equal(ex.headers.get('retry-after'), '60');
        const wait = ex.body.error.retryAfterMs as number;
        assert.ok(wait > 50_000 && wait <= 60_000, `retryAfterMs ${wait}`);
      } finally {
        await limited.close();
      }
    });

    it('trips the sign-up limit per client with 429 RATE_LIMITED and Retry-After, before any hash', async () => {
      const limited = await startApi(ctx.current().db, { registrationLimit: { capacity: 2, refillPerSecond: 1 / 1800 } });
      try {
        for (let i = 0; i < 2; i++) assert.equal((await call(limited, 'POST', '/auth/register', { body: { username: uniqueUsername(), password: PASSWORD } })).status, 201);
        const username = uniqueUsername();
        const ex = await call(limited, 'POST', '/auth/register', { body: { username, password: PASSWORD } });
        expectError(ex, 429, ErrorCode.RATE_LIMITED);
        const wait = ex.body.error.retryAfterMs as number;
        assert.ok(wait > 1_700_000 && wait <= 1_800_000, `retryAfterMs ${wait}`);
        assert.equal(ex.headers.get('retry-after'), String(Math.ceil(wait / 1000)));
        assert.equal(await limited.s.users.findByUsername(username), undefined, 'nothing stored');
      } finally {
        await limited.close();
      }
    });

    it('never logs a password, even when the handler fails unexpectedly', async () => {
      const failing = { login: () => Promise.reject(new Error('database is down')), register: () => Promise.reject(new Error('database is down')) } as unknown as AccountService;
      const broken = await startApi(ctx.current().db, {}, { accounts: failing });
      try {
        const secret = 'my-very-secret-password';
        expectError(await call(broken, 'POST', '/auth/login', { body: { username: 'someone', password: secret } }), 500, ErrorCode.INTERNAL);
        expectError(await call(broken, 'POST', '/auth/login', { raw: `{"password": "${secret}"` }), 400, ErrorCode.INVALID_MESSAGE);
        assert.equal(broken.logged.length, 1);
        assert.match(JSON.stringify(broken.logged), /database is down/);
        assert.doesNotMatch(JSON.stringify(broken.logged), new RegExp(secret));
      } finally {
        await broken.close();
      }
    });
  });

  describe('authentication', () => {
    let good: { token: string; user: { id: string; username: string } };
    before(async () => {
      good = await signUp();
    });

    function claims(extra: object = {}) {
      const now = Math.floor(Date.now() / 1000);
      return { sub: good.user.id, username: good.user.username, iss: 'collab', iat: now, exp: now + 3600, ...extra };
    }

    function b64(v: object): string {
      return Buffer.from(JSON.stringify(v)).toString('base64url');
    }

    it('requires a bearer token', async () => {
      const ex = await call(api, 'GET', '/rooms');
      expectError(ex, 401, ErrorCode.UNAUTHENTICATED);
      assert.match(ex.headers.get('www-authenticate') ?? '', /^Bearer/);
      expectError(await call(api, 'GET', '/rooms', { headers: { authorization: `Basic ${good.token}` } }), 401, ErrorCode.UNAUTHENTICATED);
      assert.equal((await call(api, 'GET', '/rooms', { token: good.token })).status, 200);
    });

    it('refuses expired tokens with 401 TOKEN_EXPIRED', async () => {
      const past = Date.now() - 13 * 3600 * 1000;
      const user = { id: good.user.id, username: good.user.username };
      const issuedLongAgo = new TokenService({ secret: JWT_SECRET, now: () => past }).sign(user);
      expectError(await call(api, 'GET', '/rooms', { token: issuedLongAgo }), 401, ErrorCode.TOKEN_EXPIRED);
      const library = jwt.sign({ username: user.username }, JWT_SECRET, { algorithm: 'HS256', expiresIn: -10, issuer: 'collab', subject: user.id });
      expectError(await call(api, 'GET', '/rooms', { token: library }), 401, ErrorCode.TOKEN_EXPIRED);
      const otherSecret = new TokenService({ secret: `${JWT_SECRET}-other`, now: () => past }).sign(user);
      expectError(await call(api, 'GET', '/rooms', { token: otherSecret }), 401, ErrorCode.UNAUTHENTICATED, 'a forged expired token is not TOKEN_EXPIRED');
    });

    it('refuses tampered, alg:none and wrong-secret tokens with 401 UNAUTHENTICATED', async () => {
      const [header, , signature] = good.token.split('.') as [string, string, string];
      const tampered = `${header}.${b64(claims({ username: 'root' }))}.${signature}`;
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
      const unsignedHs = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}.`;
      const wrongSecretInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}`;
      const wrongSecret = `${wrongSecretInput}.${createHmac('sha256', 'not-the-server-secret-at-all-0123456789').update(wrongSecretInput).digest('base64url')}`;
      const library = jwt.sign(claims(), 'another-secret-another-secret-another', { algorithm: 'HS256' });
      for (const token of [tampered, none, unsignedHs, wrongSecret, library, 'garbage', 'a.b.c']) {
        expectError(await call(api, 'GET', '/rooms', { token }), 401, ErrorCode.UNAUTHENTICATED);
      }
    });

    it('exposes authenticateToken for the socket handshake', () => {
      const verified = authenticateToken(api.s.tokens, good.token);
      assert.ok(verified.ok);
      assert.equal(verified.value.userId, good.user.id);
      assert.equal(verified.value.username, good.user.username);
      assert.ok(Math.abs(verified.value.expiresAt - (Date.now() + 12 * 3600 * 1000)) < 5000, 'expires in 12 h');
      const missing = authenticateToken(api.s.tokens, undefined);
      assert.ok(!missing.ok);
      assert.equal(missing.error.code, ErrorCode.UNAUTHENTICATED);
    });
  });

  describe('rooms', () => {
    it('runs a room through its lifecycle, emitting events', async () => {
      const owner = await signUp('owner');
      const bob = await signUp('bob');
      const roomId = await newRoom(owner.token);

      const listed = await call(api, 'GET', '/rooms', { token: owner.token });
      assert.deepEqual(listed.body.rooms.map((r: { roomId: string; role: string }) => [r.roomId, r.role]), [[roomId, 'owner']]);

      const invited = await call(api, 'POST', `/rooms/${roomId}/participants`, { token: owner.token, body: { username: bob.user.username, role: 'viewer' } });
      assert.equal(invited.status, 201);
      assert.equal(invited.body.participant.role, 'viewer');

      const got = await call(api, 'GET', `/rooms/${roomId}`, { token: bob.token });
      assert.equal(got.status, 200);
      assert.equal(got.body.role, 'viewer');
      assert.deepEqual(got.body.participants.map((p: { role: string }) => p.role), ['owner', 'viewer']);

      const promoted = await call(api, 'PATCH', `/rooms/${roomId}/participants/${bob.user.id}`, { token: owner.token, body: { role: 'editor' } });
      assert.equal(promoted.status, 200);
      assert.equal(promoted.body.participant.role, 'editor');

      const removed = await call(api, 'DELETE', `/rooms/${roomId}/participants/${bob.user.id}`, { token: owner.token });
      assert.equal(removed.status, 204);
      expectError(await call(api, 'GET', `/rooms/${roomId}`, { token: bob.token }), 404, ErrorCode.ROOM_NOT_FOUND);

      assert.equal((await call(api, 'DELETE', `/rooms/${roomId}`, { token: owner.token })).status, 204);
      expectError(await call(api, 'GET', `/rooms/${roomId}`, { token: owner.token }), 404, ErrorCode.ROOM_NOT_FOUND);
      assert.deepEqual(api.s.recorder.names(), ['participantAdded', 'roleChanged', 'participantRemoved', 'roomDeleted']);
    });

    it('enforces roles: only the owner manages the room', async () => {
      const owner = await signUp('owner');
      const editor = await signUp('editor');
      const roomId = await newRoom(owner.token);
      await call(api, 'POST', `/rooms/${roomId}/participants`, { token: owner.token, body: { username: editor.user.username, role: 'editor' } });
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/participants/${owner.user.id}`, { token: editor.token, body: { role: 'viewer' } }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/participants/${editor.user.id}`, { token: editor.token, body: { role: 'viewer' } }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'DELETE', `/rooms/${roomId}/participants/${owner.user.id}`, { token: owner.token }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/participants/${owner.user.id}`, { token: owner.token, body: { role: 'viewer' } }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'DELETE', `/rooms/${roomId}`, { token: editor.token }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'POST', `/rooms/${roomId}/participants`, { token: editor.token, body: { username: 'whoever', role: 'editor' } }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/participants/${editor.user.id}`, { token: owner.token, body: { role: 'owner' } }), 400, ErrorCode.INVALID_MESSAGE);
    });

    it('hides a private room from non-participants, even with the right id', async () => {
      const owner = await signUp('owner');
      const stranger = await signUp('stranger');
      const roomId = await newRoom(owner.token);
      const real = await call(api, 'GET', `/rooms/${roomId}`, { token: stranger.token });
      const guessed = await call(api, 'GET', '/rooms/AAAAAAAAAAAAAAAAAAAAAA', { token: stranger.token });
      expectError(real, 404, ErrorCode.ROOM_NOT_FOUND);
      assert.deepEqual(real.body, guessed.body);
      expectError(await call(api, 'GET', `/rooms/${roomId}/files`, { token: stranger.token }), 404, ErrorCode.ROOM_NOT_FOUND);
      expectError(await call(api, 'DELETE', `/rooms/${roomId}`, { token: stranger.token }), 404, ErrorCode.ROOM_NOT_FOUND);
      expectError(await call(api, 'POST', `/rooms/${roomId}/join`, { token: stranger.token }), 403, ErrorCode.NOT_A_PARTICIPANT);
    });

    it('admits a signed-in user to a public room as a viewer', async () => {
      const owner = await signUp('owner');
      const visitor = await signUp('visitor');
      const roomId = await newRoom(owner.token, false);
      const joined = await call(api, 'POST', `/rooms/${roomId}/join`, { token: visitor.token });
      assert.equal(joined.status, 200);
      assert.equal(joined.body.you.role, 'viewer');
      assert.equal(joined.body.added, true);
      assert.equal(joined.body.room.roomId, roomId);
      assert.deepEqual(joined.body.participants.map((p: { role: string }) => p.role), ['owner', 'viewer']);
      assert.equal(joined.body.roomUuid, undefined, 'the internal id is not sent');
      assert.equal(api.s.recorder.of('participantAdded')[0]?.participant.userId, visitor.user.id);
      const again = await call(api, 'POST', `/rooms/${roomId}/join`, { token: visitor.token });
      assert.equal(again.body.added, false);
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: visitor.token, body: { path: 'a.txt', language: 'plaintext', content: '' } }), 403, ErrorCode.FORBIDDEN);
    });

    it('handles join requests: approve and deny', async () => {
      const owner = await signUp('owner');
      const alice = await signUp('alice');
      const bob = await signUp('bob');
      const roomId = await newRoom(owner.token);

      const askA = await call(api, 'POST', `/rooms/${roomId}/join-requests`, { token: alice.token, body: { role: 'editor' } });
      assert.equal(askA.status, 201);
      const askAagain = await call(api, 'POST', `/rooms/${roomId}/join-requests`, { token: alice.token, body: { role: 'editor' } });
      assert.equal(askAagain.status, 200);
      assert.equal(askAagain.body.requestId, askA.body.requestId);
      const askB = await call(api, 'POST', `/rooms/${roomId}/join-requests`, { token: bob.token, body: { role: 'viewer' } });

      const pending = await call(api, 'GET', `/rooms/${roomId}/join-requests`, { token: owner.token });
      assert.deepEqual(pending.body.requests.map((r: { user: { id: string } }) => r.user.id), [alice.user.id, bob.user.id]);
      expectError(await call(api, 'GET', `/rooms/${roomId}/join-requests`, { token: alice.token }), 404, ErrorCode.ROOM_NOT_FOUND);
      expectError(await call(api, 'POST', `/rooms/${roomId}/join-requests/${askB.body.requestId}`, { token: alice.token, body: { decision: 'editor' } }), 404, ErrorCode.ROOM_NOT_FOUND);

      const approve = await call(api, 'POST', `/rooms/${roomId}/join-requests/${askA.body.requestId}`, { token: owner.token, body: { decision: 'editor' } });
      assert.deepEqual([approve.status, approve.body], [200, { resolved: true }]);
      const deny = await call(api, 'POST', `/rooms/${roomId}/join-requests/${askB.body.requestId}`, { token: owner.token, body: { decision: 'deny' } });
      assert.deepEqual([deny.status, deny.body], [200, { resolved: true }]);

      assert.equal((await call(api, 'POST', `/rooms/${roomId}/join`, { token: alice.token })).body.you.role, 'editor');
      expectError(await call(api, 'POST', `/rooms/${roomId}/join`, { token: bob.token }), 403, ErrorCode.NOT_A_PARTICIPANT);
      assert.deepEqual(api.s.recorder.names(), ['joinRequested', 'joinRequested', 'participantAdded', 'joinResolved', 'joinResolved']);
      assert.deepEqual(api.s.recorder.of('joinRequested').map((e) => e.ownerId), [owner.user.id, owner.user.id]);
      assert.deepEqual(api.s.recorder.of('joinResolved').map((e) => e.decision), ['editor', 'deny']);
    });

    it('refuses a room beyond the quota with 409 TOO_MANY_ROOMS', async () => {
      const small = await startApi(ctx.current().db, { limits: { maxRoomsPerUser: 1 } });
      try {
        const reg = await call(small, 'POST', '/auth/register', { body: { username: uniqueUsername(), password: PASSWORD } });
        assert.equal((await call(small, 'POST', '/rooms', { token: reg.body.token, body: {} })).status, 201);
        expectError(await call(small, 'POST', '/rooms', { token: reg.body.token, body: {} }), 409, ErrorCode.TOO_MANY_ROOMS);
      } finally {
        await small.close();
      }
    });
  });

  describe('files', () => {
    let owner: { token: string; user: { id: string; username: string } };
    let viewer: { token: string; user: { id: string; username: string } };
    let roomId: string;
    before(async () => {
      owner = await signUp('owner');
      viewer = await signUp('viewer');
      roomId = await newRoom(owner.token);
      await call(api, 'POST', `/rooms/${roomId}/participants`, { token: owner.token, body: { username: viewer.user.username, role: 'viewer' } });
    });

    it('creates, lists, renames and deletes files, emitting events', async () => {
      const created = await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'src//index.ts', language: 'typescript', content: 'export {};\n' } });
      assert.equal(created.status, 201);
      assert.deepEqual({ ...created.body.file, id: undefined }, { id: undefined, path: 'src/index.ts', language: 'typescript', version: 0 });
      const fileId = created.body.file.id as string;
      const listed = await call(api, 'GET', `/rooms/${roomId}/files`, { token: viewer.token });
      assert.deepEqual(listed.body.files.map((f: { id: string }) => f.id), [fileId]);
      const renamed = await call(api, 'PATCH', `/rooms/${roomId}/files/${fileId}`, { token: owner.token, body: { path: 'src/main.ts' } });
      assert.equal(renamed.body.file.path, 'src/main.ts');
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'src/main.ts', language: 'typescript', content: '' } }), 409, ErrorCode.PATH_TAKEN);
      assert.equal((await call(api, 'DELETE', `/rooms/${roomId}/files/${fileId}`, { token: owner.token })).status, 204);
      expectError(await call(api, 'DELETE', `/rooms/${roomId}/files/${fileId}`, { token: owner.token }), 404, ErrorCode.FILE_NOT_FOUND);
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/files/not-a-file`, { token: owner.token, body: { path: 'x' } }), 404, ErrorCode.FILE_NOT_FOUND);
      assert.deepEqual(api.s.recorder.names(), ['fileCreated', 'fileRenamed', 'fileDeleted']);
    });

    it('refuses viewers with 403 FORBIDDEN', async () => {
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: viewer.token, body: { path: 'v.txt', language: 'plaintext', content: '' } }), 403, ErrorCode.FORBIDDEN);
      const f = await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'keep.txt', language: 'plaintext', content: '' } });
      expectError(await call(api, 'PATCH', `/rooms/${roomId}/files/${f.body.file.id}`, { token: viewer.token, body: { path: 'moved.txt' } }), 403, ErrorCode.FORBIDDEN);
      expectError(await call(api, 'DELETE', `/rooms/${roomId}/files/${f.body.file.id}`, { token: viewer.token }), 403, ErrorCode.FORBIDDEN);
    });

    for (const path of ['../x', '/etc/passwd', 'a/../../b', 'a\u0000b', '..', 'C:\\boot.ini']) {
      it(`refuses the path ${JSON.stringify(path)} with 400 INVALID_PATH`, async () => {
        expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path, language: 'plaintext', content: '' } }), 400, ErrorCode.INVALID_PATH);
      });
    }

    it('refuses non-canonical content and bad fields with 400', async () => {
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'crlf.txt', language: 'plaintext', content: 'a\r\nb' } }), 400, ErrorCode.INVALID_TEXT);
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'x.txt', language: 'plaintext' } }), 400, ErrorCode.INVALID_MESSAGE);
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'x.txt', language: 'plain text', content: '' } }), 400, ErrorCode.INVALID_MESSAGE);
    });

    it('accepts a 2 Mi-unit file and refuses a body over the JSON limit with 413', async function () {
      this.timeout(20_000);
      const big = 'x'.repeat(2 * 1024 * 1024);
      const ok = await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'big.txt', language: 'plaintext', content: big } });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
      expectError(await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'big2.txt', language: 'plaintext', content: `${big}y` } }), 400, ErrorCode.OP_TOO_LARGE);
      const huge = await call(api, 'POST', `/rooms/${roomId}/files`, { token: owner.token, body: { path: 'huge.txt', language: 'plaintext', content: 'x'.repeat(9 * 1024 * 1024) } });
      expectError(huge, 413, ErrorCode.INVALID_MESSAGE);
    });
  });
});

describe('transport: HTTP status mapping', () => {
  it('maps codes to statuses', () => {
    const cases: [string, number][] = [
      [ErrorCode.UNAUTHENTICATED, 401],
      [ErrorCode.TOKEN_EXPIRED, 401],
      [ErrorCode.BAD_CREDENTIALS, 401],
      [ErrorCode.FORBIDDEN, 403],
      [ErrorCode.NOT_A_PARTICIPANT, 403],
      [ErrorCode.ROOM_NOT_FOUND, 404],
      [ErrorCode.FILE_NOT_FOUND, 404],
      [ErrorCode.USERNAME_TAKEN, 409],
      [ErrorCode.PATH_TAKEN, 409],
      [ErrorCode.TOO_MANY_FILES, 409],
      [ErrorCode.TOO_MANY_ROOMS, 409],
      [ErrorCode.RATE_LIMITED, 429],
      [ErrorCode.INVALID_MESSAGE, 400],
      [ErrorCode.INVALID_PATH, 400],
      [ErrorCode.WEAK_PASSWORD, 400],
      [ErrorCode.INTERNAL, 500],
      [ErrorCode.UNAVAILABLE, 503],
    ];
    for (const [code, status] of cases) assert.equal(httpStatusFor(code as ErrorCode), status, code);
  });
});
