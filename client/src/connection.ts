/**
 * One user's connection to a Collab server: a Socket.IO socket on the WebSocket transport, typed
 * with the protocol's event maps, that reconnects with back-off, asks for a fresh token on every
 * (re)connection, and reports its status. What to re-join after a reconnection is the caller's
 * business (`onResume`).
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ErrorBody, ServerToClientEvents, OpsBatch, ParticipantsBatch } from '@collab/protocol';

type ParticipantHandler = ServerToClientEvents['participant:joined'];

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A reply as the server sends it: `ok` plus fields, or an error. */
export type AnyReply = { ok: true; [key: string]: unknown } | { ok: false; error: ErrorBody };

/** Where the connection stands. */
export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** Options of `CollabConnection.connect`. */
export interface ConnectionOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** Supplies the token for each (re)connection; may sign in again when the old one expired. */
  readonly token: () => string | Promise<string>;
  /** Reconnect automatically with back-off. @default true */
  readonly reconnection?: boolean;
  /** First and largest reconnection delay (ms). @default 250 and 5000 */
  readonly reconnectionDelay?: number;
  readonly reconnectionDelayMax?: number;
  /** Request timeout (ms). @default 10_000 */
  readonly timeoutMs?: number;
  /**
   * The room this connection is for, sent as the handshake's `room` query parameter so that a load
   * balancer can keep a room's participants on one node (the shipped nginx configuration hashes on
   * it). Only a routing hint: the server authorises each `room:join` on its own.
   */
  readonly affinity?: string;
}

/** A connection to a Collab server. */
export class CollabConnection {
  readonly socket: ClientSocket;
  private statusValue: ConnectionStatus = 'connecting';
  private readonly statusListeners = new Set<(status: ConnectionStatus, error?: ErrorBody) => void>();
  private readonly resumeListeners = new Set<() => Promise<void> | void>();
  private connectedBefore = false;
  /** Handlers of the participant events, also fed from `participants` batches (see `on`). */
  private readonly participantHandlers = { 'participant:joined': new Set<ParticipantHandler>(), 'participant:updated': new Set<ParticipantHandler>() };
  private participantsListening = false;

  private constructor(private readonly options: ConnectionOptions) {
    this.socket = io(options.url, {
      transports: ['websocket'],
      ...(options.affinity === undefined ? {} : { query: { room: options.affinity } }),
      auth: (cb) => {
        Promise.resolve()
          .then(() => options.token())
          .then((token) => cb({ token }))
          .catch(() => cb({ token: '' }));
      },
      reconnection: options.reconnection ?? true,
      reconnectionDelay: options.reconnectionDelay ?? 250,
      reconnectionDelayMax: options.reconnectionDelayMax ?? 5000,
      forceNew: true,
    });
    this.socket.on('connect', () => {
      const resumed = this.connectedBefore;
      this.connectedBefore = true;
      this.setStatus('live');
      // Every connection after the first resumes: automatic reconnections, and a manual
      // `connect()` after `disconnect()` (a fresh token), which the manager does not report.
      if (resumed) void this.resume();
    });
    this.socket.on('disconnect', () => this.setStatus(this.socket.active ? 'reconnecting' : 'offline'));
    this.socket.on('connect_error', (err: Error & { data?: ErrorBody }) => {
      this.setStatus(this.socket.active ? 'reconnecting' : 'offline', err.data);
    });
  }

