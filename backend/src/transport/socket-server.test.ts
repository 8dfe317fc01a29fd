/**
 * The real-time path through real sockets: headless clients (socket.io-client + the protocol's
 * sync client) against the whole server, on PGlite and on PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode } from '@collab/protocol';
import type { CollabClient, FileDoc } from '@collab/client';
import { forEachDatabase } from '../test-support/databases';
import { TestServer, type TestUser } from '../test-support/test-app';

forEachDatabase('real-time editing', (ctx) => {
  let server: TestServer;
  const clients: CollabClient[] = [];
  let owner: TestUser;

  before(async () => {
    server = await TestServer.start(ctx.current().db);
    owner = await server.user('owner');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await server?.stop();
  });

  async function connect(user: TestUser): Promise<CollabClient> {
    const c = await server.connect(user);
    clients.push(c);
    return c;
  }

  async function roomWithEditors(n: number, content = ''): Promise<{ roomId: string; fileId: string; users: TestUser[] }> {
    const roomId = await server.room(owner);
    const users: TestUser[] = [owner];
    for (let i = 1; i < n; i++) {
      const u = await server.user('ed');
      await server.invite(owner, roomId, u, 'editor');
      users.push(u);
    }
    const fileId = await server.file(owner, roomId, `src/f${Date.now()}.ts`, content);
    return { roomId, fileId, users };
  }

  async function settle(docs: FileDoc[], fileId: string): Promise<string> {
    const stored = await server.storedText(fileId);
    for (const d of docs) await d.synced(10_000, stored.version);
    const final = await server.storedText(fileId);
    for (const d of docs) await d.synced(10_000, final.version);
    return final.text;
  }

  it('two clients typing concurrently into one file end with the database’s text', async () => {
    const { roomId, fileId, users } = await roomWithEditors(2, 'hello\n');
    const [a, b] = await Promise.all(users.map(connect));
    await a!.joinRoom(roomId);
    await b!.joinRoom(roomId);
    const da = await a!.openFile(roomId, fileId);
    const db = await b!.openFile(roomId, fileId);
    for (let i = 0; i < 40; i++) {
      da.type(i % 3 === 0 ? 0 : da.text.length, 'a');
      db.type(Math.min(db.text.length, 3), 'b');
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const text = await settle([da, db], fileId);
    assert.equal(da.text, text);
    assert.equal(db.text, text);
    assert.equal([...text].filter((ch) => ch === 'a').length, 40);
    assert.equal([...text].filter((ch) => ch === 'b').length, 40);
    assert.deepEqual(await da.verify(), { head: (await server.storedText(fileId)).version, match: true });
  });

  it('a viewer’s op is refused with FORBIDDEN, rolled back, and changes nothing', async () => {
    const roomId = await server.room(owner);
    const viewer = await server.user('viewer');
    await server.invite(owner, roomId, viewer, 'viewer');
    const fileId = await server.file(owner, roomId, 'readme.md', 'read me');
    const v = await connect(viewer);
    await v.joinRoom(roomId);
    const doc = await v.openFile(roomId, fileId);
    doc.type(0, 'forged ');
    await doc.synced();
    assert.equal(doc.text, 'read me');
    assert.ok(doc.effects.some((e) => e.type === 'rolledBack' && e.error.code === ErrorCode.FORBIDDEN));
    assert.deepEqual(await server.storedText(fileId), { version: 0, text: 'read me' });
  });
});
