/**
 * The typed Socket.IO event maps. They are plain interfaces: the backend passes them as
 * `Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents>` and the extension as
 * `Socket<ServerToClientEvents, ClientToServerEvents>`; this package does not depend on Socket.IO.
 *
 * Every client→server request is `emit(name, payload, ack)`, answered once through `ack` with a
 * `Reply`. The two fire-and-forget events (`cursor:update`, `presence:update`) take no ack; errors
 * on them come back as `session:error`. Event names are also available as constants (`Events`) so
 * that a misspelt name fails to compile. PROTOCOL.md specifies each event.
 */
import type { ErrorBody } from './errors';
import type { Limits } from './limits';
import type {
  AssignableRole,
  FileInfo,
  JoinDecision,
  LastCommitted,
  OffsetRange,
  Participant,
  RemoteCursor,
  RoomInfo,
  UserInfo,
  WireOp,
} from './model';
import type { Selection, TextOp } from './text-op';

// ---------------------------------------------------------------------------------------------
// Names

/** Client→server event names. */
export const ClientEvent = {
  roomJoin: 'room:join',
  roomLeave: 'room:leave',
  roomRequestJoin: 'room:requestJoin',
  roomAnswerJoin: 'room:answerJoin',
  roomDelete: 'room:delete',
  participantSetRole: 'participant:setRole',
  participantRemove: 'participant:remove',
  fileCreate: 'file:create',
  fileRename: 'file:rename',
  fileDelete: 'file:delete',
  fileOpen: 'file:open',
  fileClose: 'file:close',
  opSubmit: 'op:submit',
  opsFetch: 'ops:fetch',
  fileVerify: 'file:verify',
  cursorUpdate: 'cursor:update',
  presenceUpdate: 'presence:update',
} as const;

/** A client→server event name. */
export type ClientEventName = (typeof ClientEvent)[keyof typeof ClientEvent];

/** Server→client event names. */
export const ServerEvent = {
  op: 'op',
  ops: 'ops',
  cursor: 'cursor',
  cursorClear: 'cursor:clear',
  participantJoined: 'participant:joined',
  participantLeft: 'participant:left',
  participantUpdated: 'participant:updated',
  participants: 'participants',
  roleChanged: 'role:changed',
  roomRemoved: 'room:removed',
  fileCreated: 'file:created',
  fileRenamed: 'file:renamed',
  fileDeleted: 'file:deleted',
  joinRequest: 'joinRequest',
  joinRequestResolved: 'joinRequest:resolved',
  sessionError: 'session:error',
} as const;

/** A server→client event name. */
export type ServerEventName = (typeof ServerEvent)[keyof typeof ServerEvent];

/** Events between backend nodes (Socket.IO `serverSideEmit`). */
export const InterServerEvent = {
  roleChanged: 'roleChanged',
  participantRemoved: 'participantRemoved',
  roomDeleted: 'roomDeleted',
} as const;

/** An inter-server event name. */
export type InterServerEventName = (typeof InterServerEvent)[keyof typeof InterServerEvent];

/** Every client↔server event name, e.g. `Events.opSubmit === 'op:submit'`, `Events.op === 'op'`. */
export const Events = { ...ClientEvent, ...ServerEvent } as const;

/** Every client→server event name, for iteration. */
export const CLIENT_EVENT_NAMES: readonly ClientEventName[] = Object.values(ClientEvent);

/** Every server→client event name, for iteration. */
export const SERVER_EVENT_NAMES: readonly ServerEventName[] = Object.values(ServerEvent);

/** The client→server events that take no ack. */
export const FIRE_AND_FORGET_EVENTS: readonly ClientNotifyEventName[] = [
  ClientEvent.cursorUpdate,
  ClientEvent.presenceUpdate,
];

/** True for a client→server event that is answered through an ack. */
export function expectsAck(event: ClientEventName): boolean {
  return !(FIRE_AND_FORGET_EVENTS as readonly string[]).includes(event);
}

// ---------------------------------------------------------------------------------------------
// Replies

/** The single answer to a request: the reply fields with `ok: true`, or an error. */
export type Reply<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly error: ErrorBody };

/** The acknowledgement callback of a request. */
export type Ack<T> = (reply: Reply<T>) => void;

