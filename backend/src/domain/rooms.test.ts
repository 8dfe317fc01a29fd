import { strict as assert } from 'node:assert';
import { ErrorCode, validateServerPayload, type Result } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { insertUser, wireServices, type Services } from '../test-support/service-fixtures';
import { PARTICIPANT_COLORS } from './colors';
import type { AuthUser } from './tokens';
import type { RoomView } from './views';

function codeOf(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

/** A room id that nobody created (valid format). */
const GUESSED_ROOM_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

forEachDatabase('domain: RoomService', (ctx) => {
  let s: Services;
  let owner: AuthUser;
  let editor: AuthUser;
  let viewer: AuthUser;
  let stranger: AuthUser;

  before(async () => {
    s = wireServices(ctx.current().db, { limits: { maxRoomsPerUser: 50 } });
    [owner, editor, viewer, stranger] = await Promise.all([insertUser(s.users), insertUser(s.users), insertUser(s.users), insertUser(s.users)]);
  });

  beforeEach(() => s.recorder.clear());

  /** A private room owned by `owner` with `editor` and `viewer` invited. */
  async function populatedRoom(isPrivate = true): Promise<RoomView> {
    const room = value(await s.rooms.create(owner, { name: 'Team', isPrivate }));
    value(await s.rooms.invite(room.roomId, owner, editor.username, 'editor'));
    value(await s.rooms.invite(room.roomId, owner, viewer.username.toUpperCase(), 'viewer'));
    s.recorder.clear();
    return room;
  }

  describe('create, list, get', () => {
    it('creates a private room by default, owned by the caller, with a trimmed name', async () => {
      const room = value(await s.rooms.create(owner, { name: '  Pairing  ' }));
      assert.equal(room.isPrivate, true);
      assert.equal(room.ownerId, owner.userId);
      assert.equal(room.name, 'Pairing');
      assert.ok(validateServerPayload('file:created', { roomId: room.roomId, id: 'f', path: 'a', language: 'x', version: 0 }).ok, 'the room id is protocol-valid');
      assert.ok(!Number.isNaN(Date.parse(room.createdAt)));
      const details = value(await s.rooms.get(room.roomId, owner));
      assert.equal(details.role, 'owner');
      assert.deepEqual(details.participants.map((p) => [p.userId, p.role]), [[owner.userId, 'owner']]);
    });

    it('creates a public room on request and refuses bad names', async () => {
      assert.equal(value(await s.rooms.create(owner, { isPrivate: false, name: null })).isPrivate, false);
      assert.equal(value(await s.rooms.create(owner, { name: '   ' })).name, null);
      assert.equal(codeOf(await s.rooms.create(owner, { name: 'x'.repeat(101) })), ErrorCode.INVALID_MESSAGE);
      assert.equal(codeOf(await s.rooms.create(owner, { name: 'bell\u0007' })), ErrorCode.INVALID_MESSAGE);
    });

    it('refuses a room beyond maxRoomsPerUser with TOO_MANY_ROOMS', async () => {
      const limited = wireServices(ctx.current().db, { limits: { maxRoomsPerUser: 2 } });
      const someone = await insertUser(s.users);
      value(await limited.rooms.create(someone));
      value(await limited.rooms.create(someone));
      assert.equal(codeOf(await limited.rooms.create(someone)), ErrorCode.TOO_MANY_ROOMS);
    });

    it('lists my rooms with my role', async () => {
      const room = await populatedRoom();
      const mine = value(await s.rooms.listMine(viewer));
      assert.deepEqual(mine.filter((r) => r.roomId === room.roomId).map((r) => r.role), ['viewer']);
      assert.ok(!value(await s.rooms.listMine(stranger)).some((r) => r.roomId === room.roomId));
    });

    it('hides a private room from non-participants exactly like a room that does not exist', async () => {
      const room = await populatedRoom();
      const hidden = await s.rooms.get(room.roomId, stranger);
      const missing = await s.rooms.get(GUESSED_ROOM_ID, stranger);
      const malformed = await s.rooms.get('../../etc', stranger);
      assert.ok(!hidden.ok && !missing.ok && !malformed.ok);
      assert.deepEqual(hidden.error, missing.error);
      assert.deepEqual(hidden.error, malformed.error);
      assert.equal(hidden.error.code, ErrorCode.ROOM_NOT_FOUND);
      for (const r of [
        await s.rooms.participants(room.roomId, stranger),
        await s.rooms.deleteRoom(room.roomId, stranger),
        await s.rooms.setRole(room.roomId, stranger, viewer.userId, 'editor'),
        await s.rooms.listJoinRequests(room.roomId, stranger),
      ]) {
        assert.equal(codeOf(r), ErrorCode.ROOM_NOT_FOUND);
      }
    });

    it('shows a public room to anyone signed in, with role null for non-participants', async () => {
      const room = await populatedRoom(false);
      const details = value(await s.rooms.get(room.roomId, stranger));
      assert.equal(details.role, null);
      assert.equal(details.participants.length, 3);
      assert.equal(codeOf(await s.rooms.participants(room.roomId, stranger)), ErrorCode.NOT_A_PARTICIPANT);
    });

    it('gives participants stable palette colours and reports them offline', async () => {
      const room = await populatedRoom();
      const a = value(await s.rooms.get(room.roomId, owner)).participants;
      const b = value(await s.rooms.get(room.roomId, viewer)).participants;
      assert.deepEqual(a, b);
      for (const p of a) {
        assert.ok(PARTICIPANT_COLORS.includes(p.color));
        assert.equal(p.online, false);
        assert.equal(p.activeFileId, null);
        assert.ok(validateServerPayload('participant:joined', { ...p, roomId: room.roomId }).ok);
      }
      assert.deepEqual(a.map((p) => p.role), ['owner', ...a.slice(1).map((p) => p.role)], 'the owner comes first');
    });
  });

  describe('participants and roles', () => {
    it('lets the owner invite by username (any case) and emits participantAdded', async () => {
      const room = value(await s.rooms.create(owner));
      const invited = value(await s.rooms.invite(room.roomId, owner, editor.username.toUpperCase(), 'editor'));
      assert.equal(invited.added, true);
      assert.equal(invited.participant.userId, editor.userId);
      assert.equal(invited.participant.role, 'editor');
      assert.deepEqual(s.recorder.names(), ['participantAdded']);
      assert.deepEqual(s.recorder.of('participantAdded')[0], { roomId: room.roomId, participant: invited.participant });
    });

    it('turns a repeated invite with another role into a role change', async () => {
      const room = await populatedRoom();
      const again = value(await s.rooms.invite(room.roomId, owner, viewer.username, 'editor'));
      assert.equal(again.added, false);
      assert.equal(again.participant.role, 'editor');
      assert.deepEqual(s.recorder.of('roleChanged'), [{ roomId: room.roomId, userId: viewer.userId, role: 'editor' }]);
      s.recorder.clear();
      value(await s.rooms.invite(room.roomId, owner, viewer.username, 'editor'));
      assert.deepEqual(s.recorder.names(), [], 'no event when nothing changed');
    });

    it('refuses to invite unknown users or the owner', async () => {
      const room = value(await s.rooms.create(owner));
      assert.equal(codeOf(await s.rooms.invite(room.roomId, owner, 'nobody_by_this_name', 'viewer')), ErrorCode.USER_NOT_FOUND);
      assert.equal(codeOf(await s.rooms.invite(room.roomId, owner, owner.username, 'viewer')), ErrorCode.FORBIDDEN);
    });

    it('lets only the owner invite, change roles and remove', async () => {
      const room = await populatedRoom();
      for (const actor of [editor, viewer]) {
        assert.equal(codeOf(await s.rooms.invite(room.roomId, actor, stranger.username, 'editor')), ErrorCode.FORBIDDEN);
        assert.equal(codeOf(await s.rooms.setRole(room.roomId, actor, viewer.userId, 'editor')), ErrorCode.FORBIDDEN);
        assert.equal(codeOf(await s.rooms.removeParticipant(room.roomId, actor, viewer.userId)), ErrorCode.FORBIDDEN);
        assert.equal(codeOf(await s.rooms.deleteRoom(room.roomId, actor)), ErrorCode.FORBIDDEN);
      }
      assert.deepEqual(s.recorder.names(), []);
    });

    it("changes a role and emits roleChanged, but never the owner's", async () => {
      const room = await populatedRoom();
      const changed = value(await s.rooms.setRole(room.roomId, owner, viewer.userId, 'editor'));
      assert.equal(changed.role, 'editor');
      assert.deepEqual(s.recorder.of('roleChanged'), [{ roomId: room.roomId, userId: viewer.userId, role: 'editor' }]);
      assert.equal((value(await s.rooms.access(room.roomId, viewer))).you.role, 'editor', 'the new role is read on the next request');
      assert.equal(codeOf(await s.rooms.setRole(room.roomId, owner, owner.userId, 'viewer')), ErrorCode.FORBIDDEN);
      assert.equal(codeOf(await s.rooms.setRole(room.roomId, owner, stranger.userId, 'viewer')), ErrorCode.NOT_A_PARTICIPANT);
      assert.equal(codeOf(await s.rooms.setRole(room.roomId, owner, 'not-a-uuid', 'viewer')), ErrorCode.NOT_A_PARTICIPANT);
    });

    it('removes a participant (emitting participantRemoved) but never the owner', async () => {
      const room = await populatedRoom();
      value(await s.rooms.removeParticipant(room.roomId, owner, editor.userId));
      assert.deepEqual(s.recorder.of('participantRemoved'), [{ roomId: room.roomId, userId: editor.userId }]);
      assert.equal(codeOf(await s.rooms.get(room.roomId, editor)), ErrorCode.ROOM_NOT_FOUND, 'a removed user no longer sees the private room');
      assert.equal(codeOf(await s.rooms.removeParticipant(room.roomId, owner, editor.userId)), ErrorCode.NOT_A_PARTICIPANT);
      assert.equal(codeOf(await s.rooms.removeParticipant(room.roomId, owner, owner.userId)), ErrorCode.FORBIDDEN);
    });

    it('deletes the room (owner only), emitting roomDeleted; afterwards it is not found', async () => {
      const room = await populatedRoom();
      value(await s.rooms.deleteRoom(room.roomId, owner));
      assert.deepEqual(s.recorder.of('roomDeleted'), [{ roomId: room.roomId }]);
      assert.equal(codeOf(await s.rooms.get(room.roomId, owner)), ErrorCode.ROOM_NOT_FOUND);
      assert.equal(codeOf(await s.rooms.join(room.roomId, editor)), ErrorCode.ROOM_NOT_FOUND);
      assert.ok(!value(await s.rooms.listMine(viewer)).some((r) => r.roomId === room.roomId));
    });
  });

  describe('join', () => {
    it('returns the participant record to a participant, adding nothing', async () => {
      const room = await populatedRoom();
      const joined = value(await s.rooms.join(room.roomId, editor));
      assert.equal(joined.added, false);
      assert.equal(joined.you.role, 'editor');
      assert.equal(joined.room.roomId, room.roomId);
      assert.deepEqual(joined.participants.map((p) => p.userId).sort(), [owner.userId, editor.userId, viewer.userId].sort());
      assert.equal(joined.roomUuid, value(await s.rooms.access(room.roomId, editor)).roomUuid);
      assert.deepEqual(s.recorder.names(), []);
      assert.equal(await s.rooms.roleOf(room.roomId, editor.userId), 'editor');
      assert.equal(await s.rooms.roleOf(room.roomId, stranger.userId), undefined);
      assert.equal(await s.rooms.roleOf(GUESSED_ROOM_ID, editor.userId), undefined);
    });

    it('admits a signed-in user to a public room as a viewer, once', async () => {
      const room = await populatedRoom(false);
      const newcomer = await insertUser(s.users);
      const [a, b] = await Promise.all([s.rooms.join(room.roomId, newcomer), s.rooms.join(room.roomId, newcomer)]);
      const joins = [value(a), value(b)];
      assert.deepEqual(joins.map((j) => j.you.role), ['viewer', 'viewer']);
      assert.equal(joins.filter((j) => j.added).length, 1);
      assert.deepEqual(s.recorder.names(), ['participantAdded']);
      assert.equal(s.recorder.of('participantAdded')[0]?.participant.role, 'viewer');
    });

    it('refuses a non-participant of a private room with NOT_A_PARTICIPANT', async () => {
      const room = await populatedRoom();
      assert.equal(codeOf(await s.rooms.join(room.roomId, stranger)), ErrorCode.NOT_A_PARTICIPANT);
      assert.equal(codeOf(await s.rooms.join(GUESSED_ROOM_ID, stranger)), ErrorCode.ROOM_NOT_FOUND);
      assert.deepEqual(s.recorder.names(), []);
    });
  });

  describe('join requests', () => {
    it('lets the owner approve a request with another role than asked', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId, created } = value(await s.rooms.requestJoin(room.roomId, asker, 'editor'));
      assert.equal(created, true);
      assert.deepEqual(s.recorder.of('joinRequested'), [
        { roomId: room.roomId, requestId, ownerId: owner.userId, user: { id: asker.userId, username: asker.username }, role: 'editor' },
      ]);
      const pending = value(await s.rooms.listJoinRequests(room.roomId, owner));
      assert.deepEqual(pending.map((p) => [p.requestId, p.user.id, p.role]), [[requestId, asker.userId, 'editor']]);
      s.recorder.clear();

      assert.deepEqual(value(await s.rooms.answerJoin(room.roomId, requestId, 'viewer', owner)), { resolved: true });
      assert.deepEqual(s.recorder.names(), ['participantAdded', 'joinResolved']);
      assert.equal(s.recorder.of('participantAdded')[0]?.participant.role, 'viewer');
      assert.deepEqual(s.recorder.of('joinResolved'), [{ roomId: room.roomId, ownerId: owner.userId, requestId, userId: asker.userId, decision: 'viewer' }]);
      assert.equal(value(await s.rooms.join(room.roomId, asker)).you.role, 'viewer');
    });

    it('lets the owner deny a request; the requester stays out', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId } = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      s.recorder.clear();
      assert.deepEqual(value(await s.rooms.answerJoin(room.roomId, requestId, 'deny', owner)), { resolved: true });
      assert.deepEqual(s.recorder.of('joinResolved'), [{ roomId: room.roomId, ownerId: owner.userId, requestId, userId: asker.userId, decision: 'deny' }]);
      assert.equal(s.recorder.of('participantAdded').length, 0);
      assert.equal(codeOf(await s.rooms.join(room.roomId, asker)), ErrorCode.NOT_A_PARTICIPANT);
    });

    it('returns the pending request when asked again, without notifying the owner twice', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const first = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      const second = value(await s.rooms.requestJoin(room.roomId, asker, 'editor'));
      assert.equal(second.requestId, first.requestId);
      assert.equal(second.created, false);
      assert.equal(s.recorder.of('joinRequested').length, 1);
    });

    it('answers an ended or unknown request with success and no effect', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId } = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      value(await s.rooms.answerJoin(room.roomId, requestId, 'deny', owner));
      s.recorder.clear();
      assert.deepEqual(value(await s.rooms.answerJoin(room.roomId, requestId, 'editor', owner)), { resolved: false });
      assert.deepEqual(value(await s.rooms.answerJoin(room.roomId, 'no-such-request', 'deny', owner)), { resolved: false });
      assert.deepEqual(s.recorder.names(), []);
    });

    it('lets only the owner answer or list requests', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId } = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      assert.equal(codeOf(await s.rooms.answerJoin(room.roomId, requestId, 'editor', editor)), ErrorCode.FORBIDDEN);
      assert.equal(codeOf(await s.rooms.answerJoin(room.roomId, requestId, 'editor', asker)), ErrorCode.ROOM_NOT_FOUND);
      assert.equal(codeOf(await s.rooms.listJoinRequests(room.roomId, viewer)), ErrorCode.FORBIDDEN);
      assert.equal(value(await s.rooms.listJoinRequests(room.roomId, owner)).length, 1, 'still pending');
    });

    it('refuses requests to public rooms and from participants with FORBIDDEN', async () => {
      const open = await populatedRoom(false);
      const closed = await populatedRoom(true);
      assert.equal(codeOf(await s.rooms.requestJoin(open.roomId, stranger, 'viewer')), ErrorCode.FORBIDDEN);
      assert.equal(codeOf(await s.rooms.requestJoin(closed.roomId, viewer, 'editor')), ErrorCode.FORBIDDEN);
      assert.equal(codeOf(await s.rooms.requestJoin(GUESSED_ROOM_ID, stranger, 'viewer')), ErrorCode.ROOM_NOT_FOUND);
    });

    it('resolves a pending request when the owner invites the requester directly', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId } = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      s.recorder.clear();
      value(await s.rooms.invite(room.roomId, owner, asker.username, 'editor'));
      assert.deepEqual(s.recorder.of('joinResolved'), [{ roomId: room.roomId, ownerId: owner.userId, requestId, userId: asker.userId, decision: 'editor' }]);
      assert.deepEqual(value(await s.rooms.listJoinRequests(room.roomId, owner)), []);
    });

    it('withdraws the request of a requester who went away, as a denial', async () => {
      const room = await populatedRoom();
      const asker = await insertUser(s.users);
      const { requestId } = value(await s.rooms.requestJoin(room.roomId, asker, 'viewer'));
      s.recorder.clear();
      assert.deepEqual(value(await s.rooms.withdrawJoinRequest(room.roomId, asker.userId)), { withdrawn: true });
      assert.deepEqual(s.recorder.of('joinResolved'), [{ roomId: room.roomId, ownerId: owner.userId, requestId, userId: asker.userId, decision: 'deny' }]);
      assert.deepEqual(value(await s.rooms.withdrawJoinRequest(room.roomId, asker.userId)), { withdrawn: false });
    });
  });
});
