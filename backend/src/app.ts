/**
 * The composition root: opens the database, wires storage → domain → transport, and serves HTTP
 * (REST API, health, metrics) and Socket.IO on one port. `main.ts` runs it for `npm start`; the
 * tests start it on a random port with an in-memory database.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import express from 'express';
import { DEFAULT_LIMITS, ErrorCode, type Limits } from '@collab/protocol';
import type { ServerConfig } from './config';
import { AccountService, DEFAULT_REGISTRATION_LIMIT, registrationLimitPerHour, type LoginLimits } from './domain/accounts';
import type { BucketSpec } from './domain/rate-limit';
import { DomainEvents } from './domain/domain-events';
import { FileService } from './domain/files';
import { DEFAULT_FILE_SESSION_OPTIONS, FileSessions, type FileSessionOptions } from './domain/file-sessions';
import { PasswordHasher, type ScryptCost } from './domain/passwords';
import { RoomService } from './domain/rooms';
import { resolveJwtSecret, TokenService } from './domain/tokens';
import { createLogger, type Logger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { isStorageUnavailable, openDatabase, type Database, type DatabaseTarget } from './storage/database';
import { FilesRepo } from './storage/files-repo';
import { OpsRepo } from './storage/ops-repo';
import { RoomsRepo } from './storage/rooms-repo';
import { UsersRepo } from './storage/users-repo';
import { createHttpApi } from './transport/http-api';
import type { AuthPort, FilesPort, RoomsPort } from './transport/ports';
import { createRedisFanout, type RedisFanout } from './transport/redis-fanout';
import { nodeLinkKey, type CommitRoutingOptions } from './transport/commit-routing';
import type { FileInterestOptions } from './transport/file-interest';
import { attachSocketServer, type SocketServer, type TransportFaults } from './transport/socket-server';

/** Test-only faults (see `faults.ts` for how a server process enables them). */
export interface AppFaults extends TransportFaults {
  /** Delay each Redis publish of this node by a random 0..N ms. */
  readonly publishDelayMs?: number;
}

/** How to start the server. Everything but `config` has a production default. */
export interface AppOptions {
  readonly config: ServerConfig;
  /**
   * Overrides where the data lives: a target to open (tests: `{ kind: 'memory' }`), or an already
   * open database, which the app then uses but does not close. @default from config
   */
  readonly database?: DatabaseTarget | Database;
  readonly limits?: Partial<Limits>;
  readonly sessions?: Partial<FileSessionOptions>;
  /** Timing of the file leases and forwards across nodes (tests shorten them). */
  readonly routing?: Partial<CommitRoutingOptions>;
  /** Timing of the nodes' announcements of their files' readers (tests shorten them). */
  readonly fileInterest?: Partial<FileInterestOptions>;
  /** scrypt cost (tests pass a cheap one). */
  readonly passwordCost?: ScryptCost;
  readonly loginLimits?: LoginLimits;
  /** Sign-ups per client (tests that sign up many users from one address raise it). @default from config */
  readonly registrationLimit?: BucketSpec;
  readonly logger?: Logger;
  readonly clock?: () => number;
  /** Test-only fault injection; never set in production. */
  readonly faults?: AppFaults;
}

/** A running server. */
export interface App {
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly metrics: Metrics;
  readonly sessions: FileSessions;
  readonly socket: SocketServer;
  readonly logger: Logger;
  /** The Redis fan-out, when `REDIS_URL` is set. */
  readonly fanout: RedisFanout | undefined;
  /** Graceful shutdown: stop accepting, finish in-flight commits, close sockets and the database. */
  close(): Promise<void>;
}

/** Where the database lives for a configuration: PostgreSQL when DATABASE_URL is set, else embedded. */
export function databaseTargetFor(config: ServerConfig): DatabaseTarget {
  if (config.databaseUrl) {
    return { kind: 'postgres', url: config.databaseUrl, ...(config.databasePoolMax ? { poolMax: config.databasePoolMax } : {}) };
  }
  return { kind: 'embedded', directory: path.join(config.dataDir, 'pgdata') };
}

