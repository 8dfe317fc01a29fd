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
 *
 * A file's broadcasts go into the message only when another node has readers of the file, as the
 * nodes announce to each other in the same messages (`file-interest.ts`): with clients placed by
 * room, a room's ops then stay on its node. Ops left out in the last moments are kept briefly and
 * sent when a node announces its first reader of the file, which closes the race between that
 * reader's snapshot and the announcement reaching the node that commits.
 */
import type { OpsBatch, RemoteCursor, WireOp } from '@collab/protocol';
import type { Server } from 'socket.io';
import { FILE_INTEREST_DEFAULTS, RemoteInterest, type FileInterestOptions, type InterestKind } from './file-interest';
import type { RelayedBroadcast } from './redis-fanout';

/** The cross-node channel (the Redis fan-out), absent on a node that runs alone. */
export interface BroadcastRelay {
  /** This node's address for `toNode` messages. */
  readonly nodeId: string;
  publishBroadcasts(broadcasts: readonly RelayedBroadcast[]): void;
  onBroadcasts(listener: (broadcasts: RelayedBroadcast[]) => void): void;
  /** Calls `listener` whenever the subscription becomes ready again (announcements may have been missed). */
  onSubscriberReady(listener: () => void): void;
}

/** The room of interest announcements in the per-turn message (payload `{ node, files }`). */
const INTEREST = 'interest';
const INTEREST_KINDS: ReadonlySet<string> = new Set<InterestKind>(['on', 'off', 'all']);
/** How long ops left out of the message are kept for a node that announces a first reader. */
const RECENT_MS = 2000;
/**
 * At most this many left-out broadcasts kept per file (the newest): the race they close lasts one
 * Redis crossing, and the bound keeps a node with many busy files from holding much.
 */
const RECENT_MAX = 8;
/** The prefix of a file's channel (`file:<id>`), the Socket.IO room of its readers. */
const FILE_PREFIX = 'file:';

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
  /** Other nodes' readers of files, as announced. */
  private readonly interest: RemoteInterest;
  /** Ops broadcasts left out of the message lately, per file (see the header). */
  private readonly leftOut = new Map<string, { at: number; b: RelayedBroadcast }[]>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unwatch: (() => void) | undefined;

  constructor(
    private readonly io: Server,
    private readonly relay: BroadcastRelay | undefined,
    interestOptions: Partial<FileInterestOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    const options = { ...FILE_INTEREST_DEFAULTS, ...interestOptions };
    this.interest = new RemoteInterest(options, now);
    if (!relay) return;
    // This node's interests: a file's channel appears with its first local reader (joined before
    // the reader's snapshot is read) and disappears with its last.
    const adapter = io.of('/').adapter;
    const announcer = (kind: InterestKind) => (room: string) => {
      if (room.startsWith(FILE_PREFIX)) this.announce(kind, [room.slice(FILE_PREFIX.length)]);
    };
    const created = announcer('on');
    const deleted = announcer('off');
    adapter.on('create-room', created);
    adapter.on('delete-room', deleted);
    this.unwatch = () => {
      adapter.off('create-room', created);
      adapter.off('delete-room', deleted);
    };
    this.timer = setInterval(() => this.tick(), options.announceMs);
    this.timer.unref();
    relay.onSubscriberReady(() => {
      this.interest.forget();
      this.announce('all', this.localFiles());
    });
    const ownAddress = `node:${relay.nodeId}`;
    relay.onBroadcasts((broadcasts) => {
      for (const b of broadcasts) {
        if (!b || typeof b.room !== 'string') continue;
        if (b.room === ownAddress) {
          this.nodeListener?.(b.event, b.payload);
          continue;
        }
        if (b.room === INTEREST) {
          this.received(b.event, b.payload);
          continue;
        }
        // Otherwise only what this module publishes: broadcasts to a file's channel.
        if (!b.room.startsWith(FILE_PREFIX) || !IS_FILE_EVENT.has(b.event)) continue;
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

  /** Stops announcing (the node is closing). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
  }

  /** Publishes what waited for the end of the turn, as one message, but file broadcasts no other node wants. */
  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = [];
    const t = this.now();
    const broadcasts: RelayedBroadcast[] = [];
    for (const b of pending) {
      if (!b.room.startsWith(FILE_PREFIX)) broadcasts.push(b);
      else if (this.interest.wanted(b.room.slice(FILE_PREFIX.length), t)) broadcasts.push(b);
      else if (b.event !== 'cursor') this.keepLeftOut(b, t);
    }
    if (broadcasts.length > 0) this.relay?.publishBroadcasts(broadcasts);
  }

  /** Keeps a left-out ops broadcast for a node that may announce a reader of its file in a moment. */
  private keepLeftOut(b: RelayedBroadcast, t: number): void {
    let recent = this.leftOut.get(b.room);
    if (!recent) this.leftOut.set(b.room, (recent = []));
    while (recent.length > 0 && (recent.length >= RECENT_MAX || t - (recent[0] as { at: number }).at > RECENT_MS)) recent.shift();
    recent.push({ at: t, b });
  }

  /** Another node's announcement; a first reader there also gets what was left out lately. */
  private received(kind: string, payload: unknown): void {
    if (!INTEREST_KINDS.has(kind) || typeof payload !== 'object' || payload === null) return;
    const { node, files } = payload as { node?: unknown; files?: unknown };
    if (typeof node !== 'string' || !Array.isArray(files) || !files.every((f) => typeof f === 'string')) return;
    this.interest.apply(node, kind as InterestKind, files as string[]);
    if (kind !== 'on') return;
    const t = this.now();
    for (const fileId of files as string[]) {
      const room = FILE_PREFIX + fileId;
      const recent = this.leftOut.get(room) ?? [];
      this.leftOut.delete(room);
      // Clients drop what they already have (by version): a repeat costs nothing but the frame.
      for (const { at, b } of recent) if (t - at <= RECENT_MS) this.enqueue(b);
    }
  }

  /** Announces this node's interest in files to the other nodes (in this turn's message). */
  private announce(kind: InterestKind, files: string[]): void {
    if (!this.relay) return;
    this.enqueue({ room: INTEREST, event: kind, payload: { node: this.relay.nodeId, files } });
  }

  /** The announcement timer: the whole list again, expired entries and old left-out ops dropped. */
  private tick(): void {
    this.announce('all', this.localFiles());
    this.interest.sweep();
    const t = this.now();
    for (const [room, recent] of this.leftOut) if (t - (recent[recent.length - 1]?.at ?? 0) > RECENT_MS) this.leftOut.delete(room);
  }

  /** Files with readers on this node (its file channels). */
  private localFiles(): string[] {
    const files: string[] = [];
    for (const room of this.io.of('/').adapter.rooms.keys()) if (room.startsWith(FILE_PREFIX)) files.push(room.slice(FILE_PREFIX.length));
    return files;
  }

  /** To this node's sockets in the file's channel (but `except`, wherever it lives) now; to the other nodes' at the end of the turn. */
  private send(fileId: string, event: FileEvent, payload: unknown, except: string | undefined): void {
    const room = FILE_PREFIX + fileId;
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
