/**
 * Rooms, their participants and their pending join requests (`rooms`, `room_participants`,
 * `join_requests`).
 *
 * Rooms have two ids: `roomUuid`, the primary key other tables reference, and `roomId`, the public
 * unguessable handle (128 random bits, base64url) that clients use. Every multi-row change runs in
 * one transaction, and every check-then-act that could race (the per-user room quota, answering a
 * join request twice) is made atomic with a row lock or a conditional DELETE ... RETURNING.
 *
 * Counts of changed rows always come from RETURNING: knex-pglite answers a bare DELETE with a
 * result object instead of Knex's row count.
 */
import type { Knex } from 'knex';
import { ErrorCode, fail, ok, type AssignableRole, type Result, type Role } from '@collab/protocol';
import { isForeignKeyViolation } from './database';
import { isUuid, newPublicRoomId, newRowId } from './row-ids';

/** A stored room. */
export interface RoomRecord {
  /** Internal primary key (referenced by participants, files, requests). */
  readonly roomUuid: string;
  /** The public handle clients use. */
  readonly roomId: string;
  readonly name: string | null;
  readonly ownerId: string;
  readonly isPrivate: boolean;
  readonly createdAt: Date;
}

/** A room together with one user's role in it. */
export interface RoomWithRole extends RoomRecord {
  readonly role: Role;
}

/** A stored participant, with the username joined from `users`. */
export interface ParticipantRecord {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  readonly joinedAt: Date;
}

/** A pending request to join a private room, with the requester's username. */
export interface JoinRequestRecord {
  readonly id: string;
  readonly roomUuid: string;
  readonly userId: string;
  readonly username: string;
  readonly role: AssignableRole;
  readonly createdAt: Date;
}

/** What `create` needs. */
export interface NewRoom {
  readonly ownerId: string;
  readonly name: string | null;
  readonly isPrivate: boolean;
}

interface RoomRow {
  id: string;
  room_id: string;
  name: string | null;
  owner_id: string;
  is_private: boolean;
  created_at: Date | string;
}

const ROOM_COLUMNS = ['id', 'room_id', 'name', 'owner_id', 'is_private', 'created_at'] as const;

/** Reads and writes rooms, participants and join requests with Knex. */
export class RoomsRepo {
  constructor(private readonly db: Knex) {}

  /**
   * Creates a room owned by `ownerId`, with the owner as its first participant, unless the owner
   * already owns `maxOwned` rooms (`TOO_MANY_ROOMS`).
   *
   * Race: two concurrent creations by one user could both count `maxOwned - 1` rooms. Locking the
   * owner's `users` row first serialises them, so the count is exact.
   */
  async create(room: NewRoom, maxOwned: number): Promise<Result<RoomRecord>> {
    return this.db.transaction(async (trx) => {
      const owner = await trx('users').where('id', room.ownerId).forNoKeyUpdate().first('id');
      if (!owner) throw new Error(`cannot create a room for unknown user ${room.ownerId}`);
      const counted = await trx('rooms').where('owner_id', room.ownerId).count<{ n: string | number }[]>('* as n');
      const owned = Number(counted[0]?.n ?? 0);
      if (owned >= maxOwned) {
        return fail<RoomRecord>(ErrorCode.TOO_MANY_ROOMS, `you already own ${owned} rooms; the limit is ${maxOwned}`);
      }
      const id = newRowId();
      const rows = await trx<RoomRow>('rooms')
        .insert({ id, room_id: newPublicRoomId(), name: room.name, owner_id: room.ownerId, is_private: room.isPrivate })
        .returning([...ROOM_COLUMNS]);
      const row = rows[0];
      if (!row) throw new Error('INSERT INTO rooms returned no row');
      await trx('room_participants').insert({ room_id: id, user_id: room.ownerId, role: 'owner' });
      return ok(toRoom(row));
    });
  }

  /** The room with this public id, or undefined. */
  async findByPublicId(roomId: string): Promise<RoomRecord | undefined> {
    const row = await this.db<RoomRow>('rooms').where('room_id', roomId).first(...ROOM_COLUMNS);
    return row ? toRoom(row) : undefined;
  }

  /** Every room `userId` participates in, with their role, newest first. */
  async listForUser(userId: string): Promise<RoomWithRole[]> {
    if (!isUuid(userId)) return [];
    const rows = await this.db('rooms as r')
      .join('room_participants as p', 'p.room_id', 'r.id')
      .where('p.user_id', userId)
      .orderBy([{ column: 'r.created_at', order: 'desc' }, { column: 'r.room_id' }])
      .select<(RoomRow & { role: Role })[]>('r.id', 'r.room_id', 'r.name', 'r.owner_id', 'r.is_private', 'r.created_at', 'p.role');
    return rows.map((row) => ({ ...toRoom(row), role: row.role }));
  }