  /** Connects; resolves once the handshake is accepted, rejects with the server's error otherwise. */
  static connect(options: ConnectionOptions): Promise<CollabConnection> {
    const connection = new CollabConnection(options);
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        connection.socket.off('connect_error', onError);
        resolve(connection);
      };
      const onError = (err: Error & { data?: ErrorBody }): void => {
        connection.socket.off('connect', onConnect);
        connection.close();
        reject(Object.assign(new Error(err.data?.code ?? err.message), { data: err.data }));
      };
      connection.socket.once('connect', onConnect);
      connection.socket.once('connect_error', onError);
    });
  }

  /** The current status. */
  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** Calls `listener` on every status change (with the refusal, when the server gave one). */
  onStatus(listener: (status: ConnectionStatus, error?: ErrorBody) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Calls `listener` after every reconnection, in registration order, each awaited. */
  onResume(listener: () => Promise<void> | void): () => void {
    this.resumeListeners.add(listener);
    return () => this.resumeListeners.delete(listener);
  }

  /**
   * Subscribes to a server event; returns the unsubscribe function. An `op` handler also receives,
   * one by one and in order, the ops of every `ops` event (a group commit's batch: PROTOCOL.md §7.2),
   * and a `participant:joined` or `participant:updated` handler the events of its kind in every
   * `participants` event (a burst's batch: §11.7), so that consumers need not know about batches.
   */
  on<K extends keyof ServerToClientEvents>(event: K, handler: ServerToClientEvents[K]): () => void {
    // Socket.IO's typed `on` cannot be called with a generic key; the handler type is the map's.
    const socket = this.socket as unknown as { on(ev: string, h: unknown): void; off(ev: string, h: unknown): void };
    socket.on(event, handler);
    if (event === 'participant:joined' || event === 'participant:updated') {
      // One listener for every batch, so that its events reach the handlers in the batch's order
      // whatever kinds they are of (a user's `joined` before their `updated`).
      const handlers = this.participantHandlers[event as 'participant:joined' | 'participant:updated'];
      handlers.add(handler as ParticipantHandler);
      if (!this.participantsListening) {
        this.participantsListening = true;
        socket.on('participants', (batch: ParticipantsBatch | undefined) => {
          if (!Array.isArray(batch?.changes)) return;
          for (const change of batch.changes) {
            const forKind = change?.event === 'participant:joined' || change?.event === 'participant:updated' ? this.participantHandlers[change.event] : undefined;
            for (const h of forKind ?? []) h(change.participant);
          }
        });
      }
      return () => {
        socket.off(event, handler);
        handlers.delete(handler as ParticipantHandler);
      };
    }
    if (event !== 'op') return () => socket.off(event, handler);
    const each = (batch: OpsBatch | undefined): void => {
      if (!Array.isArray(batch?.ops)) return;
      for (const op of batch.ops) (handler as ServerToClientEvents['op'])(op);
    };
    socket.on('ops', each);
    return () => {
      socket.off(event, handler);
      socket.off('ops', each);
    };
  }

  /** Sends a request and resolves with the reply, or with an UNAVAILABLE reply on timeout. */
  async request(event: keyof ClientToServerEvents, payload: unknown): Promise<AnyReply> {
    // The typed emitWithAck cannot take an event name chosen at run time; callers check replies.
    const timed = this.socket.timeout(this.options.timeoutMs ?? 10_000) as unknown as {
      emitWithAck(ev: string, p: unknown): Promise<AnyReply>;
    };
    try {
      return await timed.emitWithAck(event, payload);
    } catch {
      return { ok: false, error: { code: 'UNAVAILABLE', message: `no reply to ${event}` } };
    }
  }

  /**
   * Sends a request and calls `onReply` with the reply (or an UNAVAILABLE reply on timeout)
   * synchronously inside Socket.IO's acknowledgement callback. Unlike `request`, whose promise
   * continuation runs only after every packet of the same socket read was handled, the reply is
   * seen before the packets that follow it: an op's ack before the broadcasts of later versions,
   * so a submitter does not take its own op for a gap and fetch it.
   */
  requestNow(event: keyof ClientToServerEvents, payload: unknown, onReply: (reply: AnyReply) => void): void {
    const timed = this.socket.timeout(this.options.timeoutMs ?? 10_000) as unknown as {
      emit(ev: string, p: unknown, ack: (err: unknown, reply: AnyReply) => void): void;
    };
    timed.emit(event, payload, (err, reply) => onReply(err ? { ok: false, error: { code: 'UNAVAILABLE', message: `no reply to ${event}` } } : reply));
  }

  /** Sends a fire-and-forget event (`cursor:update`, `presence:update`). */
  notify(event: 'cursor:update' | 'presence:update', payload: unknown): void {
    (this.socket as unknown as { emit(ev: string, p: unknown): void }).emit(event, payload);
  }

  /** Drops the connection and connects again (e.g. after signing in anew). */
  reconnectNow(): void {
    this.socket.disconnect();
    this.socket.connect();
  }

  /** Disconnects for good. */
  close(): void {
    this.socket.io.opts.reconnection = false;
    this.socket.close();
    this.setStatus('offline');
  }

  private async resume(): Promise<void> {
    for (const listener of [...this.resumeListeners]) {
      try {
        await listener();
      } catch {
        // A failed resume of one part must not stop the others; they report their own errors.
      }
    }
  }

  private setStatus(status: ConnectionStatus, error?: ErrorBody): void {
    if (status === this.statusValue && !error) return;
    this.statusValue = status;
    for (const listener of [...this.statusListeners]) listener(status, error);
  }
}
