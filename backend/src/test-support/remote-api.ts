/**
 * The REST calls tests need, against any base URL (a node, or nginx in front of several), and the
 * stored text of a file read straight from the database: for tests of server processes that do
 * not run in this process.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { apply, type TextOp } from '@collab/protocol';
import type { TestUser } from './test-app';

/** REST helpers bound to a base URL. */
export class RemoteApi {
  constructor(readonly url: string) {}

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
    if (r.status >= 300) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.user.id, username, token: r.body.token };
  }

  /** Creates a room (private by default) owned by `owner`; returns its public id. */
  async room(owner: TestUser, isPrivate = true): Promise<string> {
    const r = await this.api('POST', '/rooms', { isPrivate }, owner.token);
    if (r.status >= 300) throw new Error(`create room failed: ${JSON.stringify(r.body)}`);
    return r.body.room?.roomId ?? r.body.roomId;
  }

  /** An owner and `n` editors (registered here) in a fresh private room; `users[0]` is the owner. */
  async roomWithEditors(n: number): Promise<{ roomId: string; users: TestUser[] }> {
    const owner = await this.user('own');
    const roomId = await this.room(owner);
    const users = [owner];
    for (let i = 0; i < n; i++) {
      const u = await this.user('ed');
      await this.invite(owner, roomId, u, 'editor');
      users.push(u);
    }
    return { roomId, users };
  }

  /** Adds `user` to the room with `role`. */
  async invite(owner: TestUser, roomId: string, user: TestUser, role: 'editor' | 'viewer'): Promise<void> {
    const r = await this.api('POST', `/rooms/${roomId}/participants`, { username: user.username, role }, owner.token);
    if (r.status >= 300) throw new Error(`invite failed: ${JSON.stringify(r.body)}`);
  }

  /** Creates a file; returns its id. */
  async file(owner: TestUser, roomId: string, filePath: string, content = ''): Promise<string> {
    const r = await this.api('POST', `/rooms/${roomId}/files`, { path: filePath, language: 'plaintext', content }, owner.token);
    if (r.status >= 300) throw new Error(`create file failed: ${JSON.stringify(r.body)}`);
    return r.body.file?.id ?? r.body.id;
  }

  /** A node's Prometheus counter or gauge value (summed over labels); 0 when absent. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (m && m[1] === name) total += Number(m[3]);
    }
    return total;
  }
}

/** The file's text as stored: the snapshot plus every op after it, replayed from the database. */
export async function storedText(knex: Knex, fileId: string): Promise<{ version: number; text: string }> {
  const file = await knex('files').where({ id: fileId }).first('content', 'version');
  const ops = await knex('file_ops').where('file_id', fileId).andWhere('version', '>', file.version).orderBy('version').select('op', 'version');
  let text: string = file.content;
  let version = Number(file.version);
  for (const row of ops) {
    text = apply((typeof row.op === 'string' ? JSON.parse(row.op) : row.op) as TextOp, text);
    version = Number(row.version);
  }
  return { version, text };
}
