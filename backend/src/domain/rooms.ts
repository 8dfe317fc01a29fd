/**
 * Rooms, participants, roles and join requests: the rules of PROTOCOL.md §11 (and the HTTP room
 * endpoints), over the rooms repository. Every change is emitted on the DomainEvents bus after it
 * is durable, so that the socket layer can apply it to live connections at once.
 *
 * What a non-participant learns is decided in one place (`membership.ts`): of a private room,
 * nothing except through `join`/`requestJoin`, which need the unguessable room id.
 */
import {
  DEFAULT_LIMITS,
  ErrorCode,
  fail,
  ok,
  type AssignableRole,
  type JoinDecision,
  type Limits,
  type Participant,
  type Result,
  type Role,
  type UserInfo,
} from '@collab/protocol';
import type { ParticipantRecord, RoomRecord, RoomsRepo } from '../storage/rooms-repo';
import type { UsersRepo } from '../storage/users-repo';
import type { DomainEvents } from './domain-events';
import { findRoom, resolveMembership, ROOM_NOT_FOUND_MESSAGE, type Membership } from './membership';
import { requireRole } from './permissions';
import type { AuthUser } from './tokens';
import { toParticipant, toRoomView, type RoomView } from './views';

/** Longest room name, in characters. */
export const MAX_ROOM_NAME_LENGTH = 100;

/** What `create` accepts: an optional display name, and privacy (private unless said otherwise). */
export interface CreateRoomInput {
  readonly name?: string | null;
  readonly isPrivate?: boolean;
}

/** A room in the caller's list, with the caller's role. */
export interface RoomSummary extends RoomView {
  readonly role: Role;
}

/** A room seen by someone allowed to see it: the caller's role (null if not a participant of a public room) and the participants. */
export interface RoomDetails {
  readonly room: RoomView;
  readonly role: Role | null;
  readonly participants: readonly Participant[];
}

/** The result of `join`: the room, the caller as a participant, everyone, and whether this join made the caller one. */
export interface JoinResult {
  readonly room: RoomView;
  /** Internal primary key of the room (what ops-repo snapshots carry); not for clients. */
  readonly roomUuid: string;
  readonly you: Participant;
  /** Every participant, the caller included. */
  readonly participants: readonly Participant[];
  readonly added: boolean;
}

/** The caller's standing in a room, for the socket layer (which also needs the internal room id). */
export interface RoomAccess {
  readonly room: RoomView;
  /** Internal primary key of the room (what ops-repo snapshots carry). */
  readonly roomUuid: string;
  readonly you: Participant;
}

/** A pending join request as the owner sees it. */
export interface JoinRequestView {
  readonly requestId: string;
  readonly roomId: string;
  readonly user: UserInfo;
  readonly role: AssignableRole;
  readonly createdAt: string;
}

/** What a RoomService needs. */
export interface RoomServiceDeps {
  readonly rooms: RoomsRepo;
  readonly users: UsersRepo;
  readonly events: DomainEvents;
  readonly limits?: Pick<Limits, 'maxRoomsPerUser'>;
}

/** The room rules. Every method takes the authenticated caller and returns a Result; none throws for expected failures. */
export class RoomService {
  private readonly rooms: RoomsRepo;
  private readonly users: UsersRepo;
  private readonly events: DomainEvents;
  private readonly maxRoomsPerUser: number;

  constructor(deps: RoomServiceDeps) {
    this.rooms = deps.rooms;
    this.users = deps.users;
    this.events = deps.events;
    this.maxRoomsPerUser = deps.limits?.maxRoomsPerUser ?? DEFAULT_LIMITS.maxRoomsPerUser;
  }

  /** Creates a room owned by the caller (private by default); `TOO_MANY_ROOMS` past `maxRoomsPerUser`. */
  async create(actor: AuthUser, input: CreateRoomInput = {}): Promise<Result<RoomView>> {
    const name = checkRoomName(input.name);
    if (!name.ok) return name;
    const created = await this.rooms.create({ ownerId: actor.userId, name: name.value, isPrivate: input.isPrivate ?? true }, this.maxRoomsPerUser);
    if (!created.ok) return created;
    return ok(toRoomView(created.value));
  }