/** A reply that carries nothing but `ok: true`. */
export type NoFields = Record<never, never>;

// ---------------------------------------------------------------------------------------------
// Client→server payloads and replies

export interface RoomJoinPayload {
  readonly roomId: string;
}
export interface RoomJoinReply {
  readonly room: RoomInfo;
  /** The caller as a participant (their role and colour). */
  readonly you: Participant;
  /** Every participant, the caller included. */
  readonly participants: readonly Participant[];
  readonly files: readonly FileInfo[];
  /** The limits in force on this server. */
  readonly limits: Limits;
}

export interface RoomLeavePayload {
  readonly roomId: string;
}

export interface RoomRequestJoinPayload {
  readonly roomId: string;
  readonly role: AssignableRole;
}
export interface RoomRequestJoinReply {
  readonly requestId: string;
}

export interface RoomAnswerJoinPayload {
  readonly roomId: string;
  readonly requestId: string;
  readonly decision: JoinDecision;
}

export interface RoomDeletePayload {
  readonly roomId: string;
}

export interface ParticipantSetRolePayload {
  readonly roomId: string;
  readonly userId: string;
  readonly role: AssignableRole;
}

export interface ParticipantRemovePayload {
  readonly roomId: string;
  readonly userId: string;
}

export interface FileCreatePayload {
  readonly roomId: string;
  /** Any acceptable path; the server normalises it (`normalizePath`). */
  readonly path: string;
  readonly language: string;
  /**
   * The initial text (version 0), canonical, at most `limits.maxOpInsertLength` code units (so that
   * the frame fits in `maxFrameBytes`). A larger file is created with its first part; the rest is
   * appended with ops.
   */
  readonly content: string;
}
export interface FileRenamePayload {
  readonly roomId: string;
  readonly fileId: string;
  readonly path: string;
}
/** The reply to `file:create` and `file:rename`. */
export interface FileReply {
  readonly file: FileInfo;
}

export interface FileDeletePayload {
  readonly roomId: string;
  readonly fileId: string;
}

export interface FileOpenPayload {
  readonly roomId: string;
  readonly fileId: string;
  readonly clientId: string;
  /** The version the client already has (on a re-open): ask for the ops since then. */
  readonly knownVersion?: number;
  /**
   * Only without `knownVersion`, when resynchronising (`resyncFence`): the seq of the client's
   * in-flight op. Atomically with reading the snapshot and `lastCommitted`, the server records that
   * this clientId's submissions on the file with `seq <= fenceSeq` that are not already committed
   * are refused from then on (`STALE_SUBMISSION`), so a copy still in transit cannot land after the
   * client has rebased the same typing into a new op.
   */
  readonly fenceSeq?: number;
}
/** `file:open` without `knownVersion`: the head text. */
export interface FileSnapshotReply {
  readonly mode: 'snapshot';
  readonly version: number;
  readonly text: string;
  /** This clientId's last committed submission on the file (read with `text`), or null when it has none. */
  readonly lastCommitted: LastCommitted | null;
}
/** `file:open` with `knownVersion`: the ops since then. */
export interface FileOpsReply {
  readonly mode: 'ops';
  /** The head version. */
  readonly version: number;
  /**
   * The ops `knownVersion + 1 ..`, consecutive and ascending, at most `limits.maxFetchOps` and
   * possibly fewer (a reply size cap); fetch the rest up to `version`.
   */
  readonly ops: readonly WireOp[];
  /** This clientId's last committed submission on the file, or null when it has none. */
  readonly lastCommitted: LastCommitted | null;
}
export type FileOpenReply = FileSnapshotReply | FileOpsReply;

export interface FileClosePayload {
  readonly roomId: string;
  readonly fileId: string;
}

export interface OpSubmitPayload {
  readonly roomId: string;
  readonly fileId: string;
  readonly clientId: string;
  readonly seq: number;
  readonly baseVersion: number;
  readonly op: TextOp;
}
export interface OpSubmitReply {
  /** The version the op was committed as. */
  readonly version: number;
  /** True when this (clientId, seq) had already been committed: nothing new was done. */
  readonly duplicate: boolean;
}

