/**
 * Starts the whole server (HTTP + Socket.IO + file sessions) on a random port for a test, on the
 * suite's database, and offers the few HTTP calls tests need (register, create room, add files).
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Limits } from '@collab/protocol';
import { startApp, type App, type AppFaults } from '../app';
import type { ServerConfig } from '../config';
import type { CommitRoutingOptions } from '../transport/commit-routing';
import type { FileInterestOptions } from '../transport/file-interest';
import type { FileSessionOptions } from '../domain/file-sessions';
import { TEST_SCRYPT_COST } from '../domain/passwords';
import type { BucketSpec } from '../domain/rate-limit';
import { TEST_REGISTRATION_LIMIT } from './service-fixtures';
import { CollabClient } from '@collab/client';
import { createLogger, type Logger } from '../observability/logger';
import { RemoteApi, storedText } from './remote-api';
import type { Database } from '../storage/database';

/** A registered user: id, name and token. */
export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly token: string;
}

/** A server under test plus helpers (the REST calls are `RemoteApi`'s, against this server). */
export class TestServer extends RemoteApi {
  private constructor(
    readonly app: App,
    readonly secret: string,
  ) {
    super(app.url);
  }

  /** Starts a server on `database` (not closed by the server). */
  static async start(
    database: Database,
    options: {
      limits?: Partial<Limits>;
      sessions?: Partial<FileSessionOptions>;
      clock?: () => number;
      secret?: string;
      logger?: Logger;
      /** Join the fan-out at this Redis (multi-node tests), with this channel prefix. */
      redisUrl?: string;
      redisPrefix?: string;
      faults?: AppFaults;
      /** COMMIT_ROUTING (with Redis). @default on */
      commitRouting?: boolean;
      /** Lease and forward timing across nodes. */
      routing?: Partial<CommitRoutingOptions>;
      fileInterest?: Partial<FileInterestOptions>;
      /** Sign-ups per client. @default TEST_REGISTRATION_LIMIT */
      registrationLimit?: BucketSpec;
      /** Express's `trust proxy` (TRUST_PROXY). @default not set */
      trustProxy?: string | number;
    } = {},
  ): Promise<TestServer> {
    const secret = options.secret ?? randomBytes(32).toString('base64url');
    const config: ServerConfig = {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: undefined,
      redisUrl: options.redisUrl,
      ...(options.redisPrefix ? { redisPrefix: options.redisPrefix } : {}),
      dataDir: path.join(os.tmpdir(), `collab-test-${randomBytes(4).toString('hex')}`),
      jwtSecret: secret,
      jwtTtlSeconds: 3600,
      ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
      ...(options.commitRouting !== undefined ? { commitRouting: options.commitRouting } : {}),
    };
    const app = await startApp({
      config,
      database,
      passwordCost: TEST_SCRYPT_COST,
      registrationLimit: options.registrationLimit ?? TEST_REGISTRATION_LIMIT,
      logger: options.logger ?? createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.sessions ? { sessions: options.sessions } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
      ...(options.routing ? { routing: options.routing } : {}),
      ...(options.fileInterest ? { fileInterest: options.fileInterest } : {}),
    });
    return new TestServer(app, secret);
  }

  /** Connects a headless client as `user`. */
  connect(user: TestUser): Promise<CollabClient> {
    return CollabClient.connect(this.url, user.token);
  }

  /** The file's text as stored: the snapshot plus every op after it, replayed from the database. */
  storedText(fileId: string): Promise<{ version: number; text: string }> {
    return storedText(this.app.database.knex, fileId);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
