/**
 * Size and rate limits shared by client and server, with their defaults. A server may lower them
 * (never raise them above what clients are told) through its configuration; the values in force are
 * sent to each client when it joins a room.
 */

/** The limits a server enforces; every field is documented with its default. */
export interface Limits {
  /** Longest document, in UTF-16 code units. @default 10_485_760 (10 Mi units) */
  readonly maxDocumentLength: number;
  /**
   * Most code units one operation may insert, and most text in any client frame (`file:create`
   * content included): at up to 6 bytes per unit in UTF-8 JSON it keeps every client frame within
   * `maxFrameBytes`. @default 2_097_152 (2 Mi units; a large paste)
   */
  readonly maxOpInsertLength: number;
  /** Most components one operation may have. @default 20_000 (a 5,000-caret edit) */
  readonly maxOpComponents: number;
  /** Most selections (carets) in one cursor update. @default 100 */
  readonly maxCursors: number;
  /**
   * Largest Socket.IO frame the server accepts from a client (`maxHttpBufferSize`), in bytes; frames
   * to clients (snapshots) are not limited by it. @default 16 MiB
   */
  readonly maxFrameBytes: number;
  /** Longest file path, in characters. @default 1024 */
  readonly maxPathLength: number;
  /** Most files in one room. @default 2000 */
  readonly maxFilesPerRoom: number;
  /** Most rooms one user may own. @default 100 */
  readonly maxRoomsPerUser: number;
  /** Sustained operations per second per socket (token bucket refill). @default 200 */
  readonly opsPerSecond: number;
  /** Burst of operations per socket (token bucket size). @default 400 */
  readonly opsBurst: number;
  /** Sustained cursor updates per second per socket. @default 30 */
  readonly cursorsPerSecond: number;
  /** Burst of cursor updates per socket. @default 60 */
  readonly cursorsBurst: number;
  /** Most versions one `ops:fetch` may return. @default 1000 */
  readonly maxFetchOps: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxDocumentLength: 10 * 1024 * 1024,
  maxOpInsertLength: 2 * 1024 * 1024,
  maxOpComponents: 20_000,
  maxCursors: 100,
  maxFrameBytes: 16 * 1024 * 1024,
  maxPathLength: 1024,
  maxFilesPerRoom: 2000,
  maxRoomsPerUser: 100,
  opsPerSecond: 200,
  opsBurst: 400,
  cursorsPerSecond: 30,
  cursorsBurst: 60,
  maxFetchOps: 1000,
});
