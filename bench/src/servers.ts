/**
 * The servers a run talks to: backend nodes this tool spawns (`node backend/dist/main.js`, each on
 * a free port, on a fresh database: a scratch PostgreSQL database created for the run and dropped
 * at the end, or a temporary PGlite directory), or existing ones given by URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/** Where the backend's entry point is, relative to this file (bench/dist/servers.js). */
export const BACKEND_MAIN = path.resolve(__dirname, '..', '..', 'backend', 'dist', 'main.js');

/** Which database spawned nodes use. */
export type DbKind = 'pglite' | 'postgres';

/** How to spawn the backend nodes of a run. */
export interface SpawnOptions {
  readonly db: DbKind;
  /** How many nodes (more than one needs PostgreSQL and Redis). */
  readonly nodes: number;
  /** Admin URL used to create and drop the scratch database. */
  readonly pgAdminUrl: string;
  /** Redis for fan-out between nodes (only passed when `nodes > 1`). */
  readonly redisUrl: string;
  /** Directory for `--cpu-prof` profiles of the nodes, or undefined for no profiling. */
  readonly profileDir?: string;
  /** The nodes' LOG_LEVEL. @default 'warn' */
  readonly logLevel?: string;
  /** Extra Node.js / V8 flags for every spawned node, before the script (e.g. --trace-deopt). */
  readonly nodeFlags?: readonly string[];
  /** synchronous_commit of the scratch PostgreSQL database ('off' only for the diagnostic run). @default 'on' */
  readonly synchronousCommit?: SynchronousCommit;
  /** nginx's balancing of several nodes (matters with `--via-balancer`). @default 'room' */
  readonly balance?: 'room' | 'round-robin';
  /**
   * Open each spawned node's inspector on a free loopback port (`--inspect=127.0.0.1:0`), so the
   * run can force a full GC before reading memory (one-node runs only). @default false
   */
  readonly inspect?: boolean;
}

/** The two values of `--synchronous-commit`. */
export type SynchronousCommit = 'on' | 'off';

/** One backend node. */
export interface ServerNode {
  readonly url: string;
  /** Its pid when this tool spawned it (sampled for CPU and RSS), else undefined. */
  readonly pid: number | undefined;
  /** Its inspector's WebSocket URL when spawned with `inspect`, else undefined. */
  readonly inspectorUrl?: string;
}

/** The servers of a run and how to clean them up. */
export interface Servers {
  readonly nodes: readonly ServerNode[];
  /** Where HTTP API calls go: the load balancer when there is one, else node 0. */
  readonly apiUrl: string;
  /** Other processes of the topology to sample (the load balancer). */
  readonly extraPids: readonly number[];
  /** What the data lives in, for the report. */
  readonly database: string;
  /** The scratch database's name (its PostgreSQL backends are sampled), if any. */
  readonly scratchDb: string | undefined;
  /** Stops spawned nodes (SIGTERM, then SIGKILL after 20 s) and drops the scratch database. */
  stop(): Promise<void>;
}

/** Servers given by URL: nothing to spawn or stop. */
export function existingServers(urls: readonly string[], pid?: number): Servers {
  const nodes = urls.map((url, i) => ({ url: url.replace(/\/+$/, ''), pid: i === 0 ? pid : undefined }));
  return {
    nodes,
    apiUrl: nodes[0]?.url ?? '',
    extraPids: [],
    database: 'external',
    scratchDb: undefined,
    stop: async () => {},
  };
}