/**
 * Group-commit transactions kept open at once when `COMMIT_CONCURRENCY` is not set: 4 on
 * PostgreSQL, whose commits mostly wait (for the node's second round trip, for the WAL flush), so
 * that new batches need not queue behind two waiting groups; 1 on the embedded database, which has
 * one connection: a second open group would only split what would be one group into two queued
 * for it (docs/benchmarks.md, fifth session).
 */
export function defaultCommitConcurrency(kind: Database['kind']): number {
  return kind === 'postgres' ? DEFAULT_FILE_SESSION_OPTIONS.commitConcurrency : 1;
}

/** Starts the server and resolves once it listens. */
export async function startApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger = options.logger ?? createLogger();
  const metrics = new Metrics({ processMetrics: true });
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const given = options.database && 'knex' in options.database ? options.database : undefined;
  const target: DatabaseTarget = given ? { kind: 'memory' } : ((options.database as DatabaseTarget | undefined) ?? databaseTargetFor(config));
  const database = given ?? (await openDatabase(target));
  const db = database.knex;
  // Several nodes share rooms through Redis; without it this node is alone.
  const fanout: RedisFanout | undefined = config.redisUrl
    ? createRedisFanout(config.redisUrl, logger, {
        ...(config.redisPrefix ? { prefix: config.redisPrefix } : {}),
        ...(options.faults ? { faults: options.faults } : {}),
        hooks: { onPublishError: () => metrics.fanoutPublishErrors.inc() },
      })
    : undefined;

  const events = new DomainEvents((err) => {
    metrics.backgroundErrors.inc();
    logger.error({ err }, 'domain event listener failed');
  });
  const users = new UsersRepo(db);
  const roomsRepo = new RoomsRepo(db);
  const filesRepo = new FilesRepo(db);
  const opsRepo = new OpsRepo(db, {
    ...(config.commitPredictions !== undefined ? { predictCommits: config.commitPredictions } : {}),
    onGroupRoundTrips: (roundTrips) => metrics.commitGroupRoundTrips.inc({ round_trips: String(roundTrips) }),
  });
  // Without JWT_SECRET the key is kept in the data directory (an in-memory database keeps none).
  const secret = resolveJwtSecret(config.jwtSecret, target.kind === 'memory' ? undefined : config.dataDir);
  const tokens = new TokenService({ secret, ttlSeconds: config.jwtTtlSeconds, ...(options.clock ? { now: options.clock } : {}) });
  const passwords = new PasswordHasher(options.passwordCost);
  const accounts = new AccountService({
    users,
    passwords,
    tokens,
    ...(options.loginLimits ? { loginLimits: options.loginLimits } : {}),
    registrationLimit: options.registrationLimit ?? (config.registrationsPerHour ? registrationLimitPerHour(config.registrationsPerHour) : DEFAULT_REGISTRATION_LIMIT),
    ...(options.clock ? { now: options.clock } : {}),
  });
  const sessionOptions: Partial<FileSessionOptions> = {
    limits,
    commitConcurrency: config.commitConcurrency ?? defaultCommitConcurrency(database.kind),
    ...(config.commitOverlapMs !== undefined ? { commitOverlapAfterMs: config.commitOverlapMs } : {}),
    ...options.sessions,
  };
  const sessions = new FileSessions(opsRepo, sessionOptions, {
    onCommit: (ms) => metrics.commitSeconds.observe(ms / 1000),
    onConflict: () => metrics.commitConflicts.inc(),
    onMispredict: () => metrics.commitMispredictions.inc(),
    onBatch: (size) => metrics.commitBatchSize.observe(size),
    onGroup: (files, submissions) => {
      metrics.commitGroupFiles.observe(files);
      metrics.commitGroupSubmissions.observe(submissions);
    },
    onBackgroundError: (err) => {
      metrics.backgroundErrors.inc();
      logger.error({ err }, 'file session background task failed');
    },
  });
  const rooms = new RoomService({ rooms: roomsRepo, users, events, limits });
  // FileInfo.version is the live head: the session's when the file is open here, else the log's.
  const files = new FileService({
    rooms: roomsRepo,
    files: filesRepo,
    events,
    limits,
    headVersion: (fileId) => sessions.cachedHead(fileId) ?? opsRepo.headVersion(fileId),
  });

  const app = express();
  app.disable('x-powered-by');
  // The client's address (`req.ip`, which the login and sign-up limits key on) comes from
  // X-Forwarded-For only when it was set by a proxy the operator said to trust.
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    // Redis down is degraded, not unready: edits still commit and clients repair by version.
    const redis = fanout?.ready() ? 'up' : 'down';
    db.raw('select 1')
      .then(() => res.json({ status: 'ready', database: database.kind, ...(fanout ? { redis } : {}) }))
      .catch(() => res.status(503).json({ status: 'unavailable', reason: 'database unreachable', ...(fanout ? { redis } : {}) }));
  });
  app.get('/metrics', (_req, res) => {
    metrics.sockets.set(socket.io.of('/').sockets.size);
    metrics.openFiles.set(sessions.size);
    metrics
      .render()
      .then((text) => res.type(metrics.contentType).send(text))
      .catch((err: unknown) => {
        logger.error({ err }, 'metrics failed');
        res.status(500).end();
      });
  });
  app.use('/api', createHttpApi({ accounts, rooms, files, tokens, logger }));

  const server = http.createServer(app);
  const auth: AuthPort = {
    async authenticate(token) {
      const verified = tokens.verifyToken(token);
      if (!verified.ok) return verified;
      // A validly signed token of an account that no longer exists is refused too.
      if (!(await users.findById(verified.value.userId))) {
        return { ok: false, error: { code: ErrorCode.UNAUTHENTICATED, message: 'unknown user' } };
      }
      return verified;
    },
  };
  const roomsPort: RoomsPort = {
    join: (roomId, user) => rooms.join(roomId, user),
    requestJoin: (roomId, user, role) => rooms.requestJoin(roomId, user, role),
    answerJoin: async (roomId, requestId, decision, user) => unit(await rooms.answerJoin(roomId, requestId, decision, user)),
    deleteRoom: (roomId, user) => rooms.deleteRoom(roomId, user),
    setRole: async (roomId, target, role, user) => unit(await rooms.setRole(roomId, user, target, role)),
    removeParticipant: (roomId, target, user) => rooms.removeParticipant(roomId, user, target),
    roleOf: (roomId, userId) => rooms.roleOf(roomId, userId),
    withdrawJoinRequest: async (roomId, userId) => {
      await rooms.withdrawJoinRequest(roomId, userId);
    },
  };
  const filesPort: FilesPort = {
    list: (roomId, user) => files.list(roomId, user),
    get: (roomId, fileId, user) => files.get(roomId, user, fileId),
    create: (roomId, input, user) => files.create(roomId, user, input),
    rename: (roomId, fileId, newPath, user) => files.rename(roomId, user, fileId, newPath),
    delete: (roomId, fileId, user) => files.delete(roomId, user, fileId),
  };
  const socket = attachSocketServer(server, {
    auth,
    rooms: roomsPort,
    files: filesPort,
    sessions,
    bindClientId: (clientId, userId) => opsRepo.bindClientId(clientId, userId),
    events,
    metrics,
    logger,
    limits,
    ...(fanout ? { adapter: fanout.adapter, relay: fanout } : {}),
    ...(fanout && config.commitRouting !== false ? { leases: fanout, nodeLinkKey: nodeLinkKey(secret) } : {}),
    ...(options.routing ? { routing: options.routing } : {}),
    ...(options.fileInterest ? { fileInterest: options.fileInterest } : {}),
    isUnavailable: isStorageUnavailable,
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    port,
    database,
    metrics,
    sessions,
    socket,
    logger,
    fanout,
    close() {
      closed ??= (async () => {
        // Stop accepting connections; established ones finish below.
        server.close();
        await socket.close();
        server.closeAllConnections();
        await fanout?.close();
        if (!given) await database.close();
      })();
      return closed;
    },
  };
}

function unit<T>(r: { ok: true; value: T } | { ok: false; error: import('@collab/protocol').ErrorBody }): import('@collab/protocol').Result<void> {
  return r.ok ? { ok: true, value: undefined } : r;
}
