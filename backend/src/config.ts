/**
 * The server's configuration, read from environment variables. `loadConfig` is pure: it reads only
 * the env object (and working directory) it is given, so it is tested without touching `process`.
 */
import * as path from 'node:path';

/** Environment variables, as in `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The validated configuration of the server. */
export interface ServerConfig {
  /** Interface to listen on (`HOST`). @default '127.0.0.1' (local only) */
  readonly host: string;
  /** TCP port to listen on (`PORT`), 0 to 65535; 0 lets the OS pick a free port. @default 3000 */
  readonly port: number;
  /** PostgreSQL connection URL (`DATABASE_URL`), or `undefined` when not set. */
  readonly databaseUrl: string | undefined;
  /**
   * Largest number of PostgreSQL connections this node opens (`DATABASE_POOL_MAX`, 1 to 1000):
   * size it so that nodes × pool stays below the server's `max_connections`. @default 10
   */
  readonly databasePoolMax?: number;
  /**
   * Group-commit transactions a node keeps open at once (`COMMIT_CONCURRENCY`, 1 to 64): each
   * commits the batches of every file that was ready when it started. @default 4 on PostgreSQL,
   * 1 on the embedded database (`defaultCommitConcurrency`)
   */
  readonly commitConcurrency?: number;
  /**
   * How long (ms) a group-commit transaction is out before a further one may open beside it
   * (`COMMIT_OVERLAP_MS`, 0 to 1000; 0 opens one at once). 2 trades ~0.3 ms of p50 for 11–16 %
   * less PostgreSQL CPU at 1,000 ops/s (docs/benchmarks.md). @default 0
   */
  readonly commitOverlapMs?: number;
  /**
   * Commit a group in one round trip when this node can predict what its locks would read
   * (`COMMIT_PREDICTIONS`, `on` or `off`): checked under the locks, a wrong prediction costs a
   * retry. `off` makes every group take two round trips. @default on
   */
  readonly commitPredictions?: boolean;
  /**
   * With several nodes (`REDIS_URL`), sequence each file on one node, which holds a lease on it in
   * Redis, and forward the other nodes' submissions to it (`COMMIT_ROUTING`, `on` or `off`): no
   * two nodes then contend for a file's row lock, and its groups are decided in one round trip.
   * `off` makes every node commit its own clients' ops. @default on
   */
  readonly commitRouting?: boolean;
  /**
   * Sign-ups one client (IP address) may make per hour on this node (`REGISTRATIONS_PER_HOUR`,
   * 1 to 1,000,000), all of them at once at most: each costs the server one scrypt hash, so an
   * unlimited sign-up endpoint lets anyone load its CPU. @default 20
   */
  readonly registrationsPerHour?: number;
  /**
   * Which proxies in front of this node to believe about the client's address (`TRUST_PROXY`):
   * Express's `trust proxy` setting, as a hop count (`1`) or a comma-separated list of addresses,
   * CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`. The login and sign-up limits
   * key on that address; without it, every client behind a proxy shares the proxy's.
   * @default undefined (the peer's own address)
   */
  readonly trustProxy?: string | number;
  /** Redis connection URL (`REDIS_URL`), or `undefined` when not set. */
  readonly redisUrl: string | undefined;
  /**
   * Prefix of the Redis pub/sub channels (`REDIS_PREFIX`), so that several deployments can share
   * one Redis; every node of one deployment must use the same. @default 'collab'
   */
  readonly redisPrefix?: string;
  /** Absolute directory for local server data (`DATA_DIR`, resolved against the working directory). @default './.collab-data' */
  readonly dataDir: string;
  /**
   * Secret for signing session tokens (`JWT_SECRET`, at least 32 characters), or `undefined`: then
   * one is generated once and kept in `<dataDir>/jwt-secret`. Set it when several nodes share users.
   */
  readonly jwtSecret: string | undefined;
  /** Lifetime of a session token in seconds (`JWT_TTL_SECONDS`, 60 to 2,592,000). @default 43200 (12 h) */
  readonly jwtTtlSeconds: number;
}

