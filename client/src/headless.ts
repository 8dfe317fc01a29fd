/**
 * A headless Collab client: the connection and file driver the extension uses, with a plain string
 * standing in for the editor. The backend's integration tests and the load tool use it.
 */
import { randomBytes } from 'node:crypto';
import {
  apply,
  isRetriable,
  createSyncState,
  isSynchronized,
  localText,
  replaceOp,
  step,
  type ErrorBody,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
  type TextOp,
  type WireOp,
} from '@collab/protocol';
import { CollabConnection, type AnyReply, type ConnectionOptions } from './connection';
import { FileSync, fromWire, type FileSyncOptions, type SyncCore } from './file-sync';

/** Options of `CollabClient.connect` beyond the URL and token. */
export type HeadlessOptions = Partial<Omit<ConnectionOptions, 'url' | 'token'>> & {
  /** How open files catch up on lost broadcasts (`FileSyncOptions`). @default catch-up every 5 s */
  readonly fileSync?: FileSyncOptions;
};

/**
 * The headless client's default: look for missed ops after 5 s without any. Each look is one
 * `ops:fetch` (a database read or two on the server), so the interval trades the delay before a
 * lost *last* broadcast is repaired against idle load; gaps before later ops are fetched at once.
 */
const DEFAULT_FILE_SYNC: FileSyncOptions = { catchUpIntervalMs: 5000 };

/** One user's headless connection, with the rooms it joined and the files it opened. */
export class CollabClient {
  private readonly docs = new Map<string, FileDoc>();
  private readonly joinedRooms = new Set<string>();
  /** Everything the server pushed, for assertions: [event, payload]. */
  readonly received: [string, unknown][] = [];

  private constructor(
    readonly connection: CollabConnection,
    private readonly tokenBox: { token: string },
    private readonly fileSyncOptions: FileSyncOptions = DEFAULT_FILE_SYNC,
  ) {
    connection.socket.onAny((event: string, payload: unknown) => this.received.push([event, payload]));
    // Rooms first, then files: a re-open needs the room joined on the new connection. A server
    // that answers "retry" (its database restarting, another node just died) is asked again with
    // back-off for as long as this connection lasts; a refusal (access gone) ends the resume.
    connection.onResume(async () => {
      const attempt = connection.socket.id;
      for (let tries = 0; ; tries++) {
        if (connection.socket.id !== attempt || connection.status !== 'live') return; // superseded
        let failed: AnyReply | undefined;
        for (const roomId of this.joinedRooms) {
          const r = await connection.request('room:join', { roomId });
          if (!r.ok) {
            failed = r;
            break;
          }
        }
        if (failed && !failed.ok && !isRetriable(failed.error.code)) return; // access is gone
        if (!failed) {
          for (const doc of this.docs.values()) await doc.sync.reopen();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** tries)));
      }
    });
  }

  /** Connects as the holder of `token`. */
  static async connect(url: string, token: string, options: HeadlessOptions = {}): Promise<CollabClient> {
    const box = { token };
    const { fileSync, ...connectionOptions } = options;
    const connection = await CollabConnection.connect({
      url,
      token: () => box.token,
      reconnectionDelay: 50,
      reconnectionDelayMax: 500,
      ...connectionOptions,
    });
    return new CollabClient(connection, box, fileSync ?? DEFAULT_FILE_SYNC);
  }

  /** The Socket.IO socket (tests use it to cut the transport). */
  get socket(): CollabConnection['socket'] {
    return this.connection.socket;
  }

  /** Replaces the token used on the next (re)connection. */
  setToken(token: string): void {
    this.tokenBox.token = token;
  }

  /** Sends a request and resolves with the reply. */
  request(event: Parameters<CollabConnection['request']>[0], payload: unknown): Promise<AnyReply> {
    return this.connection.request(event, payload);
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
    const doc = new FileDoc(this.connection, roomId, fileId, clientId, reply['version'] as number, reply['text'] as string, this.fileSyncOptions);
    this.docs.set(fileId, doc);
    return doc;
  }

  /** The files this client has open. */
  openDocs(): FileDoc[] {
    return [...this.docs.values()];
  }

  /** Disconnects for good. */
  close(): void {
    for (const doc of this.docs.values()) doc.sync.dispose();
    this.connection.close();
  }
}

/** One open file of a headless client: its text, its sync state and its driver. */
export class FileDoc implements SyncCore {
  state: SyncState;
  text: string;
  /** Every effect the state machine asked for (for assertions). */
  readonly effects: SyncEffect[] = [];
  readonly sync: FileSync;
  private waiters: (() => void)[] = [];

  constructor(
    connection: CollabConnection,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    version: number,
    text: string,
    options: FileSyncOptions = {},
  ) {
    this.state = createSyncState(clientId, version, text);
    this.text = text;
    this.sync = new FileSync(
      connection,
      roomId,
      fileId,
      clientId,
      this,
      {
        onChange: () => {
          if (!isSynchronized(this.state)) return;
          for (const w of this.waiters.splice(0)) w();
        },
      },
      options,
    );
  }

  /** Types `text` at `offset`, replacing `remove` code units. */
  type(offset: number, text: string, remove = 0): void {
    this.edit(replaceOp(this.text.length, offset, remove, text));
  }

  /** Applies a local edit and hands it to the state machine. */
  edit(op: TextOp): void {
    this.text = apply(op, this.text);
    this.sync.feed({ type: 'local', op });
  }

  /** SyncCore: steps the state machine, applying `apply` effects to the text. */
  feed(event: SyncEvent): SyncEffect[] {
    const { state, effects } = step(this.state, event);
    this.state = state;
    const rest: SyncEffect[] = [];
    for (const effect of effects) {
      this.effects.push(effect);
      if (effect.type === 'apply') this.text = apply(effect.op, this.text);
      else rest.push(effect);
    }
    return rest;
  }

  /** A broadcast op arrived (normally routed by the driver; exposed for tests). */
  onRemote(op: WireOp): void {
    this.sync.feed({ type: 'remote', op: fromWire(op) });
  }

  /** Resolves when nothing local awaits the server and the version is at least `minVersion`. */
  async synced(timeoutMs = 10_000, minVersion = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(isSynchronized(this.state) && this.state.version >= minVersion)) {
      if (Date.now() > deadline) throw new Error(`file ${this.fileId} did not sync (version ${this.state.version}, wanted ${minVersion})`);
      if (this.state.version < minVersion && this.state.online) this.sync.feed({ type: 'head', version: minVersion });
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 25);
      });
    }
  }

  /** Asks the server whether our copy matches (by hash) at our version. */
  verify(): Promise<{ head: number; match: boolean | null }> {
    return this.sync.verify();
  }

  /** Re-opens at the known version (as after a reconnection); true once re-opened. */
  reopen(): Promise<boolean> {
    return this.sync.reopen();
  }

  /** Resynchronises from a fenced snapshot. */
  resync(): Promise<void> {
    return this.sync.resync();
  }

  /** The text the state machine believes the document holds (must equal `text`). */
  expectedText(): string {
    return localText(this.state);
  }
}

export type { ErrorBody };
