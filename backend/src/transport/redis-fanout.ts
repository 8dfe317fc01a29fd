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
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
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
  /** The subscriber connection became ready (first time and after every reconnection). */
  onSubscriberReady?(): void;
}

/** A running fan-out: the adapter factory for `io.adapter(...)` and the Redis connections. */
export interface RedisFanout {
  readonly adapter: ReturnType<typeof createAdapter>;
  /** True while both connections are up (for `/readyz`). */
  ready(): boolean;
  /** Closes both connections. */
  close(): Promise<void>;
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
      if (client === sub) hooks.onSubscriberReady?.();
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

  const adapter = createAdapter(pub, sub, { requestsTimeout: REQUESTS_TIMEOUT_MS, key: options.prefix ?? 'collab' });
  return {
    adapter,
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
