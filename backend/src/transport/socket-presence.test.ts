/**
 * Presence and membership events through real sockets: coming online and going offline are
 * `participant:updated`, becoming or stopping being a participant is `participant:joined` /
 * `participant:left` (PROTOCOL.md §14); join requests end for both sides; cursors are not dropped.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { forEachDatabase } from '../test-support/databases';
import { assertOk, clientId, handshakeError, nextEvent, rawSocket, sleep, testTimeout, waitUntil, type RawSocket } from '../test-support/sockets';
import { TestServer, type TestUser } from '../test-support/test-app';

forEachDatabase('presence and membership events', (ctx) => {
  let server: TestServer;
  let owner: TestUser;
  const raws: RawSocket[] = [];
  testTimeout(20_000);

  before(async () => {
    server = await TestServer.start(ctx.current().db);
    owner = await server.user('owner');
  });
  afterEach(() => {
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await server?.stop();
  });

  async function raw(user: TestUser): Promise<RawSocket> {
    const r = await rawSocket(server.url, user.token);
    raws.push(r);
    return r;
  }

  it('coming online and going offline are participant:updated; only the last socket of a user goes offline', async () => {
    const roomId = await server.room(owner);
    const ed = await server.user('ed');
    await server.invite(owner, roomId, ed, 'editor');
    const o = await raw(owner);
    assertOk(await o.request('room:join', { roomId }));
    const online = nextEvent(o.socket, 'participant:updated', 5000, (p: { userId: string }) => p.userId === ed.id);
    const e1 = await raw(ed);
    const joined = assertOk(await e1.request('room:join', { roomId }));
    assert.equal((joined['participants'] as { userId: string; online: boolean }[]).find((p) => p.userId === owner.id)?.online, true);
    assert.deepEqual(await online, { ...(await online), userId: ed.id, online: true, roomId });
    // A second socket of the same user announces nothing; closing one of two announces nothing.
    const e2 = await raw(ed);
    assertOk(await e2.request('room:join', { roomId }));
    e1.close();
    await sleep(200);
    assert.equal(o.events('participant:updated').filter((p: { userId: string }) => p.userId === ed.id).length, 1);
    const offline = nextEvent<{ userId: string; online: boolean; activeFileId: string | null }>(
      o.socket,
      'participant:updated',
      5000,
      (p) => p.userId === ed.id && !p.online,
    );
    e2.close();
    const gone = await offline;
    assert.equal(gone.online, false);
    assert.equal(gone.activeFileId, null);
    assert.equal(o.events('participant:left').length, 0, 'going offline is not leaving the room');
  });

  it('a new participant of a public room is participant:joined; a removed one is participant:left', async () => {
    const roomId = await server.room(owner, false);
    const o = await raw(owner);
    assertOk(await o.request('room:join', { roomId }));
    const visitor = await server.user('visitor');
    const announced = nextEvent(o.socket, 'participant:joined');
    const v = await raw(visitor);
    assertOk(await v.request('room:join', { roomId }));
    const p = await announced;
    assert.equal(p.userId, visitor.id);
    assert.equal(p.role, 'viewer');
    const left = nextEvent(o.socket, 'participant:left');
    assertOk(await o.request('participant:remove', { roomId, userId: visitor.id }));
    assert.deepEqual(await left, { roomId, userId: visitor.id });
    await sleep(100);
    assert.ok(!o.events('participant:updated').some((u: { userId: string; online: boolean }) => u.userId === visitor.id && !u.online));
  });

  it('the owner’s connections also get joinRequest:resolved; a requester who disconnects withdraws the request', async () => {
    const roomId = await server.room(owner);
    const o = await raw(owner);
    const asker = await server.user('asker');
    const a = await raw(asker);
    const notified = nextEvent(o.socket, 'joinRequest');
    const requestId = assertOk(await a.request('room:requestJoin', { roomId, role: 'editor' }))['requestId'];
    await notified;
    const ownerSees = nextEvent(o.socket, 'joinRequest:resolved');
    a.close();
    assert.deepEqual(await ownerSees, { roomId, requestId, decision: 'deny' });
    await waitUntil(async () => (await server.app.database.knex('join_requests').where({ user_id: asker.id }).first()) === undefined || undefined, 5000, 'request row gone');
    // Answered by the owner: both sides hear it.
    const a2 = await raw(asker);
    const second = assertOk(await a2.request('room:requestJoin', { roomId, role: 'viewer' }))['requestId'];
    const both = [nextEvent(o.socket, 'joinRequest:resolved'), nextEvent(a2.socket, 'joinRequest:resolved')];
    assertOk(await o.request('room:answerJoin', { roomId, requestId: second, decision: 'editor' }));
    for (const r of await Promise.all(both)) assert.deepEqual(r, { roomId, requestId: second, decision: 'editor' });
  });

  it('a validly signed token of a user that does not exist is refused at the handshake', async () => {
    const token = jwt.sign({ username: 'ghost' }, server.secret, { algorithm: 'HS256', issuer: 'collab', subject: randomUUID(), expiresIn: 3600 });
    const outcome = await handshakeError(server.url, { token });
    assert.equal(outcome.data?.code, 'UNAUTHENTICATED');
  });

  it('every cursor update within the rate limit reaches the other reader, the last one included', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'c.txt', 'abcdefghij');
    const ed = await server.user('ed');
    await server.invite(owner, roomId, ed, 'editor');
    const o = await raw(owner);
    const e = await raw(ed);
    for (const s of [o, e]) {
      assertOk(await s.request('room:join', { roomId }));
      assertOk(await s.request('file:open', { roomId, fileId, clientId: clientId() }));
    }
    for (let i = 0; i < 10; i++) e.socket.emit('cursor:update', { roomId, fileId, version: 0, selections: [{ anchor: i, head: i }] });
    await waitUntil(() => (o.events('cursor').length >= 10 ? true : undefined), 5000, '10 cursors');
    assert.equal(o.events('cursor').at(-1).selections[0].head, 9);
  });

  it('closing a file clears the cursor of a connection that sent one, and sends nothing for one that never did', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'clear.txt', 'abcdefghij');
    const ed = await server.user('ed');
    await server.invite(owner, roomId, ed, 'editor');
    const o = await raw(owner);
    const e = await raw(ed);
    const eClient = clientId();
    for (const [s, cid] of [[o, clientId()], [e, eClient]] as const) {
      assertOk(await s.request('room:join', { roomId }));
      assertOk(await s.request('file:open', { roomId, fileId, clientId: cid }));
    }
    // No cursor sent: closing announces nothing (the reader has nothing to clear).
    assertOk(await e.request('file:close', { roomId, fileId }));
    await sleep(200);
    assert.deepEqual(o.events('cursor:clear'), []);
    // Re-opened, a cursor sent: closing clears it.
    assertOk(await e.request('file:open', { roomId, fileId, clientId: eClient }));
    e.socket.emit('cursor:update', { roomId, fileId, version: 0, selections: [{ anchor: 3, head: 3 }] });
    await waitUntil(() => (o.events('cursor').length === 1 ? true : undefined), 5000, 'the cursor');
    const cleared = nextEvent(o.socket, 'cursor:clear');
    assertOk(await e.request('file:close', { roomId, fileId }));
    assert.deepEqual(await cleared, { fileId, userId: ed.id, clientId: eClient });
  });

  it('presence:update with a file of no room is refused with FILE_NOT_FOUND; a real one is announced', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'p.txt', 'x');
    const o = await raw(owner);
    const watcher = await server.user('w');
    await server.invite(owner, roomId, watcher, 'viewer');
    const w = await raw(watcher);
    assertOk(await o.request('room:join', { roomId }));
    assertOk(await w.request('room:join', { roomId }));
    const err = nextEvent(o.socket, 'session:error');
    o.socket.emit('presence:update', { roomId, activeFileId: randomUUID() });
    assert.equal((await err).code, 'FILE_NOT_FOUND');
    const seen = nextEvent<{ userId: string; activeFileId: string | null }>(w.socket, 'participant:updated', 5000, (p) => p.activeFileId === fileId);
    o.socket.emit('presence:update', { roomId, activeFileId: fileId });
    assert.equal((await seen).userId, owner.id);
  });

  it('a burst of joins reaches a member as fewer frames, every user online, before the next file event', async () => {
    const roomId = await server.room(owner);
    const users = await Promise.all(['b1', 'b2', 'b3', 'b4', 'b5', 'b6'].map((name) => server.user(name)));
    for (const u of users) await server.invite(owner, roomId, u, 'editor');
    const o = await raw(owner);
    assertOk(await o.request('room:join', { roomId }));
    const sockets = await Promise.all(users.map((u) => raw(u)));
    await Promise.all(sockets.map((r) => r.request('room:join', { roomId }).then((reply) => assertOk(reply))));
    // Straight after the burst, while coalesced events may still wait for their window's end.
    assertOk(await o.request('file:create', { roomId, path: 'after-burst.txt', language: 'plaintext', content: '' }));
    await waitUntil(() => o.received.some(([e]) => e === 'file:created'), 5000, 'file:created');
    const until = o.received.findIndex(([e]) => e === 'file:created');
    const before = o.received.slice(0, until);
    const updates = before.flatMap(([e, p]) => (e === 'participant:updated' ? [p] : e === 'participants' ? (p.changes as { participant: unknown }[]).map((c) => c.participant) : []));
    // Every joiner came online, and was announced before the file event that followed.
    // (The owner may hear of its own coming online too: a coalesced event goes to the whole room.)
    const cameOnline = updates.filter((p: { online: boolean; userId: string }) => p.online && p.userId !== owner.id).map((p: { userId: string }) => p.userId);
    assert.deepEqual(new Set(cameOnline), new Set(users.map((u) => u.id)));
    const frames = before.filter(([e]) => e === 'participant:updated' || e === 'participants').length;
    assert.ok(frames < users.length, `${frames} frames for ${users.length} joins: nothing was coalesced`);
    assert.ok(before.some(([e, p]) => e === 'participants' && p.roomId === roomId && p.changes.length >= 2));
  });
});