export interface OpsFetchPayload {
  readonly roomId: string;
  readonly fileId: string;
  /** First version wanted (inclusive, at least 1). */
  readonly from: number;
  /** Last version wanted (inclusive; `to - from + 1 <= limits.maxFetchOps`). Versions beyond the head are not returned. */
  readonly to: number;
}
export interface OpsFetchReply {
  /**
   * Consecutive ops from `from`, ascending: all of `from..min(to, head)`, or a non-empty prefix of
   * them when the whole would make the reply larger than `limits.maxFrameBytes`. Empty only when
   * `from` is beyond the head. The client asks again for what is still missing.
   */
  readonly ops: readonly WireOp[];
}

export interface FileVerifyPayload {
  readonly roomId: string;
  readonly fileId: string;
  readonly version: number;
  /** `textHash` of the client's server text at `version`. */
  readonly hash: string;
}
export interface FileVerifyReply {
  readonly head: number;
  /** Whether the hashes agree; null when the server does not have the hash of `version`. */
  readonly match: boolean | null;
}

export interface CursorUpdatePayload {
  readonly roomId: string;
  readonly fileId: string;
  readonly version: number;
  readonly selections: readonly Selection[];
  readonly visible?: OffsetRange;
}

export interface PresenceUpdatePayload {
  readonly roomId: string;
  readonly activeFileId: string | null;
}

/** Client→server events. */
export interface ClientToServerEvents {
  'room:join': (payload: RoomJoinPayload, ack: Ack<RoomJoinReply>) => void;
  'room:leave': (payload: RoomLeavePayload, ack: Ack<NoFields>) => void;
  'room:requestJoin': (payload: RoomRequestJoinPayload, ack: Ack<RoomRequestJoinReply>) => void;
  'room:answerJoin': (payload: RoomAnswerJoinPayload, ack: Ack<NoFields>) => void;
  'room:delete': (payload: RoomDeletePayload, ack: Ack<NoFields>) => void;
  'participant:setRole': (payload: ParticipantSetRolePayload, ack: Ack<NoFields>) => void;
  'participant:remove': (payload: ParticipantRemovePayload, ack: Ack<NoFields>) => void;
  'file:create': (payload: FileCreatePayload, ack: Ack<FileReply>) => void;
  'file:rename': (payload: FileRenamePayload, ack: Ack<FileReply>) => void;
  'file:delete': (payload: FileDeletePayload, ack: Ack<NoFields>) => void;
  'file:open': (payload: FileOpenPayload, ack: Ack<FileOpenReply>) => void;
  'file:close': (payload: FileClosePayload, ack: Ack<NoFields>) => void;
  'op:submit': (payload: OpSubmitPayload, ack: Ack<OpSubmitReply>) => void;
  'ops:fetch': (payload: OpsFetchPayload, ack: Ack<OpsFetchReply>) => void;
  'file:verify': (payload: FileVerifyPayload, ack: Ack<FileVerifyReply>) => void;
  'cursor:update': (payload: CursorUpdatePayload) => void;
  'presence:update': (payload: PresenceUpdatePayload) => void;
}

// ---------------------------------------------------------------------------------------------
// Server→client payloads

/** `cursor:clear`: a client's cursor in a file is gone (it closed the file or disconnected). */
export interface CursorClear {
  readonly fileId: string;
  readonly userId: string;
  readonly clientId: string;
}

/** `participant:joined` and `participant:updated`: a participant of `roomId`. */
export type ParticipantEvent = Participant & { readonly roomId: string };

/** One event of a `participants` frame: what a `participant:joined` or `participant:updated` would carry. */
export interface ParticipantChange {
  readonly event: 'participant:joined' | 'participant:updated';
  readonly participant: ParticipantEvent;
}

/** `participants`: two or more participant events of one room, in the order they happened (PROTOCOL.md §11.7). */
export interface ParticipantsBatch {
  readonly roomId: string;
  readonly changes: ParticipantChange[];
}

export interface ParticipantLeft {
  readonly roomId: string;
  readonly userId: string;
}

/** `role:changed`: the receiving user's own role in `roomId` changed. */
export interface RoleChanged {
  readonly roomId: string;
  readonly role: AssignableRole;
}

