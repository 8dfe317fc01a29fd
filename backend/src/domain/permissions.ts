/**
 * What each role may do (PROTOCOL.md §11.1), as pure functions. Authorisation is always decided
 * with the role read at the moment of the request, never a role cached from an earlier one.
 */
import { ErrorCode, fail, ok, type Result, type Role } from '@collab/protocol';

const RANK: Readonly<Record<Role, number>> = { viewer: 0, editor: 1, owner: 2 };

/** True when `role` may change a room's content: submit ops, create, rename and delete files. */
export function canEdit(role: Role): boolean {
  return RANK[role] >= RANK.editor;
}

/** True when `role` may manage the room: answer join requests, change roles, remove people, delete it. */
export function canManage(role: Role): boolean {
  return role === 'owner';
}

/** `ok(role)` when `role` is at least `minimum` (viewer < editor < owner), otherwise `FORBIDDEN`. */
export function requireRole(role: Role, minimum: Role): Result<Role> {
  if (RANK[role] >= RANK[minimum]) return ok(role);
  const needed = minimum === 'owner' ? 'only the owner of the room may do this' : `a ${role} may not do this; it needs the ${minimum} role`;
  return fail(ErrorCode.FORBIDDEN, needed);
}
