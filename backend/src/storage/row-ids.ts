/**
 * Identifiers issued by the server: UUIDs for rows (users, rooms, files, join requests) and the
 * public room id, an unguessable 128-bit handle.
 */
import { randomBytes, randomUUID } from 'node:crypto';

/** Lowercase only: the spelling the server issues and PostgreSQL returns, so one row has one id string. */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A fresh random (v4) UUID for a new row. */
export function newRowId(): string {
  return randomUUID();
}

/** A fresh public room id: 16 random bytes (128 bits) in base64url, 22 characters. */
export function newPublicRoomId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * True when `id` can be compared with a `uuid` column. Ids arriving from clients only have to match
 * the protocol's ID_PATTERN; PostgreSQL raises an error (not "no row") when a non-UUID string is
 * compared with a uuid column, so repositories answer "not found" for them without querying. An
 * uppercase spelling of an id is not one the server issued and is not found either: the commit path
 * keys its caches and matches its results by the id as a string, which PostgreSQL returns lowercase.
 */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID_PATTERN.test(id);
}
