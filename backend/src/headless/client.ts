/**
 * A headless Collab client: `socket.io-client` plus the protocol's sync state machine, the same
 * path the extension takes, without VS Code. The integration tests, and later the load tool, use it.
 *
 * It carries out the state machine's effects: sends submissions and fetches, applies remote ops to
 * its text, retries after back-off, resynchronises with a fence, and on reconnect re-joins its
 * rooms and re-opens its files at their known versions.
 */
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import {
  apply,
  createSyncState,
  isSynchronized,
  localText,
  replaceOp,
  resyncFence,
  step,
  textHash,
  type ClientToServerEvents,
  type CommittedOp,
  type ErrorBody,
  type ServerToClientEvents,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
  type TextOp,
  type WireOp,
} from '@collab/protocol';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A reply as the server sends it. */
export type AnyReply = { ok: true; [key: string]: unknown } | { ok: false; error: ErrorBody };

/** Options of `CollabClient.connect`. */
export interface ConnectOptions {
  /** Reconnect automatically (with Socket.IO's back-off). @default true */
  readonly reconnection?: boolean;
  /** Request timeout in ms. @default 10_000 */
  readonly timeoutMs?: number;
}

/** A connection to a Collab server for one user. */
export class CollabClient {
  readonly socket: ClientSocket;
  private readonly docs = new Map<string, FileDoc>();
  private readonly joinedRooms = new Set<string>();
  /** Everything the server pushed, for assertions: [event, payload]. */
  readonly received: [string, unknown][] = [];

  private constructor(
    readonly url: string,
    private token: string,
    private readonly options: ConnectOptions,
  ) {
    this.socket = io(url, {
      transports: ['websocket'],
      auth: (cb) => cb({ token: this.token }),
      reconnection: options.reconnection ?? true,
      reconnectionDelay: 50,
      reconnectionDelayMax: 500,
      forceNew: true,
    });
    this.socket.onAny((event: string, payload: unknown) => this.received.push([event, payload]));
    this.socket.on('op', (op) => this.docs.get(op.fileId)?.onRemote(op));
    this.socket.on('disconnect', () => {
      for (const doc of this.docs.values()) doc.feed({ type: 'disconnect' });
    });
    // Every connection after the first resumes: an automatic reconnection, and also a manual
    // `socket.connect()` after `socket.disconnect()` (e.g. with a fresh token), which Socket.IO's
    // manager does not report as 'reconnect'.
    let connectedBefore = false;
    this.socket.on('connect', () => {
      if (connectedBefore) void this.resume();
      connectedBefore = true;
    });
  }

  /** Connects and resolves once the handshake is accepted (rejects with the server's error). */
  static connect(url: string, token: string, options: ConnectOptions = {}): Promise<CollabClient> {
    const client = new CollabClient(url, token, options);
    return new Promise((resolve, reject) => {
      client.socket.once('connect', () => resolve(client));
      client.socket.once('connect_error', (err: Error & { data?: ErrorBody }) => {
        client.socket.close();
        reject(Object.assign(new Error(err.data?.code ?? err.message), { data: err.data }));
      });
    });
  }

  /** Replaces the token used on the next (re)connection. */
  setToken(token: string): void {
    this.token = token;
  }

  /** Sends a request and resolves with the server's reply (or a timeout error reply). */
  async request(event: keyof ClientToServerEvents, payload: unknown): Promise<AnyReply> {
    // The typed emitWithAck cannot take an event name chosen at run time; the reply is checked
    // by the caller.
    const timed = this.socket.timeout(this.options.timeoutMs ?? 10_000) as unknown as {
      emitWithAck(ev: string, p: unknown): Promise<AnyReply>;
    };
    try {
      return await timed.emitWithAck(event, payload);
    } catch {
      return { ok: false, error: { code: 'UNAVAILABLE', message: `no reply to ${event}` } };
    }
  }

  /** Joins a room; throws on refusal. */
  async joinRoom(roomId: string): Promise<AnyReply & { ok: true }> {
    const reply = await this.request('room:join', { roomId });
    if (!reply.ok) throw new Error(`room:join refused: ${reply.error.code} ${reply.error.message}`);
    this.joinedRooms.add(roomId);
    return reply;
  }

  /** Opens a file for editing; throws on refusal. */
  async openFile(roomId: string, fileId: string): Promise<FileDoc> {
    const clientId = randomBytes(16).toString('base64url');
    const reply = await this.request('file:open', { roomId, fileId, clientId });
    if (!reply.ok) throw new Error(`file:open refused: ${reply.error.code} ${reply.error.message}`);
    const doc = new FileDoc(this, roomId, fileId, clientId, reply['version'] as number, reply['text'] as string);
    this.docs.set(fileId, doc);
    return doc;
  }

  /** After a reconnect: re-join rooms, re-open files at their known versions, resume syncing. */
  private async resume(): Promise<void> {
    for (const roomId of this.joinedRooms) {
      const r = await this.request('room:join', { roomId });
      if (!r.ok) return; // access is gone; nothing more to resume here
    }
    for (const doc of this.docs.values()) await doc.reopen();
  }

  /** Disconnects for good. */
  close(): void {
    this.socket.io.opts.reconnection = false;
    this.socket.close();
  }

