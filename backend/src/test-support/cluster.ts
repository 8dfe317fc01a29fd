/**
 * Several server nodes in this process, sharing one fresh PostgreSQL database and one Redis (each
 * node with its own connection pool and its own Redis connections, exactly as separate processes
 * would have), for the multi-node tests. Real PostgreSQL and Redis are required: where either is
 * unreachable the suite is skipped with the reason, except under CI=true, where it fails.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AppFaults } from '../app';
import type { CommitRoutingOptions } from '../transport/commit-routing';
import type { FileInterestOptions } from '../transport/file-interest';
import type { FileSessionOptions } from '../domain/file-sessions';
import { openDatabase, type Database } from '../storage/database';
import { freshPostgres, type TestDatabase } from './databases';
import { TestServer } from './test-app';

/** The Redis the tests use: `TEST_REDIS_URL`, else the local service. */
export function testRedisUrl(): string {
  return process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

let redisProbe: Promise<boolean> | undefined;

/** True when `url` answers PING within a second and a half. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1500, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Whether the shared test Redis answers (memoised for the run). */
export function reachableRedis(): Promise<boolean> {
  redisProbe ??= redisAnswers(testRedisUrl());
  return redisProbe;
}

/**
 * Both services the multi-node tests need: a fresh PostgreSQL database and a Redis URL, or the
 * reason they cannot run (skip). Under CI=true a missing service throws.
 */
export async function multiNodeServices(): Promise<{ pg: TestDatabase; redisUrl: string } | string> {
  if (!(await reachableRedis())) {
    const why = `Redis is not reachable at ${testRedisUrl()}`;
    if (process.env['CI'] === 'true') throw new Error(`CI=true but ${why} (set TEST_REDIS_URL to override)`);
    return why;
  }
  const pg = await freshPostgres();
  if (typeof pg === 'string') return pg;
  return { pg, redisUrl: testRedisUrl() };
}

/** Options of one node of a `Cluster`. */
export interface NodeOptions {
  readonly faults?: AppFaults;
  /** COMMIT_ROUTING for this node. @default on */
  readonly commitRouting?: boolean;
  /** Lease and forward timing across nodes. */
  readonly routing?: Partial<CommitRoutingOptions>;
  /** Timing of the file-interest announcements. */
  readonly fileInterest?: Partial<FileInterestOptions>;
  readonly sessions?: Partial<FileSessionOptions>;
  /** Database URL for this node (e.g. through a fault proxy); default: the cluster's. */
  readonly databaseUrl?: string;
}

/** N in-process nodes over one PostgreSQL database and one Redis channel prefix. */
export class Cluster {
  private constructor(
    readonly nodes: TestServer[],
    private readonly databases: Database[],
    /** A direct handle on the shared database, for assertions. */
    readonly pg: TestDatabase,
    readonly redisUrl: string,
    readonly prefix: string,
    readonly secret: string,
  ) {}

  /** Starts `nodes.length` nodes (one after the other, so migrations run once). */
  static async start(pg: TestDatabase, redisUrl: string, nodes: readonly NodeOptions[]): Promise<Cluster> {
    // A private channel prefix: parallel runs on one Redis never see each other's messages.
    const prefix = `collab-test-${randomBytes(4).toString('hex')}`;
    const secret = randomBytes(32).toString('base64url');
    const started: TestServer[] = [];
    const databases: Database[] = [];
    for (const node of nodes) {
      const db = await openDatabase({ kind: 'postgres', url: node.databaseUrl ?? (pg.url as string), poolMax: 5 });
      databases.push(db);
      started.push(
        await TestServer.start(db, {
          secret,
          redisUrl,
          redisPrefix: prefix,
          ...(node.faults ? { faults: node.faults } : {}),
          ...(node.commitRouting !== undefined ? { commitRouting: node.commitRouting } : {}),
          ...(node.routing ? { routing: node.routing } : {}),
          ...(node.fileInterest ? { fileInterest: node.fileInterest } : {}),
          ...(node.sessions ? { sessions: node.sessions } : {}),
        }),
      );
    }
    return new Cluster(started, databases, pg, redisUrl, prefix, secret);
  }

  /** Node `i` (throws when out of range). */
  node(i: number): TestServer {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i}`);
    return n;
  }

  /** Stops every node still running and closes their databases. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop()));
    await Promise.allSettled(this.databases.map((d) => d.close()));
  }
}
