/**
 * A bench client: one user's Socket.IO connection (`CollabConnection` of `@collab/client`, the
 * extension's transport) with the rooms it joined and the files it opened (`BenchDoc`, driven by
 * `FileSync`, the extension's driver). After a reconnection it re-joins and re-opens, as the
 * headless client does.
 *
 * Why not `CollabClient`/`FileDoc` from `@collab/client` directly: they record every pushed event
 * and every effect for test assertions (unbounded over a long run), and offer no hook for "this
 * remote op was applied", which the latency measurement needs.
 */
import { randomBytes } from 'node:crypto';
import { CollabConnection, fromWire, type AnyReply } from '@collab/client';
import type { WireOp } from '@collab/protocol';
import { BenchDoc } from './bench-doc';
import type { LatencySink } from './latency';

/** One connection with its open files. */
export class BenchClient {
  readonly docs = new Map<string, BenchDoc>();
  private readonly rooms = new Set<string>();
  /** Disconnections seen (each is an error of the run). */
  disconnects = 0;
  private closing = false;

  private constructor(
    readonly connection: CollabConnection,
    readonly index: number,
  ) {
    connection.onStatus((status) => {
      if (!this.closing && (status === 'reconnecting' || status === 'offline')) this.disconnects++;
    });
    connection.onResume(async () => {
      for (const roomId of this.rooms) {
        const r = await connection.request('room:join', { roomId });
        if (!r.ok) return;
      }
      for (const doc of this.docs.values()) await doc.sync.reopen();
    });
  }

  /** Connects with `token` (WebSocket transport, reconnecting with back-off), for room `affinity` if given. */
  static async connect(url: string, token: string, index: number, timeoutMs = 30_000, affinity?: string): Promise<BenchClient> {
    const connection = await CollabConnection.connect({ url, token: () => token, timeoutMs, reconnectionDelay: 250, reconnectionDelayMax: 2000, ...(affinity === undefined ? {} : { affinity }) });
    return new BenchClient(connection, index);
  }

  /** Sends a request and resolves with the reply. */
  request(event: Parameters<CollabConnection['request']>[0], payload: unknown): Promise<AnyReply> {
    return this.connection.request(event, payload);
  }

  /** Joins a room; throws on refusal. */
  async joinRoom(roomId: string): Promise<AnyReply & { ok: true }> {
    const reply = await this.request('room:join', { roomId });
    if (!reply.ok) throw new Error(`room:join refused: ${reply.error.code} ${reply.error.message}`);
    this.rooms.add(roomId);
    return reply;
  }

  /**
   * Opens a file. Ops broadcast between the server subscribing us and its reply are held and fed
   * after the snapshot (PROTOCOL.md §8.1), so none is lost.
   */
  async openFile(roomId: string, fileId: string, tracker: LatencySink): Promise<BenchDoc> {
    const clientId = randomBytes(16).toString('base64url');
    const held: WireOp[] = [];
    const off = this.connection.on('op', (op) => {
      if (op.fileId === fileId) held.push(op);
    });
    let reply: AnyReply;
    try {
      reply = await this.request('file:open', { roomId, fileId, clientId });
    } finally {
      off();
    }
    if (!reply.ok) throw new Error(`file:open refused: ${reply.error.code} ${reply.error.message}`);
    const doc = new BenchDoc(this.connection, roomId, fileId, clientId, reply['version'] as number, reply['text'] as string, tracker);
    this.docs.set(fileId, doc);
    tracker.addSubscriber(fileId);
    for (const op of held) doc.sync.feed({ type: 'remote', op: fromWire(op) });
    return doc;
  }

  /** True while the socket is connected. */
  get live(): boolean {
    return this.connection.status === 'live';
  }

  /** Disconnects for good. */
  close(): void {
    this.closing = true;
    for (const doc of this.docs.values()) doc.sync.dispose();
    this.connection.close();
  }
}