  /** Deletes the room; its participants, files, op log and requests go with it (ON DELETE CASCADE). */
  async delete(roomUuid: string): Promise<boolean> {
    const deleted = await this.db('rooms').where('id', roomUuid).delete().returning(['id']);
    return deleted.length > 0;
  }

  /** The participant record of `userId` in the room, or undefined. */
  async getParticipant(roomUuid: string, userId: string): Promise<ParticipantRecord | undefined> {
    if (!isUuid(userId)) return undefined;
    const row = await this.participantQuery(this.db, roomUuid).andWhere('p.user_id', userId).first();
    return row ? toParticipant(row) : undefined;
  }

  /** Every participant of the room, the owner first, then by username. */
  async listParticipants(roomUuid: string): Promise<ParticipantRecord[]> {
    const rows = await this.participantQuery(this.db, roomUuid).orderByRaw("(p.role = 'owner') desc, u.username_key asc");
    return rows.map(toParticipant);
  }

  /**
   * Makes `userId` a participant with `role` unless they already are one. Returns the participant
   * as stored and whether this call added them. Two concurrent calls cannot both add: the primary
   * key (room_id, user_id) decides, and the loser reads the winner's row.
   */
  async addParticipant(roomUuid: string, userId: string, role: AssignableRole): Promise<{ participant: ParticipantRecord; added: boolean } | undefined> {
    if (!isUuid(userId)) return undefined;
    try {
      return await this.db.transaction(async (trx) => this.addIfAbsent(trx, roomUuid, userId, role));
    } catch (err) {
      // The room (or the user) was deleted concurrently.
      if (isForeignKeyViolation(err)) return undefined;
      throw err;
    }
  }

  /**
   * Sets the role of a non-owner participant. Returns the updated participant, or undefined when
   * `userId` is not a participant or is the owner (the owner's role never changes).
   */
  async setRole(roomUuid: string, userId: string, role: AssignableRole): Promise<ParticipantRecord | undefined> {
    if (!isUuid(userId)) return undefined;
    const updated = await this.db('room_participants')
      .where({ room_id: roomUuid, user_id: userId })
      .whereNot('role', 'owner')
      .update({ role })
      .returning(['user_id']);
    if (updated.length === 0) return undefined;
    return this.getParticipant(roomUuid, userId);
  }

  /** Ends the membership of a non-owner participant; false when there was none (or it is the owner). */
  async removeParticipant(roomUuid: string, userId: string): Promise<boolean> {
    if (!isUuid(userId)) return false;
    const deleted = await this.db('room_participants')
      .where({ room_id: roomUuid, user_id: userId })
      .whereNot('role', 'owner')
      .delete()
      .returning(['user_id']);
    return deleted.length > 0;
  }

