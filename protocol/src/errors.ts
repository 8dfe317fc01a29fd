/**
 * Stable error codes shared by client and server.
 *
 * A client decides what to do from the code alone, never from the message text. Codes are grouped
 * by what the receiver should do: retry the same request later, repair its own state and retry, or
 * give up and tell the user.
 */

/** Every error code the protocol can produce, as a stable string. */
export const ErrorCode = {
  // --- Bad input: the request is wrong and retrying it unchanged will fail again. Nothing changed.
  /** The payload does not match the event's schema (wrong types, missing fields, unknown event). */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  /** An operation is malformed: not an array of components, a zero/non-integer count, or not canonical. */
  INVALID_OP: 'INVALID_OP',
  /** An operation's base length differs from the length of the text it is applied to. */
  OP_BASE_LENGTH_MISMATCH: 'OP_BASE_LENGTH_MISMATCH',
  /** An insert is ill-formed UTF-16, contains `\r`, or an operation boundary splits a surrogate pair. */
  INVALID_TEXT: 'INVALID_TEXT',
  /**
   * An operation exceeds the insert-length or component-count limit, or `file:create` content is
   * longer than the insert-length limit (create the file with its first part, then append with ops).
   */
  OP_TOO_LARGE: 'OP_TOO_LARGE',
  /** The file would exceed the document length limit (after the operation, or as `file:create` content). */
  DOCUMENT_TOO_LARGE: 'DOCUMENT_TOO_LARGE',
  /**
   * A file path is empty, too long, absolute, contains a `..` segment, a backslash, a control
   * character or a lone surrogate, or names nothing once normalised. (Empty and `.` segments are
   * normalised away, not refused.)
   */
  INVALID_PATH: 'INVALID_PATH',
  /** The submitted base version is ahead of the server's head: the client invented a version. */
  VERSION_AHEAD: 'VERSION_AHEAD',
  /**
   * A `seq` older than the client's last committed one that is not that op (a stale replay), or one
   * the client abandoned when it resynchronised (`file:open` with `fenceSeq`) that was not committed.
   */
  STALE_SUBMISSION: 'STALE_SUBMISSION',
  /** The requested range of versions starts at 0, is reversed or is longer than `maxFetchOps`. */
  INVALID_RANGE: 'INVALID_RANGE',

  // --- Repairable: the client must resynchronise its state, then it can continue.
  /** The history between the client's base version and the head was compacted away. */
  HISTORY_COMPACTED: 'HISTORY_COMPACTED',
  /** The client's text at a version does not match the server's (detected by hash). */
  DIVERGED: 'DIVERGED',

  // --- Authentication and authorisation.
  /** No valid token was presented, or it was tampered with. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The token was valid but has expired: sign in again (pending edits are kept). */
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** The caller's role does not allow this action (for example a viewer submitting an op). */
  FORBIDDEN: 'FORBIDDEN',
  /** The caller, or the target user of an owner action, is not a participant of the room. */
  NOT_A_PARTICIPANT: 'NOT_A_PARTICIPANT',
  /** The `clientId` is already bound to another user. */
  CLIENT_ID_TAKEN: 'CLIENT_ID_TAKEN',
  /** The username or e-mail address is already registered. */
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  /** Unknown user or wrong password (deliberately not saying which). */
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  /** The password does not meet the strength rules. */
  WEAK_PASSWORD: 'WEAK_PASSWORD',

  // --- Not found / conflicts.
  /** No room with this id is visible to the caller. */
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  /** No file with this id or path in the room. */
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  /** No user with this username (for example when inviting). */
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  /** A file already exists at this path. */
  PATH_TAKEN: 'PATH_TAKEN',
  /** The socket has not joined the room (or opened the file) this request refers to. */
  NOT_JOINED: 'NOT_JOINED',

  // --- Quotas.
  /** Too many requests in a short time (token bucket exhausted); retry after `retryAfterMs`. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The room already holds the maximum number of files. */
  TOO_MANY_FILES: 'TOO_MANY_FILES',
  /** The user already owns the maximum number of rooms. */
  TOO_MANY_ROOMS: 'TOO_MANY_ROOMS',

  // --- Transient server-side failures: retry the same request (same clientId and seq) later.
  /** Storage or fan-out is unreachable; nothing was committed. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The commit lost too many races with other nodes; nothing was committed. */
  COMMIT_CONFLICT: 'COMMIT_CONFLICT',
  /** The server is shutting down; reconnect (to another node). */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** An unexpected server error; nothing was committed. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the stable error code strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every error code, for validation and exhaustive tests. */
export const ALL_ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.RATE_LIMITED,
  ErrorCode.UNAVAILABLE,
  ErrorCode.COMMIT_CONFLICT,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.INTERNAL,
]);

/** True when resending the very same request later may succeed (nothing was committed). */
export function isRetriable(code: ErrorCode): boolean {
  return RETRIABLE.has(code);
}

/** The wire form of an error: a stable code and a human-readable message. */
export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  /** For `RATE_LIMITED`: how long to wait before retrying, in milliseconds. */
  readonly retryAfterMs?: number;
}

/** An error value carrying a stable code; thrown by the pure functions only for programmer errors. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The wire form of this error. */
  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** A value or an error, as returned by every function that judges untrusted input. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorBody };

/** Wraps a value as a successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Builds a failed result with a code and message. */
export function fail<T = never>(code: ErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}