/** Spawns `options.nodes` backend nodes on a fresh database and waits until each listens. */
export async function spawnServers(options: SpawnOptions): Promise<Servers> {
  if (options.nodes > 1 && options.db !== 'postgres') throw new Error('several nodes need one shared PostgreSQL: use --db postgres');
  if (options.nodes > 1 && options.inspect) throw new Error('--inspect is for one spawned node');
  if (options.nodes > 1) return spawnTopology(options);
  const children: ChildProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let scratchDb: string | undefined;
  let databaseUrl: string | undefined;
  let dataDir: string | undefined;
  if (options.db === 'postgres') {
    scratchDb = `bench_${randomBytes(6).toString('hex')}`;
    databaseUrl = await createScratchDatabase(options.pgAdminUrl, scratchDb, options.synchronousCommit);
    const name = scratchDb;
    cleanups.push(() => dropScratchDatabase(options.pgAdminUrl, name));
  }
  // Nodes share the JWT secret (a token from one is valid on the other); PGlite keeps its data here.
  const tmp = mkdtempSync(path.join(tmpdir(), 'collab-bench-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  dataDir = tmp;
  const jwtSecret = randomBytes(32).toString('base64url');

  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c)));
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(`bench: cleanup failed: ${String(err)}`));
  };
  try {
    const nodes: ServerNode[] = [];
    for (let i = 0; i < options.nodes; i++) {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: dataDir,
        JWT_SECRET: jwtSecret,
        LOG_LEVEL: options.logLevel ?? 'warn',
        ...nodeTuningEnv(process.env),
      };
      delete env['DATABASE_URL'];
      delete env['REDIS_URL'];
      if (databaseUrl) env['DATABASE_URL'] = databaseUrl;
      if (options.nodes > 1) env['REDIS_URL'] = options.redisUrl;
      const flags = [...(options.nodeFlags ?? [])];
      if (options.profileDir) flags.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
      if (options.inspect) flags.push('--inspect=127.0.0.1:0');
      const child = spawn(process.execPath, [...flags, BACKEND_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      const { url, inspectorUrl } = await waitForUrl(child, i, options.inspect === true);
      nodes.push({ url, pid: child.pid, ...(inspectorUrl ? { inspectorUrl } : {}) });
    }
    return {
      nodes,
      apiUrl: nodes[0]?.url ?? '',
      extraPids: [],
      database: databaseUrl ? `PostgreSQL (scratch database ${scratchDb})` : `PGlite in ${dataDir}`,
      scratchDb,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Server settings a bench run may tune through its own environment, passed on to every spawned node. */
export const NODE_TUNING_VARIABLES = ['COMMIT_CONCURRENCY', 'COMMIT_OVERLAP_MS', 'COMMIT_PREDICTIONS', 'COMMIT_ROUTING', 'DATABASE_POOL_MAX', 'REGISTRATIONS_PER_HOUR', 'NODE_OPTIONS'] as const;

/**
 * The tuning variables set in `env`, and a sign-up limit high enough for the hundreds of users a
 * run signs up from 127.0.0.1 unless `env` sets one.
 */
export function nodeTuningEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { REGISTRATIONS_PER_HOUR: '1000000' };
  for (const name of NODE_TUNING_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** The multi-node topology library of the backend (issue #5), when it is built. */
export const TOPOLOGY_MODULE = path.resolve(__dirname, '..', '..', 'backend', 'dist', 'ops', 'topology.js');

interface TopologyLike {
  readonly url: string;
  readonly nodes: readonly { readonly url: string; readonly pid: number | undefined }[];
  readonly nginxPid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Several nodes behind nginx on one PostgreSQL (a scratch database) and Redis, started by the
 * backend's own topology module (`backend/src/ops/topology.ts`, the code `scripts/topology.mjs`
 * runs), so the bench measures the deployment the project ships.
 */
async function spawnTopology(options: SpawnOptions): Promise<Servers> {
  if (!existsSync(TOPOLOGY_MODULE)) {
    throw new Error(`needs REDIS multi-node support (issue #5): ${TOPOLOGY_MODULE} is not built`);
  }
  // Loaded at run time: the bench builds and runs single-node scenarios without it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Topology } = require(TOPOLOGY_MODULE) as { Topology: { start(o: Record<string, unknown>): Promise<TopologyLike> } };
  const scratchDb = `bench_${randomBytes(6).toString('hex')}`;
  const databaseUrl = await createScratchDatabase(options.pgAdminUrl, scratchDb, options.synchronousCommit);
  // Our own directory for the topology's configuration and logs, removed at the end.
  const dir = mkdtempSync(path.join(tmpdir(), 'collab-bench-topology-'));
  let topology: TopologyLike;
  try {
    topology = await Topology.start({
      dir,
      nodes: options.nodes,
      databaseUrl,
      redisUrl: options.redisUrl,
      logLevel: options.logLevel ?? 'warn',
      // The topology gives its nodes a fixed environment: pass on the tuning the caller set.
      nodeEnv: () => nodeTuningEnv(process.env),
      balance: options.balance ?? 'room',
      nodeArgs: [...(options.nodeFlags ?? []), ...(options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [])],
    });
  } catch (err) {
    await dropScratchDatabase(options.pgAdminUrl, scratchDb);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const t = topology;
  return {
    // Node pids are read when asked: a node the topology restarts keeps being followed.
    nodes: t.nodes.map((n) => ({ url: n.url, get pid() { return n.pid; } })),
    apiUrl: t.url,
    extraPids: t.nginxPid !== undefined ? [t.nginxPid] : [],
    database: `PostgreSQL (scratch database ${scratchDb}), ${options.nodes} nodes${t.nginxPid !== undefined ? ' behind nginx' : ''}, Redis fan-out`,
    scratchDb,
    stop: async () => {
      await t.stop();
      await dropScratchDatabase(options.pgAdminUrl, scratchDb).catch((err: unknown) => console.error(`bench: dropping ${scratchDb} failed: ${String(err)}`));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves with the URL the node prints ("Collab server listening on <url>") and, when `inspect`,
 * the inspector URL it prints on stderr first ("Debugger listening on ws://…"); rejects if the node
 * exits first.
 */
function waitForUrl(child: ChildProcess, index: number, inspect: boolean): Promise<{ url: string; inspectorUrl: string | undefined }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let url: string | undefined;
    let inspectorUrl: string | undefined;
    let err = '';
    const timer = setTimeout(() => fail(new Error(`node ${index} did not start within 60 s`)), 60_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      reject(new Error(`${e.message}\n${err.slice(-2000)}`));
    };
    const settle = (): void => {
      if (url === undefined || (inspect && inspectorUrl === undefined)) return;
      clearTimeout(timer);
      resolve({ url, inspectorUrl });
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      if (url !== undefined) return;
      out += chunk.toString();
      const m = /Collab server listening on (\S+)/.exec(out);
      if (m?.[1]) {
        url = m[1];
        settle();
      }
    });
    // Warnings and errors of the node are passed through, prefixed, so a failing run says why.
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (inspect && inspectorUrl === undefined) {
        const m = /Debugger listening on (ws:\/\/\S+)/.exec(err);
        if (m?.[1]) {
          inspectorUrl = m[1];
          settle();
        }
      }
      if (err.length > 100_000) err = err.slice(-50_000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (/"level":(40|50|60)/.test(line)) process.stderr.write(`[node ${index}] ${line}\n`);
    });
    child.once('exit', (code, signal) => fail(new Error(`node ${index} exited (${code ?? signal}) before listening`)));
  });
}

/** SIGTERM (the server finishes in-flight commits and writes its CPU profile), then SIGKILL after 20 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Creates database `name` and returns its URL (same server and user as the admin URL). With
 * `synchronousCommit` 'off' the setting is attached to the database itself, so every connection
 * the nodes open gets it, and read back over a connection to it so a silently ignored setting
 * cannot pass for a diagnostic run.
 */
export async function createScratchDatabase(adminUrl: string, name: string, synchronousCommit: SynchronousCommit = 'on'): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
    if (synchronousCommit !== 'on') await client.query(`ALTER DATABASE ${name} SET synchronous_commit = ${synchronousCommit}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (synchronousCommit !== 'on') {
    const check = new Client({ connectionString: url.toString() });
    let got: string;
    try {
      await check.connect();
      got = String((await check.query('SHOW synchronous_commit')).rows[0]?.['synchronous_commit']);
    } finally {
      await check.end().catch(() => undefined);
    }
    if (got !== synchronousCommit) {
      await dropScratchDatabase(adminUrl, name).catch(() => undefined);
      throw new Error(`synchronous_commit on ${name} is ${got}, wanted ${synchronousCommit}`);
    }
  }
  return url.toString();
}

/** Drops the scratch database, disconnecting anything left on it. */
export async function dropScratchDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
