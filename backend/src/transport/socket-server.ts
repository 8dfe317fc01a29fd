/**
 * The real-time transport: Socket.IO typed with the protocol's event maps. It authenticates the
 * handshake, validates every inbound payload, applies per-socket rate limits, and hands requests to
 * the domain (rooms, files) and the commit path (file sessions). It owns no rules of its own beyond
 * "which socket has joined what".
 *
 * Channels (Socket.IO rooms): `room:<roomId>` everyone joined to a room; `file:<fileId>` everyone
 * with the file open; `user:<userId>` all of a user's sockets; `member:<roomId>:<userId>` a user's
 * sockets joined to one room (role changes and removals target it).
 *
 * Several nodes: with the Redis adapter every emit to a channel, `fetchSockets` and `socketsLeave`
 * reach all nodes. What a node keeps for its own sockets (the `Connection` maps, file-session
 * holders and caches) is updated on every node: a domain event is handled here and relayed with
 * `serverSideEmit` to the others, which run the same local part (`localEffects`). Broadcasts
 * themselves are emitted once, by the node where the change happened. Relays and broadcasts are
 * fire-and-forget: what must not be missed (ops) is repaired by version, and what must not leak
 * (a removed user's access) is also checked against the database on every op, fetch and open.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import {
  CLIENT_EVENT_NAMES,
  ErrorCode,
  expectsAck,
  type AssignableRole,
  validateClientPayload,
  type ClientEventName,
  type ClientToServerEvents,
  type ErrorBody,
  type InterServerEvents,
  type Limits,
  type Participant,
  type Role,
  type ServerToClientEvents,
  type Submission,
  type WireOp,
} from '@collab/protocol';
import type { DomainEvents } from '../domain/domain-events';
import type { FileSessions, SubmitOutcome } from '../domain/file-sessions';
import { TokenBucket } from '../domain/rate-limit';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { FileBroadcasts, type BroadcastRelay } from './file-broadcasts';
import { CommitRouter, type CommitRoutingOptions, type SequencerLeases } from './commit-routing';
import type { FileInterestOptions } from './file-interest';
import { RoomNotices } from './room-notices';
import type { AuthPort, AuthUser, FilesPort, RoomsPort } from './ports';

/** A file a connection has open (see `Connection.files`). */
interface OpenFile {
  readonly roomId: string;
  readonly clientId: string;
  cursorSent: boolean;
}

/** Data Socket.IO keeps on each socket (visible across nodes through `fetchSockets`). */
export interface SocketData {
  user: AuthUser;
  /** Per joined room: the file this socket shows (for the participants view and follow mode). */
  activeFiles: Record<string, string | null>;
}

/** Between nodes: the protocol's inter-server events, plus a deleted file (sessions to evict). */
export type NodeEvents = InterServerEvents & {
  fileDeleted: (payload: { readonly roomId: string; readonly fileId: string }) => void;
};

type CollabServer = Server<ClientToServerEvents, ServerToClientEvents, NodeEvents, SocketData>;
type CollabSocket = Socket<ClientToServerEvents, ServerToClientEvents, NodeEvents, SocketData>;

/** Test-only fault hooks of the commit path (never set in production). */
export interface TransportFaults {
  /**
   * Called after an op is durable and before it is acknowledged or broadcast. A hook that kills
   * the process here produces the "crash between commit and broadcast" case.
   */
  afterCommit?(op: WireOp): void;
  /** Submissions other nodes forward here are ignored (a sequencing node that crashed or is cut off). */
  readonly ignoreForwards?: boolean;
  /** Forwarded submissions are committed here but their answers never sent (lost on the way back). */
  readonly dropForwardAnswers?: boolean;
}

