import { strict as assert } from 'node:assert';
import { ErrorCode, ROOM_ID_PATTERN } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { insertUser } from '../test-support/service-fixtures';
import type { AuthUser } from '../domain/tokens';
import { RoomsRepo, type RoomRecord } from './rooms-repo';
import { UsersRepo } from './users-repo';

forEachDatabase('storage: RoomsRepo', (ctx) => {
  let rooms: RoomsRepo;
  let users: UsersRepo;
  let owner: AuthUser;

  before(async () => {
    rooms = new RoomsRepo(ctx.current().db.knex);
    users = new UsersRepo(ctx.current().db.knex);
    owner = await insertUser(users);
  });

  async function newRoom(ownerId = owner.userId, isPrivate = true): Promise<RoomRecord> {
    const created = await rooms.create({ ownerId, name: 'r', isPrivate }, 1000);
    assert.ok(created.ok, created.ok ? '' : created.error.message);
    return created.value;
  }

  async function ask(roomUuid: string, userId: string, role: 'editor' | 'viewer') {
    const asked = await rooms.createJoinRequest(roomUuid, userId, role);
    assert.ok(asked, 'the request was recorded');
    return asked;
  }

  it('creates a room with a 128-bit public id and the owner as participant', async () => {
    const room = await newRoom();
    assert.match(room.roomId, ROOM_ID_PATTERN);
    assert.equal(room.roomId.length, 22);
    assert.equal(Buffer.from(room.roomId, 'base64url').length, 16);
    assert.equal(room.ownerId, owner.userId);
    assert.equal(room.isPrivate, true);
    assert.deepEqual(await rooms.findByPublicId(room.roomId), room);
    const participants = await rooms.listParticipants(room.roomUuid);
    assert.deepEqual(
      participants.map((p) => [p.userId, p.username, p.role]),
      [[owner.userId, owner.username, 'owner']],
    );
    const listed = await rooms.listForUser(owner.userId);
    assert.ok(listed.some((r) => r.roomId === room.roomId && r.role === 'owner'));
  });

  it('enforces the per-owner room quota exactly, even under concurrency', async () => {
    const someone = await insertUser(users);
    const results = await Promise.all(Array.from({ length: 5 }, () => rooms.create({ ownerId: someone.userId, name: null, isPrivate: false }, 3)));
    assert.equal(results.filter((r) => r.ok).length, 3);
    for (const r of results.filter((r) => !r.ok)) {
      assert.ok(!r.ok);
      assert.equal(r.error.code, ErrorCode.TOO_MANY_ROOMS);
    }
  });

  it('adds participants once, changes roles and removes them, never touching the owner', async () => {
    const room = await newRoom();
    const bob = await insertUser(users);
    const [a, b] = await Promise.all([
      rooms.addParticipant(room.roomUuid, bob.userId, 'viewer'),
      rooms.addParticipant(room.roomUuid, bob.userId, 'editor'),
    ]);
    assert.ok(a && b);
    assert.equal([a.added, b.added].filter(Boolean).length, 1, 'exactly one concurrent add wins');
    assert.equal(a.participant.role, b.participant.role);

    const changed = await rooms.setRole(room.roomUuid, bob.userId, 'editor');
    assert.equal(changed?.role, 'editor');
    assert.equal(await rooms.setRole(room.roomUuid, owner.userId, 'viewer'), undefined, "the owner's role never changes");
    assert.equal((await rooms.getParticipant(room.roomUuid, owner.userId))?.role, 'owner');

    assert.equal(await rooms.removeParticipant(room.roomUuid, owner.userId), false);
    assert.equal(await rooms.removeParticipant(room.roomUuid, bob.userId), true);
    assert.equal(await rooms.removeParticipant(room.roomUuid, bob.userId), false);
    assert.equal(await rooms.getParticipant(room.roomUuid, bob.userId), undefined);
    assert.equal(await rooms.getParticipant(room.roomUuid, 'garbage'), undefined);
    assert.equal(await rooms.setRole(room.roomUuid, 'garbage', 'viewer'), undefined);
  });

  it('keeps one pending join request per user and room, and ends it exactly once', async () => {
    const room = await newRoom();
    const carol = await insertUser(users);
    const first = await ask(room.roomUuid, carol.userId, 'editor');
    assert.equal(first.created, true);
    assert.equal(first.request.username, carol.username);
    const second = await ask(room.roomUuid, carol.userId, 'viewer');
    assert.equal(second.created, false);
    assert.equal(second.request.id, first.request.id);
    assert.equal(second.request.role, 'editor');
    assert.deepEqual((await rooms.listJoinRequests(room.roomUuid)).map((r) => r.id), [first.request.id]);

    const answers = await Promise.all([
      rooms.admitJoinRequest(room.roomUuid, first.request.id, 'viewer'),
      rooms.deleteJoinRequest(room.roomUuid, first.request.id),
    ]);
    assert.equal(answers.filter((a) => a !== undefined).length, 1, 'exactly one concurrent answer wins');
    assert.deepEqual(await rooms.listJoinRequests(room.roomUuid), []);
    assert.equal(await rooms.admitJoinRequest(room.roomUuid, first.request.id, 'viewer'), undefined);
    assert.equal(await rooms.deleteJoinRequest(room.roomUuid, 'not-a-uuid'), undefined);
  });

  it('admits a requester as a participant in the same transaction', async () => {
    const room = await newRoom();
    const dave = await insertUser(users);
    const { request } = await ask(room.roomUuid, dave.userId, 'viewer');
    const admitted = await rooms.admitJoinRequest(room.roomUuid, request.id, 'editor');
    assert.ok(admitted);
    assert.equal(admitted.added, true);
    assert.equal(admitted.participant.role, 'editor');
    assert.equal(admitted.request.userId, dave.userId);
    assert.equal((await rooms.getParticipant(room.roomUuid, dave.userId))?.role, 'editor');
  });

  it('does not find a request through another room', async () => {
    const roomA = await newRoom();
    const roomB = await newRoom();
    const erin = await insertUser(users);
    const { request } = await ask(roomA.roomUuid, erin.userId, 'viewer');
    assert.equal(await rooms.findJoinRequest(roomB.roomUuid, request.id), undefined);
    assert.equal(await rooms.admitJoinRequest(roomB.roomUuid, request.id, 'editor'), undefined);
    assert.equal(await rooms.getParticipant(roomB.roomUuid, erin.userId), undefined);
    assert.ok(await rooms.deleteJoinRequestOf(roomA.roomUuid, erin.userId));
  });

  it('deletes a room with its participants and requests', async () => {
    const room = await newRoom();
    const frank = await insertUser(users);
    await rooms.addParticipant(room.roomUuid, frank.userId, 'viewer');
    await rooms.createJoinRequest(room.roomUuid, (await insertUser(users)).userId, 'viewer');
    assert.equal(await rooms.delete(room.roomUuid), true);
    assert.equal(await rooms.delete(room.roomUuid), false);
    assert.equal(await rooms.findByPublicId(room.roomId), undefined);
    assert.deepEqual(await rooms.listParticipants(room.roomUuid), []);
    assert.ok(!(await rooms.listForUser(frank.userId)).some((r) => r.roomId === room.roomId));
    assert.equal(await rooms.addParticipant(room.roomUuid, frank.userId, 'viewer'), undefined);
    assert.equal(await rooms.createJoinRequest(room.roomUuid, frank.userId, 'viewer'), undefined, 'no request to a deleted room');
  });
});
