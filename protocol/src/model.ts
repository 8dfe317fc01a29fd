/**
 * Value types shared by the events: users, participants, rooms, files, committed operations as
 * they travel on the wire, and remote cursors. Plain data only; see `validate.ts` for their
 * runtime schemas and PROTOCOL.md for their meaning.
 */
import type { CommittedOp } from './sequencer';
import type { Selection } from './text-op';

/** What a participant may do in a room. There is exactly one owner per room. */
export type Role = 'owner' | 'editor' | 'viewer';

/** The roles the owner can give (ownership is not transferable through the protocol). */
export type AssignableRole = Exclude<Role, 'owner'>;

/** Every role, for validation. */
export const ROLES: readonly Role[] = ['owner', 'editor', 'viewer'];

/** The roles that can be requested or assigned, for validation. */
export const ASSIGNABLE_ROLES: readonly AssignableRole[] = ['editor', 'viewer'];

/** The owner's answer to a join request: admit with a role, or refuse. */
export type JoinDecision = AssignableRole | 'deny';

/** Every join decision, for validation. */
export const JOIN_DECISIONS: readonly JoinDecision[] = ['editor', 'viewer', 'deny'];

/** A user as others see them. */
export interface UserInfo {
  readonly id: string;
  readonly username: string;
}

/** A member of a room, with their presence. */
export interface Participant {
  readonly userId: string;
  readonly username: string;
  readonly role: Role;
  /** Assigned by the server, stable per room: a CSS colour (`#1f77b4`) or a theme colour id (`charts.blue`). */
  readonly color: string;
  /** The file the participant's focused editor shows, or null. */
  readonly activeFileId: string | null;
  /** True while the participant has at least one connection joined to the room. */
  readonly online: boolean;
}

/** A file of a room. `version` is the file's head version when this value was produced. */
export interface FileInfo {
  readonly id: string;
  /** Normalised relative path (see `normalizePath`), unique within the room. */
  readonly path: string;
  /** VS Code language id, e.g. `typescript`. */
  readonly language: string;
  readonly version: number;
}

/** A room. */
export interface RoomInfo {
  readonly roomId: string;
  readonly ownerId: string;
  /** A private room admits only participants; others must ask the owner (`room:requestJoin`). */
  readonly isPrivate: boolean;
  /** Creation time as an ISO 8601 string, e.g. `2025-01-31T12:00:00.000Z`. */
  readonly createdAt: string;
}

/**
 * A committed operation as it travels on the wire (broadcasts, fetch and catch-up replies): the
 * file's log entry plus the file it belongs to. `version` is the file's version after the op.
 */
export interface WireOp extends CommittedOp {
  readonly fileId: string;
  /** The id of the user who submitted the op. */
  readonly author: string;
  /** Commit time, milliseconds since the Unix epoch. */
  readonly at: number;
}

/**
 * A client's last committed submission on a file: its highest committed `seq` and the version that
 * op was committed as. Sent in `file:open` replies so that a client can tell whether its in-flight
 * op is already in the text it receives (and acknowledge it).
 */
export interface LastCommitted {
  readonly seq: number;
  readonly version: number;
}

/** A range of offsets `[start, end]` with `start <= end`. */
export interface OffsetRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Another client's carets and selections in a file. Offsets are UTF-16 code units in the canonical
 * text of the file at `version`. Ephemeral: relayed, never stored.
 */
export interface RemoteCursor {
  readonly fileId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly version: number;
  readonly selections: readonly Selection[];
  /** The part of the file visible in the sender's editor, if it said. */
  readonly visible?: OffsetRange;
}
