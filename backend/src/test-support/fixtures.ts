/**
 * Minimal rows for storage-level tests that need a file to exist (users, a room, files), inserted
 * directly so those tests do not depend on the account and room services.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

/** A user, a room they own, and the ids of files created in it. */
export interface Fixture {
  readonly userId: string;
  readonly roomUuid: string;
  readonly roomId: string;
}

/** Inserts a user and a room owned by them. */
export async function createUserAndRoom(db: Knex, name = `u${randomBytes(4).toString('hex')}`): Promise<Fixture> {
  const userId = randomUUID();
  await db('users').insert({ id: userId, username: name, username_key: name.toLowerCase(), password_hash: 'x' });
  const roomUuid = randomUUID();
  const roomId = randomBytes(16).toString('base64url');
  await db('rooms').insert({ id: roomUuid, room_id: roomId, owner_id: userId, is_private: true });
  await db('room_participants').insert({ room_id: roomUuid, user_id: userId, role: 'owner' });
  return { userId, roomUuid, roomId };
}

/** Inserts a file with `content` at version 0; returns its id. */
export async function createFile(db: Knex, fixture: Fixture, content = '', name = `f-${randomBytes(4).toString('hex')}.txt`): Promise<string> {
  const id = randomUUID();
  await db('files').insert({ id, room_id: fixture.roomUuid, name, language: 'plaintext', content, version: 0, created_by: fixture.userId });
  return id;
}

/** A fresh client id (URL-safe, 22 chars). */
export function newClientId(): string {
  return randomBytes(16).toString('base64url');
}