  /** The rooms the caller participates in, with their role, newest first. */
  async listMine(actor: AuthUser): Promise<Result<RoomSummary[]>> {
    const rooms = await this.rooms.listForUser(actor.userId);
    return ok(rooms.map((r) => ({ ...toRoomView(r), role: r.role })));
  }

  /**
   * The room with its participants. Participants see any room they are in; anyone signed in may
   * see a public room (role null); a private room is `ROOM_NOT_FOUND` to non-participants.
   */
  async get(roomId: string, actor: AuthUser): Promise<Result<RoomDetails>> {
    const found = await findRoom(this.rooms, roomId);
    if (!found.ok) return found;
    const room = found.value;
    const me = await this.rooms.getParticipant(room.roomUuid, actor.userId);
    if (!me && room.isPrivate) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
    const participants = await this.rooms.listParticipants(room.roomUuid);
    return ok({
      room: toRoomView(room),
      role: me?.role ?? null,
      participants: participants.map((p) => toParticipant(room.roomId, p)),
    });
  }

  /** The caller's standing in the room, read now (`ROOM_NOT_FOUND` / `NOT_A_PARTICIPANT` as in `membership.ts`). */
  async access(roomId: string, actor: Pick<AuthUser, 'userId'>): Promise<Result<RoomAccess>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    return ok({ room: toRoomView(m.value.room), roomUuid: m.value.room.roomUuid, you: toParticipant(m.value.room.roomId, m.value.participant) });
  }

  /** Every participant of the room (participants only). */
  async participants(roomId: string, actor: AuthUser): Promise<Result<Participant[]>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    const list = await this.rooms.listParticipants(m.value.room.roomUuid);
    return ok(list.map((p) => toParticipant(m.value.room.roomId, p)));
  }

  /**
   * Enters a room. A participant gets their record. A signed-in non-participant of a public room
   * becomes a participant as a **viewer** (`participantAdded`); of a private room, they get
   * `NOT_A_PARTICIPANT` (and may `requestJoin`).
   */
  async join(roomId: string, actor: AuthUser): Promise<Result<JoinResult>> {
    const found = await findRoom(this.rooms, roomId);
    if (!found.ok) return found;
    const room = found.value;
    const existing = await this.rooms.getParticipant(room.roomUuid, actor.userId);
    if (existing) return ok(await this.joined(room, existing, false));
    if (room.isPrivate) {
      return fail(ErrorCode.NOT_A_PARTICIPANT, 'this room is private: ask its owner to let you in (room:requestJoin)');
    }
    // Two concurrent joins by one user: the primary key lets one add, the other reads its row.
    const result = await this.rooms.addParticipant(room.roomUuid, actor.userId, 'viewer');
    if (!result) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
    const joined = await this.joined(room, result.participant, result.added);
    if (result.added) this.events.emit('participantAdded', { roomId: room.roomId, participant: joined.you });
    return ok(joined);
  }

  /** The caller's current role in the room, or undefined if they are not a participant (or there is no such room). */
  async roleOf(roomId: string, userId: string): Promise<Role | undefined> {
    const m = await resolveMembership(this.rooms, roomId, userId);
    return m.ok ? m.value.participant.role : undefined;
  }

  /**
   * Adds the user registered as `username` with `role` (owner only). If they already participate
   * their role is set to `role` instead; a pending join request of theirs is resolved with `role`.
   */
  async invite(roomId: string, actor: AuthUser, username: string, role: AssignableRole): Promise<Result<{ participant: Participant; added: boolean }>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    const user = await this.users.findByUsername(username);
    if (!user) return fail(ErrorCode.USER_NOT_FOUND, `no user is registered as '${username}'`);
    if (user.id === room.ownerId) return fail(ErrorCode.FORBIDDEN, "the owner's role cannot be changed");
    const existing = await this.rooms.getParticipant(room.roomUuid, user.id);
    if (existing) {
      const changed = await this.setRole(roomId, actor, user.id, role);
      return changed.ok ? ok({ participant: changed.value, added: false }) : changed;
    }
    const result = await this.rooms.addParticipant(room.roomUuid, user.id, role);
    if (!result) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
    const participant = toParticipant(room.roomId, result.participant);
    if (result.added) this.events.emit('participantAdded', { roomId: room.roomId, participant });
    const request = await this.rooms.deleteJoinRequestOf(room.roomUuid, user.id);
    if (request) this.events.emit('joinResolved', { roomId: room.roomId, ownerId: room.ownerId, requestId: request.id, userId: user.id, decision: role });
    return ok({ participant, added: result.added });
  }

  /**
   * Changes a participant's role (owner only). `FORBIDDEN` for the owner's own role,
   * `NOT_A_PARTICIPANT` when the target is not in the room. Emits `roleChanged` when it changed.
   */
  async setRole(roomId: string, actor: AuthUser, userId: string, role: AssignableRole): Promise<Result<Participant>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    if (userId === room.ownerId) return fail(ErrorCode.FORBIDDEN, "the owner's role cannot be changed");
    const before = await this.rooms.getParticipant(room.roomUuid, userId);
    const after = before && (await this.rooms.setRole(room.roomUuid, userId, role));
    if (!after) return fail(ErrorCode.NOT_A_PARTICIPANT, 'that user is not a participant of this room');
    if (before.role !== after.role) this.events.emit('roleChanged', { roomId: room.roomId, userId, role: after.role });
    return ok(toParticipant(room.roomId, after));
  }

  /** Ends a participant's membership (owner only; the owner cannot be removed). Emits `participantRemoved`. */
  async removeParticipant(roomId: string, actor: AuthUser, userId: string): Promise<Result<void>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    if (userId === room.ownerId) return fail(ErrorCode.FORBIDDEN, 'the owner cannot be removed from their room');
    const removed = await this.rooms.removeParticipant(room.roomUuid, userId);
    if (!removed) return fail(ErrorCode.NOT_A_PARTICIPANT, 'that user is not a participant of this room');
    this.events.emit('participantRemoved', { roomId: room.roomId, userId });
    return ok(undefined);
  }

  /** Deletes the room with its files and history (owner only). Emits `roomDeleted`. */
  async deleteRoom(roomId: string, actor: AuthUser): Promise<Result<void>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    // A concurrent delete may have won; the room is gone either way, and only the winner emits.
    if (await this.rooms.delete(room.roomUuid)) this.events.emit('roomDeleted', { roomId: room.roomId });
    return ok(undefined);
  }

  /**
   * Asks the owner of a private room to be let in with `role`. `FORBIDDEN` for a public room or a
   * current participant (use `join`). Asking again returns the pending request (`created: false`)
   * without notifying the owner again. Emits `joinRequested` with the owner's id.
   */
  async requestJoin(roomId: string, actor: AuthUser, role: AssignableRole): Promise<Result<{ requestId: string; created: boolean }>> {
    const found = await findRoom(this.rooms, roomId);
    if (!found.ok) return found;
    const room = found.value;
    if (!room.isPrivate) return fail(ErrorCode.FORBIDDEN, 'this room is public: join it directly');
    if (await this.rooms.getParticipant(room.roomUuid, actor.userId)) {
      return fail(ErrorCode.FORBIDDEN, 'you are already a participant of this room: join it directly');
    }
    const asked = await this.rooms.createJoinRequest(room.roomUuid, actor.userId, role);
    if (!asked) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
    const { request, created } = asked;
    if (created) {
      this.events.emit('joinRequested', {
        roomId: room.roomId,
        requestId: request.id,
        ownerId: room.ownerId,
        user: { id: actor.userId, username: request.username },
        role: request.role,
      });
    }
    return ok({ requestId: request.id, created });
  }

  /**
   * Answers a join request (owner only): admit as editor or viewer, or deny. A request that has
   * already ended (answered, withdrawn, or unknown) succeeds with `resolved: false` and no effect.
   * On admission emits `participantAdded` (if new), then `joinResolved` in every case it resolved.
   */
  async answerJoin(roomId: string, requestId: string, decision: JoinDecision, actor: AuthUser): Promise<Result<{ resolved: boolean }>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    if (decision === 'deny') {
      const request = await this.rooms.deleteJoinRequest(room.roomUuid, requestId);
      if (!request) return ok({ resolved: false });
      this.events.emit('joinResolved', { roomId: room.roomId, ownerId: room.ownerId, requestId, userId: request.userId, decision });
      return ok({ resolved: true });
    }
    const admitted = await this.rooms.admitJoinRequest(room.roomUuid, requestId, decision);
    if (!admitted) return ok({ resolved: false });
    if (admitted.added) {
      this.events.emit('participantAdded', { roomId: room.roomId, participant: toParticipant(room.roomId, admitted.participant) });
    }
    this.events.emit('joinResolved', { roomId: room.roomId, ownerId: room.ownerId, requestId, userId: admitted.request.userId, decision });
    return ok({ resolved: true });
  }

  /** The room's pending join requests, oldest first (owner only). */
  async listJoinRequests(roomId: string, actor: AuthUser): Promise<Result<JoinRequestView[]>> {
    const m = await this.asOwner(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    const requests = await this.rooms.listJoinRequests(room.roomUuid);
    return ok(
      requests.map((r) => ({
        requestId: r.id,
        roomId: room.roomId,
        user: { id: r.userId, username: r.username },
        role: r.role,
        createdAt: r.createdAt.toISOString(),
      })),
    );
  }

  /**
   * Ends `userId`'s pending request, if any, as a denial (PROTOCOL.md §11.2: when the requester has
   * no connection left). For the socket layer; emits `joinResolved` with `'deny'` if one ended.
   */
  async withdrawJoinRequest(roomId: string, userId: string): Promise<Result<{ withdrawn: boolean }>> {
    const found = await findRoom(this.rooms, roomId);
    if (!found.ok) return found;
    const room = found.value;
    const request = await this.rooms.deleteJoinRequestOf(room.roomUuid, userId);
    if (!request) return ok({ withdrawn: false });
    this.events.emit('joinResolved', { roomId: room.roomId, ownerId: room.ownerId, requestId: request.id, userId, decision: 'deny' });
    return ok({ withdrawn: true });
  }

  private async joined(room: RoomRecord, me: ParticipantRecord, added: boolean): Promise<JoinResult> {
    const participants = await this.rooms.listParticipants(room.roomUuid);
    return {
      room: toRoomView(room),
      roomUuid: room.roomUuid,
      you: toParticipant(room.roomId, me),
      participants: participants.map((p) => toParticipant(room.roomId, p)),
      added,
    };
  }

  /** The caller's membership, required to be the owner's (`FORBIDDEN` for other participants). */
  private async asOwner(roomId: string, actor: AuthUser): Promise<Result<Membership>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    const allowed = requireRole(m.value.participant.role, 'owner');
    return allowed.ok ? m : allowed;
  }
}

/** A room name: trimmed; empty means none; at most 100 characters without control characters. */
function checkRoomName(name: string | null | undefined): Result<string | null> {
  if (name === undefined || name === null) return ok(null);
  const trimmed = name.trim();
  if (trimmed === '') return ok(null);
  if (Array.from(trimmed).length > MAX_ROOM_NAME_LENGTH) {
    return fail(ErrorCode.INVALID_MESSAGE, `a room name must be at most ${MAX_ROOM_NAME_LENGTH} characters long`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(trimmed)) return fail(ErrorCode.INVALID_MESSAGE, 'a room name must not contain control characters');
  return ok(trimmed);
}