  /** The docs this client has open. */
  openDocs(): FileDoc[] {
    return [...this.docs.values()];
  }
}

/** One open file of a client: its sync state, its text, and the effects carried out. */
export class FileDoc {
  state: SyncState;
  text: string;
  /** Every effect the state machine asked for (for assertions). */
  readonly effects: SyncEffect[] = [];
  private waiters: (() => void)[] = [];
  private resyncing = false;

  constructor(
    readonly client: CollabClient,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    version: number,
    text: string,
  ) {
    this.state = createSyncState(clientId, version, text);
    this.text = text;
  }

  /** Types `text` at `offset`, replacing `remove` code units. */
  type(offset: number, text: string, remove = 0): void {
    this.edit(replaceOp(this.text.length, offset, remove, text));
  }

  /** Applies a local edit and hands it to the state machine. */
  edit(op: TextOp): void {
    this.text = apply(op, this.text);
    this.feed({ type: 'local', op });
  }

  /** Feeds an event and carries out its effects. */
  feed(event: SyncEvent): void {
    const { state, effects } = step(this.state, event);
    this.state = state;
    for (const effect of effects) this.perform(effect);
    if (isSynchronized(this.state)) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  /** A broadcast op arrived. */
  onRemote(op: WireOp): void {
    this.feed({ type: 'remote', op: fromWire(op) });
  }

  /** Resolves when nothing local awaits the server (and, if given, the version is reached). */
  async synced(timeoutMs = 10_000, minVersion = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(isSynchronized(this.state) && this.state.version >= minVersion)) {
      if (Date.now() > deadline) throw new Error(`file ${this.fileId} did not sync (version ${this.state.version}, wanted ${minVersion})`);
      if (this.state.version < minVersion && this.state.online) this.feed({ type: 'head', version: minVersion });
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
  }

  /** Asks the server whether our copy matches (by hash) at our version. */
  async verify(): Promise<{ head: number; match: boolean | null }> {
    const reply = await this.client.request('file:verify', {
      roomId: this.roomId,
      fileId: this.fileId,
      version: this.state.version,
      hash: textHash(this.state.serverText),
    });
    if (!reply.ok) throw new Error(`verify failed: ${reply.error.code}`);
    return { head: reply['head'] as number, match: reply['match'] as boolean | null };
  }

  /** Re-opens at the known version after a reconnect (or resyncs when history is gone). */
  async reopen(): Promise<void> {
    const reply = await this.client.request('file:open', {
      roomId: this.roomId,
      fileId: this.fileId,
      clientId: this.clientId,
      knownVersion: this.state.version,
    });
    if (reply.ok && reply['mode'] === 'ops') {
      this.feed({ type: 'reconnect', ops: (reply['ops'] as WireOp[]).map(fromWire) });
      this.feed({ type: 'head', version: reply['version'] as number });
    } else if (!reply.ok && reply.error.code === 'HISTORY_COMPACTED') {
      await this.resync();
      this.feed({ type: 'reconnect', ops: [] });
    }
  }

  private perform(effect: SyncEffect): void {
    this.effects.push(effect);
    switch (effect.type) {
      case 'send':
        void this.client.request('op:submit', { roomId: this.roomId, fileId: this.fileId, ...effect.submission }).then((reply) => {
          if (reply.ok) this.feed({ type: 'ack', seq: effect.submission.seq, version: reply['version'] as number });
          else this.feed({ type: 'reject', seq: effect.submission.seq, error: reply.error });
        });
        break;
      case 'apply':
        this.text = apply(effect.op, this.text);
        break;
      case 'fetch':
        void this.client.request('ops:fetch', { roomId: this.roomId, fileId: this.fileId, from: effect.from, to: effect.to }).then((reply) => {
          if (reply.ok) this.feed({ type: 'fetched', ops: (reply['ops'] as WireOp[]).map(fromWire) });
          else if (reply.error.code === 'HISTORY_COMPACTED') void this.resync();
          else this.feed({ type: 'fetched', ops: [] });
        });
        break;
      case 'retryLater':
        setTimeout(() => this.feed({ type: 'retry' }), effect.error.retryAfterMs ?? 50);
        break;
      case 'needResync':
        void this.resync();
        break;
      case 'acked':
      case 'rolledBack':
      case 'merged':
      case 'stalled':
        break;
    }
  }

  /** Fetches the head text with a fence and rebases local typing onto it. */
  async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      const fence = resyncFence(this.state);
      const reply = await this.client.request('file:open', {
        roomId: this.roomId,
        fileId: this.fileId,
        clientId: this.clientId,
        ...(fence !== null ? { fenceSeq: fence } : {}),
      });
      if (!reply.ok || reply['mode'] !== 'snapshot') return;
      this.feed({
        type: 'resync',
        version: reply['version'] as number,
        text: reply['text'] as string,
        lastCommitted: (reply['lastCommitted'] as { seq: number; version: number } | null) ?? null,
      });
    } finally {
      this.resyncing = false;
    }
  }

  /** The text the state machine believes the document holds (must equal `text`). */
  expectedText(): string {
    return localText(this.state);
  }
}

/** The protocol's committed op from its wire form. */
export function fromWire(op: WireOp): CommittedOp {
  return { version: op.version, op: op.op, clientId: op.clientId, seq: op.seq, author: op.author, at: op.at };
}