/** What the transport needs. */
export interface SocketServerDeps {
  readonly auth: AuthPort;
  readonly rooms: RoomsPort;
  readonly files: FilesPort;
  readonly sessions: FileSessions;
  /** Binds a clientId to a user on first use; false when another user owns it. */
  readonly bindClientId: (clientId: string, userId: string) => Promise<boolean>;
  readonly events: DomainEvents;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly limits: Limits;
  readonly clock?: () => number;
  /** The cross-node adapter (Redis); with one, domain events are relayed to the other nodes. */
  readonly adapter?: ServerOptions['adapter'];
  /** The cross-node channel for committed ops (the Redis fan-out), with `adapter`. */
  readonly relay?: BroadcastRelay;
  /** Leases on sequencing files across nodes (`commit-routing.ts`); without, every node commits its own clients' ops. */
  readonly leases?: SequencerLeases;
  /** Timing of the leases and forwards. */
  readonly routing?: Partial<CommitRoutingOptions>;
  /** Timing of the nodes' announcements of their files' readers (`file-interest.ts`). */
  readonly fileInterest?: Partial<FileInterestOptions>;
  /** Signs forwards and answers between nodes (`nodeLinkKey` of the shared JWT secret); required with `leases`. */
  readonly nodeLinkKey?: Buffer;
  /** True for errors that mean "storage unreachable, retry" (answered UNAVAILABLE, not INTERNAL). */
  readonly isUnavailable?: (err: unknown) => boolean;
  readonly faults?: TransportFaults;
}

/** A running Socket.IO server. */
export interface SocketServer {
  readonly io: CollabServer;
  /** Refuses new work, lets in-flight commits finish and acknowledge, then disconnects everyone. */
  close(): Promise<void>;
}

/** What one socket has joined and opened. Local to this node. */
class Connection {
  /** Joined rooms: the internal id, the role as last known, and this user's participant record. */
  readonly rooms = new Map<string, { roomUuid: string; role: Role; participant: Participant }>();
  /**
   * Open files: the room they belong to, the clientId this socket submits under, and `cursorSent`
   * once a cursor of this connection was relayed to the file's readers.
   */
  readonly files = new Map<string, OpenFile>();
  /** Rooms this socket asked to join (pending requests end when the user's last socket goes). */
  readonly requestedRooms = new Set<string>();

  constructor(
    readonly socket: CollabSocket,
    readonly user: AuthUser,
    readonly opBucket: TokenBucket,
    readonly cursorBucket: TokenBucket,
  ) {}
}

type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: ErrorBody };

const fail = (code: ErrorCode, message: string): Reply => ({ ok: false, error: { code, message } });

