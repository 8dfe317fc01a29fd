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
import type { FileSessionOptions } from '../domain/file-sessions';
import { TEST_SCRYPT_COST } from '../domain/passwords';
import { CollabClient } from '@collab/client';
import { createLogger, type Logger } from '../observability/logger';
import type { Database } from '../storage/database';

/** A registered user: id, name and token. */
export interface TestUser {
  readonly id: string;
  readonly username: string;
  readonly token: string;
}

/** A server under test plus helpers. */
export class TestServer {
  private constructor(
    readonly app: App,
    readonly secret: string,
  ) {}

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
    };
    const app = await startApp({
      config,
      database,
      passwordCost: TEST_SCRYPT_COST,
      logger: options.logger ?? createLogger({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.sessions ? { sessions: options.sessions } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
    });
    return new TestServer(app, secret);
  }

  get url(): string {
    return this.app.url;
  }

  /** Calls the REST API; returns the status and parsed JSON body. */
  async api(method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}/api${route}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Registers a fresh user. */
  async user(prefix = 'u'): Promise<TestUser> {
    const username = `${prefix}_${randomBytes(5).toString('hex')}`;
    const r = await this.api('POST', '/auth/register', { username, password: 'a sturdy passphrase 42' });
    if (r.status !== 200 && r.status !== 201) throw new Error(`register failed: ${JSON.stringify(r.body)}`);
    return { id: r.body.user.id, username, token: r.body.token };
  }

  /** Creates a room owned by `owner`; returns its public id. */
  async room(owner: TestUser, isPrivate = true): Promise<string> {
    const r = await this.api('POST', '/rooms', { isPrivate }, owner.token);
    if (r.status !== 200 && r.status !== 201) throw new Error(`create room failed: ${JSON.stringify(r.body)}`);
    return r.body.room?.roomId ?? r.body.roomId;
  }

  /** Adds `user` to the room with `role` (as the owner). */
  async invite(owner: TestUser, roomId: string, user: TestUser, role: 'editor' | 'viewer'): Promise<void> {
    const r = await this.api('POST', `/rooms/${roomId}/participants`, { username: user.username, role }, owner.token);
    if (r.status >= 300) throw new Error(`invite failed: ${JSON.stringify(r.body)}`);
  }

  /** Creates a file in the room; returns its id. */
  async file(owner: TestUser, roomId: string, filePath: string, content = ''): Promise<string> {
    const r = await this.api('POST', `/rooms/${roomId}/files`, { path: filePath, language: 'plaintext', content }, owner.token);
    if (r.status >= 300) throw new Error(`create file failed: ${JSON.stringify(r.body)}`);
    return r.body.file?.id ?? r.body.id;
  }

  /** Connects a headless client as `user`. */
  connect(user: TestUser): Promise<CollabClient> {
    return CollabClient.connect(this.url, user.token);
  }

  /** The file's text as stored: the snapshot plus every op after it, replayed from the database. */
  async storedText(fileId: string): Promise<{ version: number; text: string }> {
    const { knex } = this.app.database;
    const file = await knex('files').where({ id: fileId }).first('content', 'version');
    const ops = await knex('file_ops').where('file_id', fileId).andWhere('version', '>', file.version).orderBy('version').select('op', 'version');
    const { apply } = await import('@collab/protocol');
    let text: string = file.content;
    let version = Number(file.version);
    for (const row of ops) {
      text = apply(typeof row.op === 'string' ? JSON.parse(row.op) : row.op, text);
      version = Number(row.version);
    }
    return { version, text };
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