/** `room:removed`: the receiving user no longer has access to `roomId`. */
export interface RoomRemoved {
  readonly roomId: string;
  readonly reason: 'removed' | 'deleted';
}

/** `file:created` and `file:renamed`. */
export type FileEvent = FileInfo & { readonly roomId: string };

export interface FileDeleted {
  readonly roomId: string;
  readonly fileId: string;
}

/** `joinRequest`, to the owner: a user asks to join a private room. */
export interface JoinRequest {
  readonly roomId: string;
  readonly requestId: string;
  readonly user: UserInfo;
  readonly role: AssignableRole;
}

/** `joinRequest:resolved`, to the requester and the owner. */
export interface JoinRequestResolved {
  readonly roomId: string;
  readonly requestId: string;
  readonly decision: JoinDecision;
}

/** `session:error`: an error on a fire-and-forget event, or about the connection itself. */
export interface SessionError extends ErrorBody {
  /** The client→server event that caused it, when there is one. */
  readonly event?: string;
}

/** Server→client events. */
/** Payload of `ops`: ops of `fileId` committed together (two or more, consecutive versions, ascending). */
export interface OpsBatch {
  readonly fileId: string;
  readonly ops: WireOp[];
}

/** Server→client events (all fire-and-forget). */
export interface ServerToClientEvents {
  op: (op: WireOp) => void;
  /** Ops of one file committed together: two or more, consecutive versions, ascending. */
  ops: (batch: OpsBatch) => void;
  cursor: (cursor: RemoteCursor) => void;
  'cursor:clear': (payload: CursorClear) => void;
  'participant:joined': (participant: ParticipantEvent) => void;
  'participant:left': (payload: ParticipantLeft) => void;
  'participant:updated': (participant: ParticipantEvent) => void;
  /** Participant events of one room sent together under a burst: each is handled as if sent alone. */
  participants: (batch: ParticipantsBatch) => void;
  'role:changed': (payload: RoleChanged) => void;
  'room:removed': (payload: RoomRemoved) => void;
  'file:created': (file: FileEvent) => void;
  'file:renamed': (file: FileEvent) => void;
  'file:deleted': (payload: FileDeleted) => void;
  joinRequest: (request: JoinRequest) => void;
  'joinRequest:resolved': (payload: JoinRequestResolved) => void;
  'session:error': (error: SessionError) => void;
}

// ---------------------------------------------------------------------------------------------
// Inter-server events

/** Between backend nodes, so that each updates the sockets it holds. */
export interface InterServerEvents {
  roleChanged: (payload: { readonly roomId: string; readonly userId: string; readonly role: AssignableRole }) => void;
  participantRemoved: (payload: { readonly roomId: string; readonly userId: string }) => void;
  roomDeleted: (payload: { readonly roomId: string }) => void;
}

// ---------------------------------------------------------------------------------------------
// Derived types

/** The payload of a client→server event. */
export type ClientPayload<K extends ClientEventName> = Parameters<ClientToServerEvents[K]>[0];

/** The client→server events answered through an ack. */
export type ClientRequestEventName = {
  [K in ClientEventName]: Parameters<ClientToServerEvents[K]>['length'] extends 2 ? K : never;
}[ClientEventName];

/** The client→server events without an ack. */
export type ClientNotifyEventName = Exclude<ClientEventName, ClientRequestEventName>;

/** The reply fields (without `ok`) of a client→server request. */
export type ClientReply<K extends ClientRequestEventName> =
  Parameters<ClientToServerEvents[K]>[1] extends Ack<infer T> | undefined ? T : never;

/** The payload of a server→client event. */
export type ServerPayload<K extends ServerEventName> = Parameters<ServerToClientEvents[K]>[0];

// Compile-time checks: the name constants and the event maps list exactly the same events.
type Equals<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
// eslint-disable-next-line @typescript-eslint/no-unused-vars
type _EventNameChecks = [
  Assert<Equals<ClientEventName, keyof ClientToServerEvents>>,
  Assert<Equals<ServerEventName, keyof ServerToClientEvents>>,
  Assert<Equals<InterServerEventName, keyof InterServerEvents>>,
  Assert<Equals<ClientNotifyEventName, 'cursor:update' | 'presence:update'>>,
];
