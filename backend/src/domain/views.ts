/**
 * Conversions from stored records to the protocol's wire types. Presence (`online`,
 * `activeFileId`) is the socket layer's knowledge: the domain always reports offline / no file.
 */
import type { FileInfo, Participant, RoomInfo } from '@collab/protocol';
import type { FileRecord } from '../storage/files-repo';
import type { ParticipantRecord, RoomRecord } from '../storage/rooms-repo';
import { participantColor } from './colors';

/** A room as the API shows it: the protocol's RoomInfo plus its optional display name. */
export interface RoomView extends RoomInfo {
  readonly name: string | null;
}

/** The wire form of a room. */
export function toRoomView(room: RoomRecord): RoomView {
  return {
    roomId: room.roomId,
    ownerId: room.ownerId,
    isPrivate: room.isPrivate,
    createdAt: room.createdAt.toISOString(),
    name: room.name,
  };
}

/** The wire form of a participant (with their colour in this room; presence left to the socket layer). */
export function toParticipant(roomId: string, p: ParticipantRecord): Participant {
  return {
    userId: p.userId,
    username: p.username,
    role: p.role,
    color: participantColor(roomId, p.userId),
    activeFileId: null,
    online: false,
  };
}

/** The wire form of a file at `version`. */
export function toFileInfo(file: FileRecord, version: number = file.version): FileInfo {
  return { id: file.id, path: file.path, language: file.language, version };
}