/** Either the configuration, or every problem found (all variables are checked, not just the first). */
export type ConfigResult =
  | { readonly ok: true; readonly config: ServerConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 3000;
export const DEFAULT_DATA_DIR = '.collab-data';
/** Default lifetime of a session token: 12 hours, in seconds. */
export const DEFAULT_JWT_TTL_SECONDS = 12 * 60 * 60;
/** Shortest accepted `JWT_SECRET`, in characters. */
export const MIN_JWT_SECRET_LENGTH = 32;
const MIN_JWT_TTL_SECONDS = 60;
const MAX_JWT_TTL_SECONDS = 30 * 24 * 60 * 60;

/** One entry of TRUST_PROXY's list: a name Express knows, an IPv4 or IPv6 address, or a CIDR range. */
const TRUSTED_PROXY_PART = /^(loopback|linklocal|uniquelocal|\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(\/\d{1,3})?)$/;

export interface LoadConfigOptions {
  /** Directory a relative `DATA_DIR` is resolved against. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * Reads the configuration from `env`. A variable that is unset, empty or only whitespace counts as
 * unset; values are trimmed. Error messages never repeat URL values, which may hold passwords.
 */
export function loadConfig(env: Env, options: LoadConfigOptions = {}): ConfigResult {
  const errors: string[] = [];

  const host = read(env, 'HOST') ?? DEFAULT_HOST;
  if (/\s/.test(host)) errors.push('HOST must not contain whitespace');

  const port = readInteger(env, 'PORT', { min: 0, max: 65535, digits: 5 }, errors) ?? DEFAULT_PORT;

  const databaseUrl = read(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !hasProtocol(databaseUrl, ['postgres:', 'postgresql:'])) {
    errors.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }

  const redisUrl = read(env, 'REDIS_URL');
  if (redisUrl !== undefined && !hasProtocol(redisUrl, ['redis:', 'rediss:'])) {
    errors.push('REDIS_URL must be a redis:// or rediss:// URL');
  }

  const databasePoolMax = readInteger(env, 'DATABASE_POOL_MAX', { min: 1, max: 1000, digits: 4 }, errors);
  const commitConcurrency = readInteger(env, 'COMMIT_CONCURRENCY', { min: 1, max: 64, digits: 3 }, errors);
  const commitOverlapMs = readInteger(env, 'COMMIT_OVERLAP_MS', { min: 0, max: 1000, digits: 4 }, errors);
  const commitPredictions = readSwitch(env, 'COMMIT_PREDICTIONS', errors);
  const commitRouting = readSwitch(env, 'COMMIT_ROUTING', errors);
  const registrationsPerHour = readInteger(env, 'REGISTRATIONS_PER_HOUR', { min: 1, max: 1_000_000, digits: 7 }, errors);

  const trustProxyRaw = read(env, 'TRUST_PROXY');
  let trustProxy: string | number | undefined;
  if (trustProxyRaw !== undefined) {
    if (/^\d{1,2}$/.test(trustProxyRaw)) trustProxy = Number(trustProxyRaw);
    else if (trustProxyRaw.split(',').every((part) => TRUSTED_PROXY_PART.test(part.trim()))) trustProxy = trustProxyRaw;
    else errors.push('TRUST_PROXY must be a hop count (0 to 99) or a comma-separated list of addresses, CIDR ranges, loopback, linklocal or uniquelocal');
  }

  const redisPrefix = read(env, 'REDIS_PREFIX');
  if (redisPrefix !== undefined && !/^[A-Za-z0-9:_.-]{1,64}$/.test(redisPrefix)) {
    errors.push('REDIS_PREFIX must be 1 to 64 letters, digits or :_.-');
  }

  const cwd = options.cwd ?? process.cwd();
  const dataDir = path.resolve(cwd, read(env, 'DATA_DIR') ?? DEFAULT_DATA_DIR);

  // The secret itself is never repeated in a message.
  const jwtSecret = read(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    errors.push(`JWT_SECRET must be at least ${MIN_JWT_SECRET_LENGTH} characters long (it has ${jwtSecret.length})`);
  }

  const jwtTtlSeconds = readInteger(env, 'JWT_TTL_SECONDS', { min: MIN_JWT_TTL_SECONDS, max: MAX_JWT_TTL_SECONDS, digits: 8 }, errors) ?? DEFAULT_JWT_TTL_SECONDS;

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      host,
      port,
      databaseUrl,
      ...(databasePoolMax !== undefined ? { databasePoolMax } : {}),
      ...(commitConcurrency !== undefined ? { commitConcurrency } : {}),
      ...(commitOverlapMs !== undefined ? { commitOverlapMs } : {}),
      ...(commitPredictions !== undefined ? { commitPredictions } : {}),
      ...(commitRouting !== undefined ? { commitRouting } : {}),
      ...(registrationsPerHour !== undefined ? { registrationsPerHour } : {}),
      ...(trustProxy !== undefined ? { trustProxy } : {}),
      redisUrl,
      ...(redisPrefix !== undefined ? { redisPrefix } : {}),
      dataDir,
      jwtSecret,
      jwtTtlSeconds,
    },
  };
}

/** `url` with any password replaced by `***`, for logs; returns `url` unchanged if it does not parse. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.password === '') return url;
  parsed.password = '***';
  return parsed.toString();
}

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The integer in variable `name`: undefined when unset; when it is not 1 to `digits` decimal digits
 * within [min, max], undefined too and one message in `errors`.
 */
function readInteger(env: Env, name: string, range: { min: number; max: number; digits: number }, errors: string[]): number | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const value = new RegExp(`^\\d{1,${range.digits}}$`).test(raw) ? Number(raw) : NaN;
  if (value >= range.min && value <= range.max) return value;
  errors.push(`${name} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
  return undefined;
}

/** The switch in variable `name` (`on` or `off`): undefined when unset; anything else is one message in `errors`. */
function readSwitch(env: Env, name: string, errors: string[]): boolean | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  if (raw === 'on' || raw === 'off') return raw === 'on';
  errors.push(`${name} must be on or off, got ${JSON.stringify(raw)}`);
  return undefined;
}

function hasProtocol(url: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