/** Starts Socket.IO on `httpServer`. */
export function attachSocketServer(httpServer: HttpServer, deps: SocketServerDeps): SocketServer {
  const { auth, rooms, files, sessions, events, metrics, logger, limits } = deps;
  const now = deps.clock ?? Date.now;
  const io: CollabServer = new Server(httpServer, {
    // The frame limit is explicit (engine.io's default is 1 MB): a client frame carries at most
    // maxOpInsertLength code units of text, which fits (PROTOCOL.md §16).
    maxHttpBufferSize: limits.maxFrameBytes,
    serveClient: false,
    pingInterval: 10_000,
    pingTimeout: 10_000,
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
  });
  const crossNode = deps.adapter !== undefined;
  // Committed ops and cursors: this node's readers at once, the other nodes one message per turn.
  const broadcasts = new FileBroadcasts(io as unknown as Server, deps.relay, deps.fileInterest);
  // Participant events of a room, coalesced under bursts (a join storm); every other event of the
  // room goes through `toRoom`, which sends what waits first, so that the room sees them in order.
  const notices = new RoomNotices({
    one: (roomId, event, payload, except) => (except ? io.to(`room:${roomId}`).except(except) : io.to(`room:${roomId}`)).emit(event, payload),
    many: (roomId, changes) => io.to(`room:${roomId}`).emit('participants', { roomId, changes }),
  });
  /** Any other event to the whole room, after the participant events still waiting for their window. */
  const toRoom = <K extends 'participant:left' | 'room:removed' | 'file:created' | 'file:renamed' | 'file:deleted'>(
    roomId: string,
    event: K,
    ...payload: Parameters<ServerToClientEvents[K]>
  ): void => {
    notices.beforeOther(roomId);
    io.to(`room:${roomId}`).emit(event, ...payload);
  };
  // A group commit's batch of one file goes out as one `ops` frame to every reader, submitters
  // included, before the submitters' acks, led by the `relayed` ops of other nodes that the commit
  // read (PROTOCOL.md §7.2 step 11); the fault hook sees only this node's own commits.
  sessions.publishBatchesWith((fileId, ops, relayed) => {
    const wires = ops.map((op) => toWire(fileId, op));
    for (const wire of wires.slice(relayed)) deps.faults?.afterCommit?.(wire);
    broadcasts.ops({ fileId, ops: wires });
  });
  // Each file's submissions are sequenced on one node where several nodes serve its readers.
  const commits = new CommitRouter(
    { commit: commitAndPublish, holds: (fileId) => sessions.holds(fileId) },
    deps.leases,
    broadcasts,
    deps.nodeLinkKey,
    deps.routing,
    { onForward: (end) => metrics.commitsForwarded.inc({ end }) },
    deps.faults,
  );
  const connections = new Map<string, Connection>();
  const byUser = new Map<string, Set<Connection>>();
  let closing = false;

  // --- authentication: the handshake carries the token; refused sockets never connect.
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const refuse = (error: ErrorBody): void => next(Object.assign(new Error(error.code), { data: error }));
    if (typeof token !== 'string' || token === '') {
      refuse({ code: ErrorCode.UNAUTHENTICATED, message: 'a token is required' });
      return;
    }
    auth
      .authenticate(token)
      .then((result) => {
        if (!result.ok) return refuse(result.error);
        socket.data.user = result.value;
        socket.data.activeFiles = {};
        next();
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'handshake authentication failed');
        refuse({ code: ErrorCode.UNAVAILABLE, message: 'authentication is unavailable; retry' });
      });
  });

  io.on('connection', (socket) => {
    const user = socket.data.user;
    const conn = new Connection(
      socket,
      user,
      new TokenBucket({ capacity: limits.opsBurst, refillPerSecond: limits.opsPerSecond }, now),
      new TokenBucket({ capacity: limits.cursorsBurst, refillPerSecond: limits.cursorsPerSecond }, now),
    );
    connections.set(socket.id, conn);
    let mine = byUser.get(user.userId);
    if (!mine) byUser.set(user.userId, (mine = new Set()));
    mine.add(conn);
    void socket.join(`user:${user.userId}`);
    metrics.sockets.inc();
    logger.debug({ socketId: socket.id, userId: user.userId }, 'socket connected');

    registerHandlers(conn);

    socket.on('disconnect', (reason) => {
      logger.debug({ socketId: socket.id, userId: user.userId, reason }, 'socket disconnected');
      connections.delete(socket.id);
      mine?.delete(conn);
      if (mine?.size === 0) byUser.delete(user.userId);
      metrics.sockets.dec();
      for (const roomId of [...conn.rooms.keys()]) void leaveRoom(conn, roomId, false);
      void withdrawRequests(conn);
    });
  });

  /** Registers every event handler of one connection. */
  function registerHandlers(conn: Connection): void {
    const socket = conn.socket;

    // Anything that is not a known event is refused, so a typo fails loudly instead of hanging.
    socket.onAny((event: string, ...args: unknown[]) => {
      if ((CLIENT_EVENT_NAMES as readonly string[]).includes(event)) return;
      const error = { code: ErrorCode.INVALID_MESSAGE, message: `unknown event '${String(event).slice(0, 64)}'` };
      metrics.messagesRejected.inc({ code: error.code });
      const ack = args.at(-1);
      if (typeof ack === 'function') (ack as (r: Reply) => void)({ ok: false, error });
      else socket.emit('session:error', { ...error });
    });

    for (const event of CLIENT_EVENT_NAMES) {
      (socket as unknown as Socket).on(event, (payload: unknown, ack: unknown) => {
        void dispatch(conn, event, payload, ack);
      });
    }
  }

  /** Validates, checks the token's expiry, runs the handler, and answers exactly once. */
  async function dispatch(conn: Connection, event: ClientEventName, payload: unknown, ack: unknown): Promise<void> {
    const socket = conn.socket;
    const needsAck = expectsAck(event);
    const answer = (reply: Reply): void => {
      if (typeof ack === 'function') (ack as (r: Reply) => void)(reply);
      else if (!reply.ok) socket.emit('session:error', { ...reply.error, event });
    };
    if (needsAck && typeof ack !== 'function') {
      answer(fail(ErrorCode.INVALID_MESSAGE, `${event} needs an acknowledgement callback`));
      return;
    }
    const valid = validateClientPayload(event, payload, limits);
    if (!valid.ok) {
      metrics.messagesRejected.inc({ code: valid.error.code });
      answer({ ok: false, error: valid.error });
      return;
    }
    if (conn.user.expiresAt <= now()) {
      answer(fail(ErrorCode.TOKEN_EXPIRED, 'the session token expired; sign in again and reconnect'));
      return;
    }
    try {
      const reply = await handle(conn, event, valid.value as unknown as Record<string, unknown>);
      if (reply) answer(reply);
    } catch (err) {
      if (deps.isUnavailable?.(err)) {
        // PostgreSQL is down, restarting or out of connections: nothing was done; retry.
        logger.warn({ err: describe(err), event }, 'storage unavailable');
        answer(fail(ErrorCode.UNAVAILABLE, 'storage unavailable; retry'));
        return;
      }
      logger.error({ err, event }, 'handler failed');
      answer(fail(ErrorCode.INTERNAL, 'internal error'));
    }
  }

  /** The handlers, by event. Payloads are already validated. */
  async function handle(conn: Connection, event: ClientEventName, p: Record<string, unknown>): Promise<Reply | undefined> {
    const user = conn.user;
    switch (event) {
      case 'room:join':
        return joinRoom(conn, p['roomId'] as string);
      case 'room:leave': {
        // Leaving a room one has not joined succeeds (PROTOCOL.md §11.3, §13).
        await leaveRoom(conn, p['roomId'] as string, true);
        return { ok: true };
      }
      case 'room:requestJoin': {
        const r = await rooms.requestJoin(p['roomId'] as string, user, p['role'] as 'editor' | 'viewer');
        if (!r.ok) return { ok: false, error: r.error };
        conn.requestedRooms.add(p['roomId'] as string);
        return { ok: true, requestId: r.value.requestId };
      }
      case 'room:answerJoin':
        return done(await rooms.answerJoin(p['roomId'] as string, p['requestId'] as string, p['decision'] as 'editor' | 'viewer' | 'deny', user));
      case 'room:delete':
        return done(await rooms.deleteRoom(p['roomId'] as string, user));
      case 'participant:setRole':
        return done(await rooms.setRole(p['roomId'] as string, p['userId'] as string, p['role'] as 'editor' | 'viewer', user));
      case 'participant:remove':
        return done(await rooms.removeParticipant(p['roomId'] as string, p['userId'] as string, user));
      case 'file:create': {
        const r = await files.create(p['roomId'] as string, { path: p['path'] as string, language: p['language'] as string, content: p['content'] as string }, user);
        return r.ok ? { ok: true, file: r.value } : { ok: false, error: r.error };
      }
      case 'file:rename': {
        const r = await files.rename(p['roomId'] as string, p['fileId'] as string, p['path'] as string, user);
        return r.ok ? { ok: true, file: r.value } : { ok: false, error: r.error };
      }
      case 'file:delete':
        return done(await files.delete(p['roomId'] as string, p['fileId'] as string, user));
      case 'file:open':
        return openFile(conn, p);
      case 'file:close': {
        const fileId = p['fileId'] as string;
        if (!conn.rooms.has(p['roomId'] as string)) return fail(ErrorCode.NOT_JOINED, 'join the room first');
        // Closing a file that is not open succeeds (PROTOCOL.md §13).
        if (conn.files.get(fileId)?.roomId === p['roomId']) closeFile(conn, fileId);
        return { ok: true };
      }
      case 'op:submit':
        return submit(conn, p);
      case 'ops:fetch': {
        const open = openedFile(conn, p);
        if (!open.ok) return open.reply;
        const r = await sessions.fetch(p['fileId'] as string, p['from'] as number, p['to'] as number);
        if (!r.ok) return { ok: false, error: r.error };
        // A removal made on another node may not have reached this one (relays are lossy): before
        // any text leaves, the database says whether the user may still read. (An empty reply,
        // the common answer to an idle client's catch-up, reveals nothing and costs no query.)
        if (r.value.length > 0 && (await rooms.roleOf(p['roomId'] as string, user.userId)) === undefined) {
          return fail(ErrorCode.NOT_A_PARTICIPANT, 'you are not a participant of this room');
        }
        return { ok: true, ops: r.value.map((op) => toWire(p['fileId'] as string, op)) };
      }
      case 'file:verify': {
        const open = openedFile(conn, p);
        if (!open.ok) return open.reply;
        const r = await sessions.headHash(p['fileId'] as string);
        if (!r.ok) return { ok: false, error: r.error };
        const match = r.value.version === p['version'] ? r.value.hash === p['hash'] : null;
        return { ok: true, head: r.value.version, match };
      }
      case 'cursor:update':
        relayCursor(conn, p);
        return undefined;
      case 'presence:update':
        return updatePresence(conn, p['roomId'] as string, (p['activeFileId'] as string | null) ?? null);
    }
  }

  function done(r: { ok: true } | { ok: false; error: ErrorBody }): Reply {
    return r.ok ? { ok: true } : { ok: false, error: r.error };
  }

  async function joinRoom(conn: Connection, roomId: string): Promise<Reply> {
    const joined = await rooms.join(roomId, conn.user);
    if (!joined.ok) return { ok: false, error: joined.error };
    const list = await files.list(roomId, conn.user);
    if (!list.ok) return { ok: false, error: list.error };
    const { room, roomUuid, you } = joined.value;
    const socket = conn.socket;
    conn.requestedRooms.delete(roomId);
    // Was any connection of this user (on any node) already in the room? Then nobody comes online.
    const before = await socketsIn(`member:${roomId}:${conn.user.userId}`);
    const cameOnline = before.every((s) => s.id === socket.id);
    conn.rooms.set(roomId, { roomUuid, role: you.role, participant: you });
    socket.data.activeFiles[roomId] ??= null;
    await socket.join([`room:${roomId}`, `member:${roomId}:${conn.user.userId}`]);
    const online = await onlinePresence(roomId);
    const participants = joined.value.participants.map((pp) => withPresence(pp, online));
    const me = withPresence(you, online);
    // A brand-new participant was announced by the domain (participant:joined); an existing one
    // coming online is a presence change.
    if (cameOnline) notices.participant(roomId, 'participant:updated', { ...me, roomId }, socket.id);
    updateRoomGauge();
    return { ok: true, room, you: me, participants, files: list.value, limits };
  }

  /**
   * Leaves a room: closes its files, leaves its channels, and if this was the user's last socket
   * there, tells the room the user went offline (unless `removed`: then `participant:left` says it).
   */
  async function leaveRoom(conn: Connection, roomId: string, explicit: boolean, removed = false): Promise<void> {
    const joined = conn.rooms.get(roomId);
    if (!joined || !conn.rooms.delete(roomId)) return;
    for (const [fileId, open] of [...conn.files]) if (open.roomId === roomId) closeFile(conn, fileId);
    delete conn.socket.data.activeFiles[roomId];
    if (explicit || conn.socket.connected) {
      await conn.socket.leave(`room:${roomId}`);
      await conn.socket.leave(`member:${roomId}:${conn.user.userId}`);
    }
    // Other sockets of the same user (other windows, other nodes) may still be in the room.
    const still = await socketsIn(`member:${roomId}:${conn.user.userId}`);
    if (!removed && still.every((s) => s.id === conn.socket.id)) {
      notices.participant(roomId, 'participant:updated', { ...joined.participant, online: false, activeFileId: null, roomId });
    }
    updateRoomGauge();
  }

  /** Ends the pending join requests of a user whose last connection went away. */
  async function withdrawRequests(conn: Connection): Promise<void> {
    if (conn.requestedRooms.size === 0) return;
    const still = await socketsIn(`user:${conn.user.userId}`);
    if (still.some((s) => s.id !== conn.socket.id)) return;
    for (const roomId of conn.requestedRooms) {
      await rooms.withdrawJoinRequest(roomId, conn.user.userId).catch((err: unknown) => logger.warn({ err }, 'withdrawing a join request failed'));
    }
  }

  async function openFile(conn: Connection, p: Record<string, unknown>): Promise<Reply> {
    const roomId = p['roomId'] as string;
    const fileId = p['fileId'] as string;
    const clientId = p['clientId'] as string;
    if (!conn.rooms.has(roomId)) return fail(ErrorCode.NOT_JOINED, 'join the room first');
    // The file must belong to this room: a guessed id of another room's file is not found.
    const file = await files.get(roomId, fileId, conn.user);
    if (!file.ok) return { ok: false, error: file.error };
    if (!(await deps.bindClientId(clientId, conn.user.userId))) {
      return fail(ErrorCode.CLIENT_ID_TAKEN, 'this clientId belongs to another user; generate a new one');
    }
    // Subscribe before reading, so that no op committed in between is missed: it arrives as a
    // broadcast (perhaps also in the reply; the client drops what it already has, by version).
    await conn.socket.join(`file:${fileId}`);
    const knownVersion = p['knownVersion'] as number | undefined;
    const fenceSeq = p['fenceSeq'] as number | undefined;
    const opened = await sessions.open(fileId, clientId, knownVersion, fenceSeq);
    if (!opened.ok) {
      // A refused re-open changes nothing: a file this connection already had open stays open.
      if (!conn.files.has(fileId)) await conn.socket.leave(`file:${fileId}`);
      return { ok: false, error: opened.error };
    }
    // Re-opening an open file: the new open (which holds the session) replaces the old one.
    if (conn.files.has(fileId)) closeFile(conn, fileId, false);
    conn.files.set(fileId, { roomId, clientId, cursorSent: false });
    metrics.openFiles.set(sessions.size);
    const r = opened.value;
    if (r.mode === 'snapshot') return { ok: true, mode: 'snapshot', version: r.version, text: r.text, lastCommitted: r.lastCommitted };
    return { ok: true, mode: 'ops', version: r.version, ops: r.ops.map((op) => toWire(fileId, op)), lastCommitted: r.lastCommitted };
  }

  function closeFile(conn: Connection, fileId: string, leaveChannel = true): void {
    const open = conn.files.get(fileId);
    if (!open) return;
    conn.files.delete(fileId);
    sessions.release(fileId);
    if (leaveChannel) void conn.socket.leave(`file:${fileId}`);
    // The clientId the connection's cursors carried (its file:open clientId), so that receivers
    // can match the clear to the cursor they show. A connection that never sent a cursor has none
    // to clear: without this, N readers of a file leaving together would cost N² frames.
    if (open.cursorSent) conn.socket.to(`file:${fileId}`).emit('cursor:clear', { fileId, userId: conn.user.userId, clientId: open.clientId });
    metrics.openFiles.set(sessions.size);
  }

  /** The open file a request refers to, checked against the socket's state. */
  function openedFile(conn: Connection, p: Record<string, unknown>): { ok: true; clientId: string; file: OpenFile } | { ok: false; reply: Reply } {
    const file = conn.files.get(p['fileId'] as string);
    if (!file || file.roomId !== p['roomId']) return { ok: false, reply: fail(ErrorCode.NOT_JOINED, 'open the file first') };
    return { ok: true, clientId: file.clientId, file };
  }

  async function submit(conn: Connection, p: Record<string, unknown>): Promise<Reply> {
    const received = performance.now();
    const fileId = p['fileId'] as string;
    const reject = (error: ErrorBody): Reply => {
      metrics.opsRejected.inc({ code: error.code });
      logger.debug({ fileId, userId: conn.user.userId, code: error.code }, 'op refused');
      return { ok: false, error };
    };
    if (closing) return reject({ code: ErrorCode.SHUTTING_DOWN, message: 'the server is shutting down; reconnect' });
    const open = openedFile(conn, p);
    if (!open.ok) return reject((open.reply as { error: ErrorBody }).error);
    if (open.clientId !== p['clientId']) {
      return reject({ code: ErrorCode.CLIENT_ID_TAKEN, message: 'submit under the clientId the file was opened with' });
    }
    const take = conn.opBucket.tryTake();
    if (!take.ok) return reject({ code: ErrorCode.RATE_LIMITED, message: 'too many operations', retryAfterMs: take.retryAfterMs });
    const sub = { clientId: p['clientId'] as string, seq: p['seq'] as number, baseVersion: p['baseVersion'] as number, op: p['op'] as WireOp['op'] };
    const outcome = await commits.submit(fileId, conn.user.userId, sub, conn.socket.id);
    switch (outcome.kind) {
      case 'committed': {
        // The op went out to the file's readers; the ack (the reply) follows on this socket.
        metrics.opsCommitted.inc();
        metrics.opSeconds.observe((performance.now() - received) / 1000);
        return { ok: true, version: outcome.op.version, duplicate: false };
      }
      case 'duplicate':
        metrics.opsDuplicate.inc();
        return { ok: true, version: outcome.version, duplicate: true };
      case 'rejected':
        return reject(outcome.error);
    }
  }

  /**
   * Commits a submission on this node and sends its op to the file's readers on every node but
   * `except` (its submitter's connection, on this node or, when forwarded, on another), unless its
   * batch's frame already carried it.
   */
  async function commitAndPublish(fileId: string, userId: string, sub: Submission, except: string): Promise<SubmitOutcome> {
    const outcome = await sessions.submit(fileId, userId, sub);
    if (outcome.kind === 'committed' && !outcome.published) {
      const wire = toWire(fileId, outcome.op);
      deps.faults?.afterCommit?.(wire);
      broadcasts.op(fileId, wire, except);
    }
    return outcome;
  }

  function relayCursor(conn: Connection, p: Record<string, unknown>): void {
    const fileId = p['fileId'] as string;
    const open = openedFile(conn, p);
    if (!open.ok) {
      conn.socket.emit('session:error', { code: ErrorCode.NOT_JOINED, message: 'open the file first', event: 'cursor:update' });
      return;
    }
    // Over the limit, cursor updates are dropped quietly: the next one supersedes them anyway.
    if (!conn.cursorBucket.tryTake().ok) {
      metrics.messagesRejected.inc({ code: ErrorCode.RATE_LIMITED });
      return;
    }
    const cursor = {
      fileId,
      userId: conn.user.userId,
      clientId: open.clientId,
      version: p['version'] as number,
      selections: p['selections'] as { anchor: number; head: number }[],
      ...(p['visible'] ? { visible: p['visible'] as { start: number; end: number } } : {}),
    };
    // Not volatile: the rate limiter bounds the volume, and a dropped update would leave the
    // receiver showing a stale position (the latest one is the one that matters).
    broadcasts.cursor(cursor, conn.socket.id);
    open.file.cursorSent = true;
  }

  async function updatePresence(conn: Connection, roomId: string, activeFileId: string | null): Promise<Reply | undefined> {
    const joined = conn.rooms.get(roomId);
    if (!joined) return fail(ErrorCode.NOT_JOINED, 'join the room first');
    if (activeFileId !== null && !(await files.get(roomId, activeFileId, conn.user)).ok) {
      return fail(ErrorCode.FILE_NOT_FOUND, 'no such file in this room');
    }
    conn.socket.data.activeFiles[roomId] = activeFileId;
    joined.participant = { ...joined.participant, activeFileId, online: true };
    notices.participant(roomId, 'participant:updated', { ...joined.participant, roomId });
    return undefined;
  }

  /**
   * The sockets in a channel on every node; when the other nodes cannot be asked (Redis down or a
   * node not answering in time), this node's alone. Presence is a hint, and a join must not fail
   * because the fan-out is interrupted.
   */
  async function socketsIn(channel: string): Promise<{ id: string; data: SocketData }[]> {
    try {
      return await io.in(channel).fetchSockets();
    } catch (err) {
      logger.warn({ err: describe(err), channel }, 'fetchSockets across nodes failed; using this node only');
      return io.local.in(channel).fetchSockets();
    }
  }

  /** userId → activeFileId (null when unknown) for everyone connected to the room, on any node. */
  async function onlinePresence(roomId: string): Promise<Map<string, string | null>> {
    const sockets = await socketsIn(`room:${roomId}`);
    const online = new Map<string, string | null>();
    for (const s of sockets) {
      const active = s.data.activeFiles?.[roomId] ?? null;
      if (!online.has(s.data.user.userId) || active) online.set(s.data.user.userId, active);
    }
    return online;
  }

  function withPresence(p: Participant, online: Map<string, string | null>): Participant {
    return { ...p, online: online.has(p.userId), activeFileId: online.get(p.userId) ?? null };
  }

  function updateRoomGauge(): void {
    const joined = new Set<string>();
    for (const c of connections.values()) for (const roomId of c.rooms.keys()) joined.add(roomId);
    metrics.rooms.set(joined.size);
  }

  /** This node's connections of `userId` joined to `roomId`. */
  function localMembers(roomId: string, userId?: string): Connection[] {
    const pool = userId ? [...(byUser.get(userId) ?? [])] : [...connections.values()];
    return pool.filter((c) => c.rooms.has(roomId));
  }

  /**
   * What every node does to its own sockets and caches when a domain event happens anywhere: run
   * here for events of this node, and on the other nodes through `serverSideEmit`.
   */
  const localEffects = {
    roleChanged({ roomId, userId, role }: { roomId: string; userId: string; role: Role }): void {
      const mine = localMembers(roomId, userId);
      for (const c of mine) {
        const joined = c.rooms.get(roomId);
        if (joined) {
          joined.role = role;
          joined.participant = { ...joined.participant, role };
        }
      }
      // The node holding the user's sockets knows their participant record and announces it (each
      // such node does: a duplicate `participant:updated` is harmless, a missing one is not).
      const any = mine[0]?.rooms.get(roomId)?.participant;
      if (!any) return;
      void onlinePresence(roomId)
        .then((online) => notices.participant(roomId, 'participant:updated', { ...withPresence({ ...any, role }, online), roomId }))
        .catch((err: unknown) => logger.warn({ err }, 'participant update failed'));
    },
    participantRemoved({ roomId, userId }: { roomId: string; userId: string }): void {
      for (const c of localMembers(roomId, userId)) void leaveRoom(c, roomId, true, true);
    },
    roomDeleted({ roomId }: { roomId: string }): void {
      for (const c of localMembers(roomId)) void leaveRoom(c, roomId, true, true);
    },
    fileDeleted({ roomId, fileId }: { roomId: string; fileId: string }): void {
      for (const c of localMembers(roomId)) if (c.files.has(fileId)) closeFile(c, fileId);
      sessions.evict(fileId);
    },
  };

  /** Runs the local part of an event here and asks the other nodes to run theirs. */
  function everyNode<K extends keyof typeof localEffects>(name: K, payload: Parameters<(typeof localEffects)[K]>[0]): void {
    (localEffects[name] as (p: typeof payload) => void)(payload);
    if (crossNode) (io.serverSideEmit as (ev: string, p: unknown) => boolean)(name, payload);
  }

  if (crossNode) {
    io.on('roleChanged', (p) => localEffects.roleChanged(p));
    io.on('participantRemoved', (p) => localEffects.participantRemoved(p));
    io.on('roomDeleted', (p) => localEffects.roomDeleted(p));
    io.on('fileDeleted', (p) => localEffects.fileDeleted(p));
  }

  // --- domain events: what live sockets must see at once, on whichever node they are.
  const unsubscribe = [
    events.on('roleChanged', ({ roomId, userId, role }) => {
      // The owner's role never changes; only editor/viewer reach here.
      io.to(`member:${roomId}:${userId}`).emit('role:changed', { roomId, role: role as AssignableRole });
      everyNode('roleChanged', { roomId, userId, role });
    }),
    events.on('participantAdded', ({ roomId, participant }) => {
      notices.participant(roomId, 'participant:joined', { ...participant, roomId });
    }),
    events.on('participantRemoved', ({ roomId, userId }) => {
      io.to(`member:${roomId}:${userId}`).emit('room:removed', { roomId, reason: 'removed' });
      everyNode('participantRemoved', { roomId, userId });
      // Channel membership is per node too: make every node drop the removed user's sockets from
      // the room's channels even before (or without) its relay being handled.
      io.in(`member:${roomId}:${userId}`).socketsLeave([`room:${roomId}`]);
      toRoom(roomId, 'participant:left', { roomId, userId });
    }),
    events.on('roomDeleted', ({ roomId }) => {
      toRoom(roomId, 'room:removed', { roomId, reason: 'deleted' });
      everyNode('roomDeleted', { roomId });
    }),
    events.on('fileCreated', ({ roomId, file }) => {
      toRoom(roomId, 'file:created', { ...file, roomId });
    }),
    events.on('fileRenamed', ({ roomId, file }) => {
      toRoom(roomId, 'file:renamed', { ...file, roomId });
    }),
    events.on('fileDeleted', ({ roomId, fileId }) => {
      toRoom(roomId, 'file:deleted', { roomId, fileId });
      everyNode('fileDeleted', { roomId, fileId });
      io.in(`file:${fileId}`).socketsLeave(`file:${fileId}`);
    }),
    events.on('joinRequested', ({ roomId, requestId, ownerId, user, role }) => {
      io.to(`user:${ownerId}`).emit('joinRequest', { roomId, requestId, user, role });
    }),
    events.on('joinResolved', ({ roomId, ownerId, requestId, userId, decision }) => {
      io.to([`user:${userId}`, `user:${ownerId}`]).emit('joinRequest:resolved', { roomId, requestId, decision });
    }),
  ];

  return {
    io,
    async close() {
      closing = true;
      // Other nodes' forwards are redirected from now on, and this node's leases released.
      await commits.close();
      for (const off of unsubscribe) off();
      notices.close();
      broadcasts.close();
      // In-flight submissions finish and are acknowledged while the sockets are still open.
      await sessions.close();
      // This node's sockets only: with the Redis adapter, `io.disconnectSockets` reaches every node.
      io.local.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
    },
  };
}

function toWire(fileId: string, op: { version: number; op: WireOp['op']; clientId: string; seq: number; author?: string; at?: number }): WireOp {
  return { fileId, version: op.version, op: op.op, clientId: op.clientId, seq: op.seq, author: op.author ?? '', at: op.at ?? 0 };
}

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return err instanceof Error ? err.message : String(err);
}
