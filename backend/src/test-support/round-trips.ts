/**
 * Watches the queries the group commit sends on a Knex pool's connections, as they go on the wire
 * (node-postgres' `query`, PGlite's `exec`): each is one round trip to the database.
 */
import type { Knex } from 'knex';

/** The group commit's round trips seen since `watchGroupCommits`, and the way to stop watching. */
export interface GroupCommitWatch {
  /** Each round trip's text, in order (statement preparation excluded). */
  readonly trips: string[];
  /** Empties `trips`. */
  clear(): void;
  /** Puts the pool's connections back as they were. */
  stop(): void;
}

type Pooled = Record<string, unknown>;
interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(conn: unknown): Promise<unknown>;
}

/**
 * Wraps `query` and `exec` of every connection the pool hands out while watching (an own property
 * over the prototype's method, removed again when the connection is released), and records the
 * texts that belong to the group commit: those EXECUTEing its statements and its bare COMMIT.
 */
export function watchGroupCommits(knex: Knex): GroupCommitWatch {
  const client = knex.client as PoolClient;
  const acquire = client.acquireConnection;
  const release = client.releaseConnection;
  const trips: string[] = [];
  const patched = new WeakMap<object, string[]>();
  const record = (text: unknown): void => {
    if (typeof text !== 'string' || text.startsWith('PREPARE')) return;
    if (text.includes('EXECUTE collab_') || text === 'COMMIT') trips.push(text);
  };
  client.acquireConnection = async function (this: PoolClient) {
    const conn = (await acquire.call(this)) as Pooled;
    const methods: string[] = [];
    for (const method of ['query', 'exec']) {
      const original = conn[method];
      if (typeof original !== 'function' || Object.prototype.hasOwnProperty.call(conn, method)) continue;
      methods.push(method);
      conn[method] = function (this: unknown, ...args: unknown[]) {
        record(args[0]);
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
    patched.set(conn, methods);
    return conn;
  };
  client.releaseConnection = function (this: PoolClient, conn: unknown) {
    const pooled = conn as Pooled;
    for (const method of patched.get(pooled) ?? []) delete pooled[method];
    patched.delete(pooled);
    return release.call(this, conn);
  };
  return {
    trips,
    clear: () => void trips.splice(0),
    stop: () => {
      client.acquireConnection = acquire;
      client.releaseConnection = release;
    },
  };
}