  /**
   * Records a request by `userId` to join with `role`. A user has at most one pending request per
   * room (unique (room_id, user_id)): asking again returns the pending request with `created: false`.
   * Undefined when the room (or user) no longer exists.
   *
   * Race: the pending request found by the INSERT ... ON CONFLICT may be answered before it is read
   * back; then the insert is simply tried again.
   */
  async createJoinRequest(
    roomUuid: string,
    userId: string,
    role: AssignableRole,
  ): Promise<{ request: JoinRequestRecord; created: boolean } | undefined> {
    if (!isUuid(userId)) return undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      let inserted: unknown[];
      try {
        inserted = await this.db('join_requests')
          .insert({ id: newRowId(), room_id: roomUuid, user_id: userId, role })
          .onConflict(['room_id', 'user_id'])
          .ignore()
          .returning(['id']);
      } catch (err) {
        if (isForeignKeyViolation(err)) return undefined;
        throw err;
      }
      const request = await this.requestQuery(this.db, roomUuid).andWhere('j.user_id', userId).first();
      if (request) return { request: toRequest(request), created: inserted.length > 0 };
    }
    throw new Error('the join request kept being answered while it was being created');
  }

  /** The pending request with this id in this room, or undefined. */
  async findJoinRequest(roomUuid: string, requestId: string): Promise<JoinRequestRecord | undefined> {
    if (!isUuid(requestId)) return undefined;
    const row = await this.requestQuery(this.db, roomUuid).andWhere('j.id', requestId).first();
    return row ? toRequest(row) : undefined;
  }

  /** Every pending request of the room, oldest first. */
  async listJoinRequests(roomUuid: string): Promise<JoinRequestRecord[]> {
    const rows = await this.requestQuery(this.db, roomUuid).orderBy('j.created_at', 'asc');
    return rows.map(toRequest);
  }

  /**
   * Ends a pending request without admitting anyone. Returns the request if this call ended it;
   * undefined if it had already ended. DELETE ... RETURNING makes "answered twice at once" safe:
   * exactly one caller gets the row.
   */
  async deleteJoinRequest(roomUuid: string, requestId: string): Promise<JoinRequestRecord | undefined> {
    if (!isUuid(requestId)) return undefined;
    return this.db.transaction(async (trx) => {
      const row = await this.requestQuery(trx, roomUuid).andWhere('j.id', requestId).first();
      if (!row) return undefined;
      const deleted = await trx('join_requests').where({ id: requestId, room_id: roomUuid }).delete().returning(['id']);
      return deleted.length > 0 ? toRequest(row) : undefined;
    });
  }

  /** Ends the pending request of `userId` in the room, if any (for a requester who went away). */
  async deleteJoinRequestOf(roomUuid: string, userId: string): Promise<JoinRequestRecord | undefined> {
    if (!isUuid(userId)) return undefined;
    const row = await this.requestQuery(this.db, roomUuid).andWhere('j.user_id', userId).first();
    if (!row) return undefined;
    return this.deleteJoinRequest(roomUuid, row.id);
  }

  /**
   * Admits the requester of a pending request with `role`, in one transaction: the request is
   * deleted and the participant added. Returns undefined if the request had already ended (another
   * answer won); `added: false` if the requester had meanwhile become a participant another way.
   */
  async admitJoinRequest(
    roomUuid: string,
    requestId: string,
    role: AssignableRole,
  ): Promise<{ request: JoinRequestRecord; participant: ParticipantRecord; added: boolean } | undefined> {
    if (!isUuid(requestId)) return undefined;
    return this.db.transaction(async (trx) => {
      const row = await this.requestQuery(trx, roomUuid).andWhere('j.id', requestId).first();
      if (!row) return undefined;
      // A concurrent answer blocks on this DELETE's row lock and then deletes nothing.
      const deleted = await trx('join_requests').where({ id: requestId, room_id: roomUuid }).delete().returning(['id']);
      if (deleted.length === 0) return undefined;
      const request = toRequest(row);
      const result = await this.addIfAbsent(trx, roomUuid, request.userId, role);
      return { request, ...result };
    });
  }

  /** INSERT ... ON CONFLICT DO NOTHING, then read the row that is there (ours or the winner's). */
  private async addIfAbsent(
    trx: Knex,
    roomUuid: string,
    userId: string,
    role: AssignableRole,
  ): Promise<{ participant: ParticipantRecord; added: boolean }> {
    const inserted = await trx('room_participants')
      .insert({ room_id: roomUuid, user_id: userId, role })
      .onConflict(['room_id', 'user_id'])
      .ignore()
      .returning(['user_id']);
    const row = await this.participantQuery(trx, roomUuid).andWhere('p.user_id', userId).first();
    if (!row) throw new Error(`participant ${userId} vanished right after being added`);
    return { participant: toParticipant(row), added: inserted.length > 0 };
  }

  private participantQuery(db: Knex, roomUuid: string) {
    return db('room_participants as p')
      .join('users as u', 'u.id', 'p.user_id')
      .where('p.room_id', roomUuid)
      .select<ParticipantRow[]>('p.user_id', 'u.username', 'p.role', 'p.joined_at');
  }

  private requestQuery(db: Knex, roomUuid: string) {
    return db('join_requests as j')
      .join('users as u', 'u.id', 'j.user_id')
      .where('j.room_id', roomUuid)
      .select<RequestRow[]>('j.id', 'j.room_id', 'j.user_id', 'u.username', 'j.role', 'j.created_at');
  }
}

interface ParticipantRow {
  user_id: string;
  username: string;
  role: Role;
  joined_at: Date | string;
}

interface RequestRow {
  id: string;
  room_id: string;
  user_id: string;
  username: string;
  role: AssignableRole;
  created_at: Date | string;
}

function toRoom(row: RoomRow): RoomRecord {
  return {
    roomUuid: row.id,
    roomId: row.room_id,
    name: row.name,
    ownerId: row.owner_id,
    isPrivate: row.is_private,
    createdAt: new Date(row.created_at),
  };
}

function toParticipant(row: ParticipantRow): ParticipantRecord {
  return { userId: row.user_id, username: row.username, role: row.role, joinedAt: new Date(row.joined_at) };
}

function toRequest(row: RequestRow): JoinRequestRecord {
  return {
    id: row.id,
    roomUuid: row.room_id,
    userId: row.user_id,
    username: row.username,
    role: row.role,
    createdAt: new Date(row.created_at),
  };
}
