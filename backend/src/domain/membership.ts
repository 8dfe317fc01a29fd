/**
 * Resolves "who is this user in this room" for every room-scoped request, with one rule for what a
 * non-participant learns: of a private room, nothing (`ROOM_NOT_FOUND`, exactly as for a room that
 * does not exist, so guessing ids reveals nothing); of a public room, that they must join first
 * (`NOT_A_PARTICIPANT`).
 */
import { ErrorCode, ROOM_ID_PATTERN, fail, ok, type Result } from '@collab/protocol';
import type { ParticipantRecord, RoomRecord, RoomsRepo } from '../storage/rooms-repo';

/** A room and the caller's participant record in it. */
export interface Membership {
  readonly room: RoomRecord;
  readonly participant: ParticipantRecord;
}

/** The one message for "no room", whether it does not exist or is private to others. */
export const ROOM_NOT_FOUND_MESSAGE = 'no such room';

/** The room with this public id, or `ROOM_NOT_FOUND` (also for ids that cannot be room ids). */
export async function findRoom(rooms: RoomsRepo, roomId: string): Promise<Result<RoomRecord>> {
  if (typeof roomId !== 'string' || !ROOM_ID_PATTERN.test(roomId)) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
  const room = await rooms.findByPublicId(roomId);
  return room ? ok(room) : fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
}

/**
 * The caller's membership of the room: `ROOM_NOT_FOUND` if the room does not exist or is private
 * and they are not in it; `NOT_A_PARTICIPANT` if it is public and they have not joined it.
 */
export async function resolveMembership(rooms: RoomsRepo, roomId: string, userId: string): Promise<Result<Membership>> {
  const found = await findRoom(rooms, roomId);
  if (!found.ok) return found;
  const room = found.value;
  const participant = await rooms.getParticipant(room.roomUuid, userId);
  if (participant) return ok({ room, participant });
  if (room.isPrivate) return fail(ErrorCode.ROOM_NOT_FOUND, ROOM_NOT_FOUND_MESSAGE);
  return fail(ErrorCode.NOT_A_PARTICIPANT, 'you are not a participant of this room; join it first');
}
