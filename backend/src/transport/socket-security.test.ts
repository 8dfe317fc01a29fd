/**
 * Who may do what, through real sockets: roles changing under live connections, removal, access to
 * other rooms' files, the handshake's token checks (and expiry during a connection), path
 * traversal, and join requests. Every refusal is checked to have changed nothing in the database.
 */
import { strict as assert } from 'node:assert';
import jwt from 'jsonwebtoken';
import { textHash } from '@collab/protocol';
import type { CollabClient } from '@collab/client';
import { forEachDatabase } from '../test-support/databases';
import {
  assertOk,
  assertRefused,
  clientId,
  handshakeError,
  nextEvent,
  openRaw,
  rawSocket,
  sleep,
  tableCounts,
  testTimeout,
  waitUntil,
  type RawSocket,
} from '../test-support/sockets';
import { TestServer, type TestUser } from '../test-support/test-app';

forEachDatabase('roles and access through sockets', (ctx) => {
  let server: TestServer;
  let owner: TestUser;
  const clients: CollabClient[] = [];
  const raws: RawSocket[] = [];
  testTimeout(20_000);

  before(async () => {
    server = await TestServer.start(ctx.current().db);
    owner = await server.user('owner');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await server?.stop();
  });

  const knex = () => server.app.database.knex;
  async function connect(user: TestUser): Promise<CollabClient> {
    const c = await server.connect(user);
    clients.push(c);
    return c;
  }
  function track<T extends RawSocket>(r: T): T {
    raws.push(r);
    return r;
  }
  async function member(roomId: string, role: 'editor' | 'viewer', prefix: string = role): Promise<TestUser> {
    const u = await server.user(prefix);
    await server.invite(owner, roomId, u, role);
    return u;
  }

  it('a viewer’s forged op:submit from a raw socket is FORBIDDEN and writes nothing', async () => {
    const roomId = await server.room(owner);
    const viewer = await member(roomId, 'viewer');
    const fileId = await server.file(owner, roomId, 'ro.txt', 'read only');
    const v = track(await openRaw(server.url, viewer.token, roomId, fileId));
    const counts = await tableCounts(knex());
    const forged = { roomId, fileId, clientId: v.clientId, seq: 1, baseVersion: 0, op: ['pwned ', 9] };
    assertRefused(await v.request('op:submit', forged), 'FORBIDDEN');
    // The same op under another clientId, a later seq, or a huge seq: still refused.
    assertRefused(await v.request('op:submit', { ...forged, seq: 2 }), 'FORBIDDEN');
    assertRefused(await v.request('op:submit', { ...forged, seq: Number.MAX_SAFE_INTEGER }), 'FORBIDDEN');
    assertRefused(await v.request('op:submit', { ...forged, clientId: clientId() }), 'CLIENT_ID_TAKEN');
    // File management is for editors too.
    assertRefused(await v.request('file:create', { roomId, path: 'v.txt', language: 'plaintext', content: 'x' }), 'FORBIDDEN');
    assertRefused(await v.request('file:rename', { roomId, fileId, path: 'renamed.txt' }), 'FORBIDDEN');
    assertRefused(await v.request('file:delete', { roomId, fileId }), 'FORBIDDEN');
    // And owner actions are for the owner only.
    assertRefused(await v.request('participant:setRole', { roomId, userId: viewer.id, role: 'editor' }), 'FORBIDDEN');
    assertRefused(await v.request('room:delete', { roomId }), 'FORBIDDEN');
    assert.deepEqual(await tableCounts(knex()), counts);
    assert.deepEqual(await server.storedText(fileId), { version: 0, text: 'read only' });
    assert.equal((await knex()('files').where({ id: fileId }).first('name')).name, 'ro.txt');
    assert.equal((await knex()('room_participants').where({ user_id: viewer.id }).first('role')).role, 'viewer');
  });

  it('an editor demoted over REST gets role:changed live and its next op is refused, without reconnecting', async () => {
    const roomId = await server.room(owner);
    const ed = await member(roomId, 'editor');
    const fileId = await server.file(owner, roomId, 'demote.txt', 'base\n');
    const e = await connect(ed);
    await e.joinRoom(roomId);
    const doc = await e.openFile(roomId, fileId);
    doc.type(doc.text.length, 'while editor\n');
    await doc.synced();
    assert.deepEqual(await server.storedText(fileId), { version: 1, text: 'base\nwhile editor\n' });
    const sid = e.socket.id;

    const changed = nextEvent(e.socket, 'role:changed');
    const r = await server.api('PATCH', `/rooms/${roomId}/participants/${ed.id}`, { role: 'viewer' }, owner.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(await changed, { roomId, role: 'viewer' });

    doc.type(0, 'after demotion ');
    await doc.synced();
    assert.ok(doc.effects.some((x) => x.type === 'rolledBack' && x.error.code === 'FORBIDDEN'), 'rolled back with FORBIDDEN');
    assert.equal(doc.text, 'base\nwhile editor\n');
    assert.equal(e.socket.id, sid, 'the same connection');
    assert.deepEqual(await server.storedText(fileId), { version: 1, text: 'base\nwhile editor\n' });
    assert.equal((await knex()('file_ops').where({ file_id: fileId })).length, 1);
  });

  it('a viewer promoted by the owner’s participant:setRole can type at once, without reconnecting', async () => {
    const roomId = await server.room(owner);
    const viewer = await member(roomId, 'viewer');
    const fileId = await server.file(owner, roomId, 'promote.txt', '');
    const o = await connect(owner);
    await o.joinRoom(roomId);
    const v = await connect(viewer);
    await v.joinRoom(roomId);
    const doc = await v.openFile(roomId, fileId);
    const sid = v.socket.id;
    doc.type(0, 'refused');
    await doc.synced();
    assert.equal(doc.text, '');

    const changed = nextEvent(v.socket, 'role:changed');
    // Earlier updates of the viewer (coming online, opening the file) may still be on their way in
    // a coalesced frame (PROTOCOL.md §11.7): wait for the one that announces the promotion.
    const updated = nextEvent(o.socket, 'participant:updated', 5000, (p: { userId: string; role: string }) => p.userId === viewer.id && p.role === 'editor');
    assertOk(await o.request('participant:setRole', { roomId, userId: viewer.id, role: 'editor' }));
    assert.deepEqual(await changed, { roomId, role: 'editor' });
    assert.equal((await updated).role, 'editor');

    doc.type(0, 'now an editor');
    await doc.synced();
    assert.equal(v.socket.id, sid);
    assert.deepEqual(await server.storedText(fileId), { version: 1, text: 'now an editor' });
    assert.equal(doc.text, 'now an editor');
  });

  it('a removed participant gets room:removed at once, and its next requests are refused without a reconnect', async () => {
    const roomId = await server.room(owner);
    const ed = await member(roomId, 'editor');
    const fileId = await server.file(owner, roomId, 'remove.txt', 'abc');
    const o = await connect(owner);
    await o.joinRoom(roomId);
    const od = await o.openFile(roomId, fileId);
    const r = track(await openRaw(server.url, ed.token, roomId, fileId));
    assertOk(await r.request('op:submit', { roomId, fileId, clientId: r.clientId, seq: 1, baseVersion: 0, op: [3, '!'] }));
    await od.synced(5000, 1);
    const sid = r.socket.id;

    const removed = nextEvent(r.socket, 'room:removed');
    const left = nextEvent(o.socket, 'participant:left', 5000, (p: { userId: string }) => p.userId === ed.id);
    assertOk(await o.request('participant:remove', { roomId, userId: ed.id }));
    assert.deepEqual(await removed, { roomId, reason: 'removed' });
    await left;

    const counts = await tableCounts(knex());
    const seenOps = r.events('op').length;
    assertRefused(await r.request('op:submit', { roomId, fileId, clientId: r.clientId, seq: 2, baseVersion: 1, op: [4, '?'] }), 'NOT_JOINED');
    assertRefused(await r.request('file:open', { roomId, fileId, clientId: r.clientId }), 'NOT_JOINED');
    assertRefused(await r.request('ops:fetch', { roomId, fileId, from: 1, to: 1 }), 'NOT_JOINED');
    assertRefused(await r.request('room:join', { roomId }), 'NOT_A_PARTICIPANT');
    assertRefused(await r.request('file:open', { roomId, fileId, clientId: r.clientId }), 'NOT_JOINED');
    assert.equal(r.socket.id, sid, 'the same connection');
    assert.equal(r.socket.connected, true);
    // It is no longer subscribed to the file: the owner's next op does not reach it.
    od.type(0, '>');
    await od.synced();
    await sleep(100);
    assert.equal(r.events('op').length, seenOps, 'no op broadcast after removal');
    // Only the owner's op (and its client's first progress row) was written.
    assert.deepEqual(await tableCounts(knex()), { ...counts, file_ops: counts['file_ops']! + 1, client_progress: counts['client_progress']! + 1 });
    assert.deepEqual(await server.storedText(fileId), { version: 2, text: '>abc!' });
    assert.equal(await knex()('room_participants').where({ user_id: ed.id }).first(), undefined);
  });

  it('a non-participant can neither join a private room nor reach its files with a guessed id', async () => {
    const victimRoom = await server.room(owner);
    const secretFile = await server.file(owner, victimRoom, 'secret.txt', 'top secret');
    const intruder = await server.user('intruder');
    const ownRoom = await server.room(intruder);
    const ownFile = await server.file(intruder, ownRoom, 'mine.txt', 'mine');
    const o = await connect(owner);
    await o.joinRoom(victimRoom);
    const od = await o.openFile(victimRoom, secretFile);
    const x = track(await rawSocket(server.url, intruder.token));
    const cid = clientId();
    const counts = await tableCounts(knex());

    assertRefused(await x.request('room:join', { roomId: victimRoom }), 'NOT_A_PARTICIPANT');
    assertRefused(await x.request('file:open', { roomId: victimRoom, fileId: secretFile, clientId: cid }), 'NOT_JOINED');
    assertRefused(await x.request('op:submit', { roomId: victimRoom, fileId: secretFile, clientId: cid, seq: 1, baseVersion: 0, op: ['x', 10] }), 'NOT_JOINED');
    assertOk(await x.request('room:join', { roomId: ownRoom }));
    // Their own room with the victim's file id: not found (and not bound to a clientId).
    assertRefused(await x.request('file:open', { roomId: ownRoom, fileId: secretFile, clientId: cid }), 'FILE_NOT_FOUND');
    assertRefused(await x.request('file:open', { roomId: ownRoom, fileId: secretFile, clientId: cid, knownVersion: 0 }), 'FILE_NOT_FOUND');
    assertRefused(await x.request('file:open', { roomId: victimRoom, fileId: secretFile, clientId: cid }), 'NOT_JOINED');
    assertRefused(await x.request('op:submit', { roomId: ownRoom, fileId: secretFile, clientId: cid, seq: 1, baseVersion: 0, op: ['x', 10] }), 'NOT_JOINED');
    assertRefused(await x.request('ops:fetch', { roomId: ownRoom, fileId: secretFile, from: 1, to: 10 }), 'NOT_JOINED');
    assertRefused(await x.request('file:verify', { roomId: ownRoom, fileId: secretFile, version: 0, hash: textHash('top secret') }), 'NOT_JOINED');
    assertRefused(await x.request('file:rename', { roomId: ownRoom, fileId: secretFile, path: 'stolen.txt' }), 'FILE_NOT_FOUND');
    assertRefused(await x.request('file:delete', { roomId: ownRoom, fileId: secretFile }), 'FILE_NOT_FOUND');
    // Their own file, not opened: ops:fetch and file:verify need the file open.
    assertRefused(await x.request('ops:fetch', { roomId: ownRoom, fileId: ownFile, from: 1, to: 1 }), 'NOT_JOINED');
    assertRefused(await x.request('file:verify', { roomId: ownRoom, fileId: ownFile, version: 0, hash: textHash('mine') }), 'NOT_JOINED');
    // A cursor on the victim's file is refused through session:error and relayed to nobody.
    const err = nextEvent(x.socket, 'session:error');
    x.socket.emit('cursor:update', { roomId: ownRoom, fileId: secretFile, version: 0, selections: [{ anchor: 0, head: 3 }] });
    assert.equal((await err).code, 'NOT_JOINED');
    // The owner keeps typing; the intruder sees none of it.
    od.type(0, 'more ');
    await od.synced();
    await sleep(100);
    for (const name of ['op', 'cursor', 'participant:joined', 'participant:updated', 'file:created']) {
      assert.deepEqual(x.events(name).filter((p) => JSON.stringify(p).includes(victimRoom) || JSON.stringify(p).includes(secretFile)), [], name);
    }
    assert.equal(o.received.filter(([e]) => e === 'cursor').length, 0);
    assert.deepEqual(await tableCounts(knex()), { ...counts, file_ops: counts['file_ops']! + 1, client_progress: counts['client_progress']! + 1 });
    assert.deepEqual(await server.storedText(secretFile), { version: 1, text: 'more top secret' });
    assert.equal(await knex()('client_ids').where({ client_id: cid }).first(), undefined);
  });

  it('file:create and file:rename refuse path traversal with INVALID_PATH and create nothing', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'ok.txt', 'ok');
    const o = track(await rawSocket(server.url, owner.token));
    assertOk(await o.request('room:join', { roomId }));
    const counts = await tableCounts(knex());
    const bad = ['../x', '/etc/passwd', 'a/../../b', 'C:\\x', 'C:/x', 'a\u0000b', '..', 'a/..', '\\\\server\\share', 'a\\b', '', '.', './', 'x\u007f'];
    for (const path of bad) {
      assertRefused(await o.request('file:create', { roomId, path, language: 'plaintext', content: 'x' }), 'INVALID_PATH', JSON.stringify(path));
      assertRefused(await o.request('file:rename', { roomId, fileId, path }), 'INVALID_PATH', JSON.stringify(path));
    }
    assert.deepEqual(await tableCounts(knex()), counts);
    assert.equal((await knex()('files').where({ id: fileId }).first('name')).name, 'ok.txt');
    // A sound path is normalised and accepted: the same socket can still create files.
    const made = assertOk(await o.request('file:create', { roomId, path: './src//a.ts/', language: 'typescript', content: '' }));
    assert.equal(made['file'].path, 'src/a.ts');
  });

  it('a join request travels over sockets: owner notified, answers viewer, requester resolved and joins as viewer', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'req.txt', 'hello');
    const o = await connect(owner);
    await o.joinRoom(roomId);
    const asker = await server.user('asker');
    const a = track(await rawSocket(server.url, asker.token));
    assertRefused(await a.request('room:join', { roomId }), 'NOT_A_PARTICIPANT');

    const notified = nextEvent(o.socket, 'joinRequest');
    const asked = assertOk(await a.request('room:requestJoin', { roomId, role: 'editor' }));
    const requestId = asked['requestId'] as string;
    assert.deepEqual(await notified, { roomId, requestId, user: { id: asker.id, username: asker.username }, role: 'editor' });
    // Asking again returns the same pending request.
    assert.equal(assertOk(await a.request('room:requestJoin', { roomId, role: 'editor' }))['requestId'], requestId);
    // Only the owner answers: a non-participant learns nothing of the private room (threat model:
    // ROOM_NOT_FOUND, as for a wrong id), an editor is FORBIDDEN.
    assertRefused(await a.request('room:answerJoin', { roomId, requestId, decision: 'editor' }), 'ROOM_NOT_FOUND');
    const ed = await member(roomId, 'editor');
    const e = track(await rawSocket(server.url, ed.token));
    assertRefused(await e.request('room:answerJoin', { roomId, requestId, decision: 'editor' }), 'FORBIDDEN');
    assert.equal(await knex()('room_participants').where({ user_id: asker.id }).first(), undefined);

    const resolved = nextEvent(a.socket, 'joinRequest:resolved');
    assertOk(await o.request('room:answerJoin', { roomId, requestId, decision: 'viewer' }));
    assert.deepEqual(await resolved, { roomId, requestId, decision: 'viewer' });
    const joined = assertOk(await a.request('room:join', { roomId }));
    assert.equal(joined['you'].role, 'viewer');
    assert.ok((joined['files'] as { id: string }[]).some((f) => f.id === fileId));
    // Answering an ended request succeeds and changes nothing.
    assertOk(await o.request('room:answerJoin', { roomId, requestId, decision: 'editor' }));
    assert.equal((await knex()('room_participants').where({ user_id: asker.id }).first('role')).role, 'viewer');
    // As a viewer: can open, cannot edit.
    const cid = clientId();
    assertOk(await a.request('file:open', { roomId, fileId, clientId: cid }));
    assertRefused(await a.request('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op: ['x', 5] }), 'FORBIDDEN');
    assert.deepEqual(await server.storedText(fileId), { version: 0, text: 'hello' });
  });

  it('a denied join request leaves the requester outside', async () => {
    const roomId = await server.room(owner);
    const o = await connect(owner);
    const asker = await server.user('denied');
    const a = track(await rawSocket(server.url, asker.token));
    const notified = nextEvent(o.socket, 'joinRequest');
    const requestId = assertOk(await a.request('room:requestJoin', { roomId, role: 'viewer' }))['requestId'];
    await notified;
    const resolved = nextEvent(a.socket, 'joinRequest:resolved');
    assertOk(await o.request('room:answerJoin', { roomId, requestId, decision: 'deny' }));
    assert.deepEqual(await resolved, { roomId, requestId, decision: 'deny' });
    assertRefused(await a.request('room:join', { roomId }), 'NOT_A_PARTICIPANT');
    assert.equal(await knex()('room_participants').where({ user_id: asker.id }).first(), undefined);
    assert.equal(await knex()('join_requests').where({ user_id: asker.id }).first(), undefined);
  });

  it('a public room admits a signed-in user as a viewer on room:join; requestJoin there is FORBIDDEN', async () => {
    const roomId = await server.room(owner, false);
    const fileId = await server.file(owner, roomId, 'pub.txt', 'public');
    const o = await connect(owner);
    await o.joinRoom(roomId);
    const passer = await server.user('passer');
    const p = track(await rawSocket(server.url, passer.token));
    assertRefused(await p.request('room:requestJoin', { roomId, role: 'editor' }), 'FORBIDDEN');
    const joinedEvent = nextEvent(o.socket, 'participant:joined', 5000, (x: { userId: string; role: string }) => x.userId === passer.id);
    const joined = assertOk(await p.request('room:join', { roomId }));
    assert.equal(joined['you'].role, 'viewer');
    assert.equal((await joinedEvent).role, 'viewer');
    assert.equal((await knex()('room_participants').where({ user_id: passer.id }).first('role')).role, 'viewer');
    const cid = clientId();
    assertOk(await p.request('file:open', { roomId, fileId, clientId: cid }));
    assertRefused(await p.request('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op: ['x', 6] }), 'FORBIDDEN');
    assert.deepEqual(await server.storedText(fileId), { version: 0, text: 'public' });
  });
});

forEachDatabase('tokens at the handshake and during a connection', (ctx) => {
  let server: TestServer;
  let now = Date.now();
  let user: TestUser;
  testTimeout(20_000);

  before(async () => {
    now = Date.now();
    server = await TestServer.start(ctx.current().db, { clock: () => now });
    user = await server.user('tok');
  });
  after(async () => {
    await server?.stop();
  });

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const sign = (claims: Record<string, unknown>, secret: string, options: jwt.SignOptions = {}) =>
    jwt.sign({ username: user.username, ...claims }, secret, { algorithm: 'HS256', issuer: 'collab', subject: user.id, expiresIn: 3600, ...options });

  it('refuses missing, malformed, expired, tampered, alg:none, foreign-secret and foreign-issuer tokens', async () => {
    const iat = Math.floor(now / 1000);
    const good = sign({ iat }, server.secret);
    const [h, p, s] = good.split('.') as [string, string, string];
    const otherUser = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: '00000000-0000-4000-8000-000000000000', username: 'admin' };
    const flipped = s.slice(0, -2) + (s.slice(-2, -1) === 'A' ? 'B' : 'A') + s.slice(-1);
    const cases: [string, Record<string, unknown> | undefined, string][] = [
      ['no auth at all', undefined, 'UNAUTHENTICATED'],
      ['an empty token', { token: '' }, 'UNAUTHENTICATED'],
      ['a number', { token: 42 }, 'UNAUTHENTICATED'],
      ['garbage', { token: 'not.a.jwt' }, 'UNAUTHENTICATED'],
      ['an oversized token', { token: 'a'.repeat(5000) }, 'UNAUTHENTICATED'],
      ['expired (expiresIn -10)', { token: sign({ iat: iat - 100 }, server.secret, { expiresIn: -10 }) }, 'TOKEN_EXPIRED'],
      ['expired (exp in the past)', { token: jwt.sign({ username: user.username, sub: user.id, iss: 'collab', iat: iat - 7200, exp: iat - 3600 }, server.secret) }, 'TOKEN_EXPIRED'],
      ['another user’s claims under the original signature', { token: `${h}.${b64(otherUser)}.${s}` }, 'UNAUTHENTICATED'],
      ['a flipped signature character', { token: `${h}.${p}.${flipped}` }, 'UNAUTHENTICATED'],
      ['no signature', { token: `${h}.${p}.` }, 'UNAUTHENTICATED'],
      ['alg: none', { token: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.` }, 'UNAUTHENTICATED'],
      ['alg: HS512 with the right secret', { token: sign({ iat }, server.secret, { algorithm: 'HS512' }) }, 'UNAUTHENTICATED'],
      ['a foreign secret', { token: sign({ iat }, 'a-completely-different-secret-of-32-chars!') }, 'UNAUTHENTICATED'],
      ['a foreign secret, expired', { token: sign({ iat: iat - 100 }, 'a-completely-different-secret-of-32-chars!', { expiresIn: -10 }) }, 'UNAUTHENTICATED'],
      ['a foreign issuer', { token: sign({ iat }, server.secret, { issuer: 'evil' }) }, 'UNAUTHENTICATED'],
      ['no issuer', { token: jwt.sign({ username: user.username, sub: user.id, exp: iat + 60 }, server.secret) }, 'UNAUTHENTICATED'],
      ['no exp', { token: jwt.sign({ username: user.username }, server.secret, { issuer: 'collab', subject: user.id }) }, 'UNAUTHENTICATED'],
    ];
    const before = server.app.socket.io.of('/').sockets.size;
    for (const [what, auth, code] of cases) {
      const { message, data } = await handshakeError(server.url, auth);
      assert.equal(data?.code, code, `${what}: ${JSON.stringify(data)}`);
      assert.equal(message, code, `${what}: the Error's message is the code`);
      assert.equal(typeof data?.message, 'string');
    }
    assert.equal(server.app.socket.io.of('/').sockets.size, before, 'no refused socket was admitted');
    // The genuine token connects.
    const ok = await rawSocket(server.url, good);
    ok.close();
  });

  it('a token that expires while connected gets TOKEN_EXPIRED on the next request; a fresh token resumes the session', async () => {
    const owner = await server.user('exp');
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'exp.txt', 'x');
    const c = await server.connect(owner);
    try {
      await c.joinRoom(roomId);
      const doc = await c.openFile(roomId, fileId);
      doc.type(1, '1');
      await doc.synced();
      const sid = c.socket.id;

      now += 3601 * 1000; // past the token's hour
      const r = await c.request('room:join', { roomId });
      assertRefused(r as never, 'TOKEN_EXPIRED');
      doc.type(2, '2');
      await waitUntil(() => doc.effects.some((e) => e.type === 'stalled' && e.error.code === 'TOKEN_EXPIRED'), 5000, 'stalled');
      assert.equal(doc.text, 'x12', 'nothing rolled back');
      assert.deepEqual(await server.storedText(fileId), { version: 1, text: 'x1' });
      assert.equal(c.socket.id, sid);
      // The old token no longer passes the handshake either.
      assert.equal((await handshakeError(server.url, { token: owner.token })).data?.code, 'TOKEN_EXPIRED');

      // Sign in again (at the server's clock), reconnect with the new token: the typing is sent.
      const login = await server.api('POST', '/auth/login', { username: owner.username, password: 'a sturdy passphrase 42' });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      c.setToken(login.body.token);
      c.socket.disconnect();
      c.socket.connect();
      await waitUntil(async () => (await server.storedText(fileId)).text === 'x12', 5000, 'the stalled op to be committed');
      await doc.synced();
      assert.equal(doc.text, 'x12');
    } finally {
      c.close();
    }
  });
});
