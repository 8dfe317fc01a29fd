/**
 * Broadcasts to a file's readers across nodes: committed ops (`op`, `ops`) and cursors (`cursor`).
 * Through the Socket.IO Redis adapter each broadcast is one Redis message, which every node
 * receives and decodes (the publisher included: Redis sends it back): per op or cursor, a publish
 * and a delivery per node. Here a node delivers to its own sockets at once, as before, and sends
 * the other nodes everything it broadcast in one turn of the event loop as ONE message (a group
 * commit's submissions are answered in one turn, so one message per group commit), which they
 * deliver to their sockets in order.
 *
 * Nothing correct depends on it (as with the adapter): a lost message leaves gaps the clients fetch
 * (PROTOCOL.md §7.4), the order of a file's ops is kept by their versions, and a lost cursor is
 * corrected by the next one (§10).
 *
 * The same message carries messages for one node (`toNode`): submissions forwarded to the node that
 * sequences their file, and its answers (`commit-routing.ts`). Sharing the message keeps their
 * order: an answer published after the broadcast of its op reaches the submitter's node after it.
 */
import type { OpsBatch, RemoteCursor, WireOp } from '@collab/protocol';
import type { Server } from 'socket.io';
import type { RelayedBroadcast } from './redis-fanout';

/** The cross-node channel (the Redis fan-out), absent on a node that runs alone. */
export interface BroadcastRelay {
  /** This node's address for `toNode` messages. */
  readonly nodeId: string;
  publishBroadcasts(broadcasts: readonly RelayedBroadcast[]): void;
  onBroadcasts(listener: (broadcasts: RelayedBroadcast[]) => void): void;
}

/** Receives the `toNode` messages addressed to this node, in the order they were sent. */
export type NodeMessageListener = (event: string, payload: unknown) => void;

/** The events sent to a file's channel through `FileBroadcasts`. */
const FILE_EVENTS = ['op', 'ops', 'cursor'] as const;
type FileEvent = (typeof FILE_EVENTS)[number];
const IS_FILE_EVENT: ReadonlySet<string> = new Set(FILE_EVENTS);

/** Sends to a file's channel on this node now and on the other nodes once per turn. */
export class FileBroadcasts {
  private pending: RelayedBroadcast[] = [];
  private scheduled = false;
  private nodeListener: NodeMessageListener | undefined;

  constructor(
    private readonly io: Server,
    private readonly relay: BroadcastRelay | undefined,
  ) {
    const ownAddress = relay ? `node:${relay.nodeId}` : undefined;
    relay?.onBroadcasts((broadcasts) => {
      for (const b of broadcasts) {
        if (!b || typeof b.room !== 'string') continue;
        if (b.room === ownAddress) {
          this.nodeListener?.(b.event, b.payload);
          continue;
        }
        // Otherwise only what this module publishes: broadcasts to a file's channel.
        if (!b.room.startsWith('file:') || !IS_FILE_EVENT.has(b.event)) continue;
        const local = this.io.local.to(b.room);
        (typeof b.except === 'string' ? local.except(b.except) : local).emit(b.event as FileEvent, b.payload as never);
      }
    });
  }

  /** Calls `listener` with every message other nodes address to this node (`toNode`). */
  onNodeMessage(listener: NodeMessageListener): void {
    this.nodeListener = listener;
  }

  /** A message for one node, sent at the end of the turn after everything broadcast before it. */
  toNode(nodeId: string, event: string, payload: unknown): void {
    if (!this.relay) return;
    this.enqueue({ room: `node:${nodeId}`, event, payload });
  }

  /** One committed op to the file's readers, but the connection `except` (its submitter). */
  op(fileId: string, wire: WireOp, except: string): void {
    this.send(fileId, 'op', wire, except);
  }

  /** A batch of a file's committed ops to all its readers, submitters included (PROTOCOL.md §7.2). */
  ops(batch: OpsBatch): void {
    this.send(batch.fileId, 'ops', batch, undefined);
  }

  /** A cursor to the file's readers, but the connection `except` (its sender). */
  cursor(cursor: RemoteCursor, except: string): void {
    this.send(cursor.fileId, 'cursor', cursor, except);
  }

  /** Publishes what waited for the end of the turn, as one message. */
  private flush(): void {
    this.scheduled = false;
    const broadcasts = this.pending;
    this.pending = [];
    if (broadcasts.length > 0) this.relay?.publishBroadcasts(broadcasts);
  }

  /** To this node's sockets in the file's channel (but `except`, wherever it lives) now; to the other nodes' at the end of the turn. */
  private send(fileId: string, event: FileEvent, payload: unknown, except: string | undefined): void {
    const room = `file:${fileId}`;
    const local = this.io.local.to(room);
    (except ? local.except(except) : local).emit(event, payload);
    if (!this.relay) return;
    // `except` travels too: a forwarded submission's submitter lives on another node.
    this.enqueue(except ? { room, event, payload, except } : { room, event, payload });
  }

  private enqueue(item: RelayedBroadcast): void {
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    // After the immediates already queued: the other submissions of the same group commit.
    setImmediate(() => this.flush());
  }
}
