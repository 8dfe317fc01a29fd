/**
 * What the Socket.IO transport needs from the domain, as narrow interfaces. The composition root
 * (`app.ts`) adapts the domain services to these, so the transport depends on no storage and the
 * domain on no transport.
 */
import type {
  AssignableRole,
  FileInfo,
  JoinDecision,
  Participant,
  Result,
  Role,
  RoomInfo,
} from '@collab/protocol';

/** The authenticated user behind a socket. */
export interface AuthUser {
  readonly userId: string;
  readonly username: string;
  /** When the token expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** Verifies bearer tokens. */
export interface AuthPort {
  /** The user a token names (who must still exist), or UNAUTHENTICATED / TOKEN_EXPIRED. */
  authenticate(token: string): Promise<Result<AuthUser>>;
}

/** A room as the socket layer sees it after a successful join. */
export interface JoinedRoom {
  readonly room: RoomInfo;
  /** Internal id (the file sessions and storage use it). */
  readonly roomUuid: string;
  readonly you: Participant;
  readonly participants: readonly Participant[];
}

/** Room membership and administration. Every call checks the caller's rights itself. */
export interface RoomsPort {
  join(roomId: string, user: AuthUser): Promise<Result<JoinedRoom>>;
  requestJoin(roomId: string, user: AuthUser, role: AssignableRole): Promise<Result<{ requestId: string }>>;
  answerJoin(roomId: string, requestId: string, decision: JoinDecision, user: AuthUser): Promise<Result<void>>;
  deleteRoom(roomId: string, user: AuthUser): Promise<Result<void>>;
  setRole(roomId: string, targetUserId: string, role: AssignableRole, user: AuthUser): Promise<Result<void>>;
  removeParticipant(roomId: string, targetUserId: string, user: AuthUser): Promise<Result<void>>;
  /** The caller's current role in the room, or undefined if not a participant. */
  roleOf(roomId: string, userId: string): Promise<Role | undefined>;
  /** Ends the user's pending request to join (their last connection went away). */
  withdrawJoinRequest(roomId: string, userId: string): Promise<void>;
}

/** Files of a room. Every call checks that the caller may see (or change) them. */
export interface FilesPort {
  list(roomId: string, user: AuthUser): Promise<Result<FileInfo[]>>;
  /** The file, only if it belongs to this room (a guessed id from another room is FILE_NOT_FOUND). */
  get(roomId: string, fileId: string, user: AuthUser): Promise<Result<FileInfo>>;
  create(roomId: string, input: { path: string; language: string; content: string }, user: AuthUser): Promise<Result<FileInfo>>;
  rename(roomId: string, fileId: string, path: string, user: AuthUser): Promise<Result<FileInfo>>;
  delete(roomId: string, fileId: string, user: AuthUser): Promise<Result<void>>;
}
