/**
 * Fan-out across nodes: the Socket.IO Redis adapter (`@socket.io/redis-adapter`) on two `ioredis`
 * connections (one publishes, one subscribes). Room broadcasts (`op`, cursors, presence, domain
 * events), `fetchSockets`, `socketsLeave` and `serverSideEmit` then reach every node.
 *
 * Redis pub/sub is fire-and-forget, and nothing here pretends otherwise: a message published while
 * Redis is down, or while a subscriber is reconnecting, is lost. That is safe because nothing that
 * matters travels only through Redis: every op carries its version and clients fetch gaps from the
 * database (PROTOCOL.md §8), and the authoritative order is decided in PostgreSQL. What this module
 * guarantees is that an outage never crashes a node (a failed publish is counted and dropped, not
 * an unhandled rejection) and that subscriptions come back by themselves when Redis does
 * (ioredis reconnects with back-off and re-subscribes).
 */
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import * as msgpack from 'notepack.io';
import type { Logger } from '../observability/logger';

/** Test-only faults for the publishing side. */
export interface FanoutFaults {
  /** Delay every publish by a random 0..N ms (reorders this node's broadcasts against others'). */
  readonly publishDelayMs?: number;
}

/** Observers of the fan-out (metrics). */
export interface FanoutHooks {
  /** A publish failed (Redis unreachable); the message is lost. */
  onPublishError?(err: unknown): void;
}

/**
 * One item of a node's per-turn message on the ops channel: an `op`, `ops` or `cursor` event for a
 * file's channel (`file:<id>`, to every reader there but the socket `except`), or a message for one
 * node (`node:<id>`: a forwarded submission or its answer, see `commit-routing.ts`).
 */
export interface RelayedBroadcast {
  readonly room: string;
  readonly event: string;
  readonly payload: unknown;
  readonly except?: string;
}

/** Who sequences a file across nodes: the holder of its lease and how much longer the lease runs. */
export interface FileLease {
  readonly owner: string;
  readonly remainingMs: number;
}

/** A running fan-out: the adapter factory for `io.adapter(...)` and the Redis connections. */
export interface RedisFanout {
  readonly adapter: ReturnType<typeof createAdapter>;
  /** This node's id on the ops channel (hex), the address of its `node:<id>` messages and leases. */
  readonly nodeId: string;
  /**
   * The lease on sequencing `fileId`: taken for this node for `ttlMs` if nobody holds it, renewed
   * if this node does, otherwise the holder's. Rejects while Redis is unreachable.
   */
  claimFile(fileId: string, ttlMs: number): Promise<FileLease>;
  /** Gives up this node's lease on `fileId` (nothing if another node holds it). */
  releaseFile(fileId: string): Promise<void>;
  /**
   * Publishes this node's file broadcasts of one turn of the event loop as ONE message on the ops
   * channel (the adapter would publish one per broadcast, and every node would receive each).
   * Fire-and-forget like the adapter: a failure is counted (`onPublishError`) and dropped.
   */
  publishBroadcasts(broadcasts: readonly RelayedBroadcast[]): void;
  /** Calls `listener` with every batch other nodes publish on the ops channel (never this node's own). */
  onBroadcasts(listener: (broadcasts: RelayedBroadcast[]) => void): void;
  /** Calls `listener` whenever the subscriber connection becomes ready again (after an outage, messages were missed). */
  onSubscriberReady(listener: () => void): void;
  /** True while both connections are up (for `/readyz`). */
  ready(): boolean;
  /** Closes both connections. */
  close(): Promise<void>;
}

/** Length of the random node id that leads every message on the ops channel. */
export const NODE_ID_BYTES = 16;

/**
 * One message of the ops channel: the sending node's id (`NODE_ID_BYTES` bytes), then the
 * MessagePack of its broadcasts, so that a node skips its own messages (Redis sends them back)
 * without decoding them.
 */
export function encodeOpsMessage(nodeId: Buffer, broadcasts: readonly RelayedBroadcast[]): Buffer {
  return Buffer.concat([nodeId, msgpack.encode(broadcasts) as Buffer]);
}

/** The broadcasts of an ops-channel message, as decoded (unchecked); throws when undecodable. */
export function decodeOpsMessage(message: Buffer): unknown {
  return msgpack.decode(message.subarray(NODE_ID_BYTES));
}

/** How long a cross-node request (`fetchSockets`, ...) waits for the other nodes. */
const REQUESTS_TIMEOUT_MS = 2000;

/** Starts connecting to Redis at `url` (in the background, retrying for ever) and builds the adapter. */
export function createRedisFanout(
  url: string,
  logger: Logger,
  options: { readonly prefix?: string; readonly faults?: FanoutFaults; readonly hooks?: FanoutHooks } = {},
): RedisFanout {
  const hooks = options.hooks ?? {};
  const faults = options.faults ?? {};
  const common = {
    // Reconnect for ever, backing off to 2 s: a node outlives a Redis restart.
    retryStrategy: (times: number) => Math.min(50 * times, 2000),
    // A command issued while Redis is down fails at once instead of queueing without bound: a
    // broadcast that cannot be published now is worthless later (clients fetch what they missed).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  };
  const pub = new Redis(url, { ...common, connectionName: 'collab-pub' });
  // The subscriber must queue its (re)subscriptions until connected; ioredis re-subscribes itself.
  const sub = new Redis(url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true, connectionName: 'collab-sub' });
  let warned = false;
  const readyListeners: (() => void)[] = [];
  for (const [name, client] of [
    ['publisher', pub],
    ['subscriber', sub],
  ] as const) {
    client.on('error', (err: Error) => {
      // ioredis reports every failed reconnection attempt; one warning per outage is enough.
      if (!warned) logger.warn({ err: err.message, connection: name }, 'redis unavailable; fan-out across nodes is interrupted');
      warned = true;
    });
    client.on('ready', () => {
      if (warned) logger.info({ connection: name }, 'redis connection restored');
      warned = false;
      if (client === sub) for (const listener of readyListeners) listener();
    });
  }
  // Not awaited: a node starts (degraded, `/readyz` says `redis: down`) even while Redis is down,
  // so that restarting a node during a Redis outage does not turn into a crash loop. The
  // subscriber's subscriptions are queued and sent once it connects.

  // The adapter calls `publish` without handling its promise: a rejection (Redis down) would be an
  // unhandled rejection, which ends the process. Failures are counted and dropped here instead.
  const publish = pub.publish.bind(pub) as (channel: string, message: string | Buffer) => Promise<number>;
  const delay = faults.publishDelayMs ?? 0;
  (pub as unknown as { publish: typeof publish }).publish = (channel, message) => {
    const send = (): Promise<number> =>
      publish(channel, message).catch((err: unknown) => {
        hooks.onPublishError?.(err);
        return 0;
      });
    if (delay <= 0) return send();
    return new Promise<number>((resolve) => setTimeout(() => void send().then(resolve), Math.random() * delay));
  };

  const key = options.prefix ?? 'collab';
  const adapter = createAdapter(pub, sub, { requestsTimeout: REQUESTS_TIMEOUT_MS, key });

  // The ops channel (`encodeOpsMessage`).
  const opsChannel = `${key}-ops`;
  const nodeId = randomBytes(NODE_ID_BYTES);
  const listeners: ((broadcasts: RelayedBroadcast[]) => void)[] = [];
  void sub.subscribe(opsChannel).catch(() => undefined); // queued until connected; re-subscribed by ioredis
  sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    if (listeners.length === 0 || channel.toString() !== opsChannel) return;
    if (message.length <= NODE_ID_BYTES || message.subarray(0, NODE_ID_BYTES).equals(nodeId)) return;
    let broadcasts: unknown;
    try {
      broadcasts = decodeOpsMessage(message);
    } catch (err) {
      logger.warn({ err: String(err) }, 'undecodable message on the ops channel; dropped');
      return;
    }
    if (!Array.isArray(broadcasts)) return;
    for (const listener of listeners) listener(broadcasts as RelayedBroadcast[]);
  });

  // One round trip each, atomic in Redis: claim-or-renew returns the holder and the lease's rest;
  // release deletes only this node's own lease.
  const leaseKey = (fileId: string): string => `${key}-lease:${fileId}`;
  const nodeHex = nodeId.toString('hex');
  pub.defineCommand('collabClaimFile', {
    numberOfKeys: 1,
    lua: `local owner = redis.call('GET', KEYS[1])
if not owner then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {ARGV[1], tonumber(ARGV[2])} end
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {owner, tonumber(ARGV[2])} end
return {owner, redis.call('PTTL', KEYS[1])}`,
  });
  pub.defineCommand('collabReleaseFile', {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  });
  type LeaseCommands = {
    collabClaimFile(key: string, node: string, ttlMs: number): Promise<[string, number]>;
    collabReleaseFile(key: string, node: string): Promise<number>;
  };
  const leases = pub as unknown as LeaseCommands;

  return {
    adapter,
    nodeId: nodeHex,
    async claimFile(fileId, ttlMs) {
      const [owner, remainingMs] = await leases.collabClaimFile(leaseKey(fileId), nodeHex, Math.max(1, Math.round(ttlMs)));
      return { owner, remainingMs: Math.max(0, remainingMs) };
    },
    async releaseFile(fileId) {
      await leases.collabReleaseFile(leaseKey(fileId), nodeHex);
    },
    publishBroadcasts(broadcasts) {
      if (broadcasts.length === 0) return;
      void pub.publish(opsChannel, encodeOpsMessage(nodeId, broadcasts));
    },
    onBroadcasts(listener) {
      listeners.push(listener);
    },
    onSubscriberReady(listener) {
      readyListeners.push(listener);
    },
    ready: () => pub.status === 'ready' && sub.status === 'ready',
    async close() {
      // QUIT only over a live connection: while Redis is down it would wait for a reconnection.
      const end = async (client: Redis): Promise<void> => {
        if (client.status !== 'ready') return client.disconnect();
        await client.quit().catch(() => client.disconnect());
      };
      await Promise.all([end(pub), end(sub)]);
    },
  };
}
