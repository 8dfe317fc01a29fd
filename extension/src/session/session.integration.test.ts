/**
 * The extension's pure session stack (RestClient, CollabSession, SharedFile, EditorSync, the
 * document binding) against the real backend process, with simulated VS Code documents: a host and
 * a guest in a private room, a join request, concurrent typing with CRLF on one side, a role change
 * with a refused edit rolled back, a dropped connection with offline typing, cursors, and the room's
 * deletion. Skips when the backend is not built.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CollabConnection } from '@collab/client';
import { isSynchronized } from '@collab/protocol';
import { RestClient } from '../auth/rest-client';
import { FakeDocument, type Eol } from '../binding/test-support/fake-document';
import type { EditorPort } from '../sync/editor-sync';
import type { SharedFile } from '../sync/shared-file';
import { recordingLogger } from '../util/log';
import { CollabSession, type EndReason } from './collab-session';
import { askToJoin } from './join-request';

const MAIN = path.resolve(__dirname, '..', '..', '..', 'backend', 'dist', 'main.js');

async function startBackend(): Promise<{ url: string; proc: ChildProcess; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'collab-ext-it-'));
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(40), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`backend exited (${code}):\n${out}`)));
  });
  return { url, proc, dataDir };
}

/** A port whose applyEdits complete on their own shortly after (as VS Code's would). */
function autoPort(doc: FakeDocument): EditorPort {
  return {
    getText: () => doc.getText(),
    get eol() {
      return doc.eol;
    },
    applyEdit: (edits) => {
      const result = doc.applyEdit(edits, doc.version);
      setTimeout(() => doc.completeApplyEdit({ reshape: 'minimal' }), 1);
      return result;
    },
  };
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function attach(file: SharedFile, text: string, eol: Eol, name: string, mode: 'room' | 'editor'): FakeDocument {
  const doc = new FakeDocument(text, eol);
  const sync = file.attach(autoPort(doc), name, mode);
  doc.onDidChange((e) => sync.onDidChange(e));
  return doc;
}

describe('session stack against the real backend', function () {
  this.timeout(60_000);
  let backend: { url: string; proc: ChildProcess; dataDir: string } | undefined;
  const connections: CollabConnection[] = [];

  before(async function () {
    if (!existsSync(MAIN)) {
      console.log(`    skipped: ${MAIN} is not built`);
      this.skip();
    }
    backend = await startBackend();
  });

  after(() => {
    for (const c of connections) c.close();
    backend?.proc.kill('SIGKILL');
    if (backend) rmSync(backend.dataDir, { recursive: true, force: true });
  });

  it('host shares, guest asks to join, both type, roles, reconnection, cursors, deletion', async () => {
    const url = (backend as { url: string }).url;
    const rest = new RestClient(url);
    const alice = await rest.register('alice', 'correct horse battery staple');
    const bob = await rest.register('bob', 'correct horse battery staple');
    assert.ok(alice.ok && bob.ok);
    const room = await rest.createRoom(alice.value.token);
    assert.ok(room.ok && room.value.isPrivate);
    const roomId = room.value.roomId;

    // Host: join, create the file from the editor's text, attach (the editor wins).
    const hostConn = await CollabConnection.connect({ url, token: () => alice.value.token, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    connections.push(hostConn);
    const hostLog = recordingLogger();
    const hostJoin = await CollabSession.join(hostConn, roomId, hostLog, { checkIntervalMs: 0 });
    assert.ok(hostJoin.ok);
    const host = hostJoin.value;
    assert.equal(host.role, 'owner');
    const created = await host.createFile('src/a.txt', 'plaintext', 'hello\nworld\n');
    assert.ok(created.ok);
    const hostFileOpen = await host.openFile(created.value.id);
    assert.ok(hostFileOpen.ok);
    const hostDoc = attach(hostFileOpen.value, 'hello\nworld\n', '\n', 'host a.txt', 'editor');

    // Guest: not a participant of the private room; asks; the owner admits as editor.
    const guestConn = await CollabConnection.connect({ url, token: () => bob.value.token, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    connections.push(guestConn);
    const refused = await CollabSession.join(guestConn, roomId, recordingLogger());
    assert.ok(!refused.ok && refused.error.code === 'NOT_A_PARTICIPANT');
    host.onJoinRequest((request) => {
      assert.equal(request.user.username, 'bob');
      void host.answerJoin(request.requestId, 'editor');
    });
    const decision = await askToJoin(guestConn, roomId, 'editor');
    assert.deepEqual(decision, { ok: true, value: 'editor' });
    const guestLog = recordingLogger();
    const guestJoin = await CollabSession.join(guestConn, roomId, guestLog, { checkIntervalMs: 0 });
    assert.ok(guestJoin.ok);
    const guest = guestJoin.value;
    assert.equal(guest.role, 'editor');
    await until('host sees the guest', () => host.state.participantCount === 2);
    const fileInfo = guest.state.fileByPath('src/a.txt');
    assert.ok(fileInfo);
    const guestFileOpen = await guest.openFile(fileInfo.id);
    assert.ok(guestFileOpen.ok);
    const guestDoc = attach(guestFileOpen.value, guestFileOpen.value.text, '\r\n', 'guest a.txt', 'room');
    assert.equal(guestDoc.getText(), 'hello\r\nworld\r\n');

    // Concurrent typing.
    hostDoc.type(5, ', there');
    guestDoc.type(11, '!');
    guestDoc.type(0, '> ');
    await until('converged', () => hostDoc.canonicalText() === guestDoc.canonicalText() && isSynchronized(guestFileOpen.value.binding.state) && isSynchronized(hostFileOpen.value.binding.state));
    assert.equal(hostDoc.canonicalText(), '> hello, there\nworld!\n');

    // Cursors reach the other side, with the version they refer to.
    guest.sendCursor(fileInfo.id, guestFileOpen.value.binding.state.version, [{ anchor: 2, head: 7 }]);
    await until('cursor arrives', () => host.cursors(fileInfo.id).length === 1);
    assert.deepEqual(host.cursors(fileInfo.id)[0]?.selections, [{ anchor: 2, head: 7 }]);

    // Demoted to viewer: a forged edit is refused (FORBIDDEN) and rolled back.
    const roles: string[] = [];
    guest.onDidChangeRole((r) => roles.push(r));
    assert.ok((await host.setRole(guest.state.you.userId, 'viewer')).ok);
    await until('guest learns its role', () => guest.role === 'viewer');
    const before = guestDoc.canonicalText();
    guestDoc.type(0, 'forged ');
    await until('rolled back', () => guestDoc.canonicalText() === before && isSynchronized(guestFileOpen.value.binding.state));
    assert.deepEqual(roles, ['viewer']);
    assert.ok(guestLog.lines.some((l) => /rolled back: FORBIDDEN/.test(l)), guestLog.lines.join('\n'));
    assert.equal(hostDoc.canonicalText(), before);
    assert.ok((await host.setRole(guest.state.you.userId, 'editor')).ok);
    await until('guest is editor again', () => guest.role === 'editor');

    // The guest's connection drops; it types offline; after the reconnection the edit syncs.
    const resumed = new Promise<void>((resolve) => guest.onDidResume(() => resolve()));
    guestConn.socket.io.engine.close();
    await until('guest offline', () => !guestFileOpen.value.binding.state.online);
    guestDoc.type(0, 'offline ');
    hostDoc.type(hostDoc.canonicalText().length, 'tail');
    await resumed;
    await until('converged after reconnection', () => hostDoc.canonicalText() === guestDoc.canonicalText() && isSynchronized(guestFileOpen.value.binding.state) && isSynchronized(hostFileOpen.value.binding.state));
    assert.match(hostDoc.canonicalText(), /^offline > hello/);
    assert.match(hostDoc.canonicalText(), /tail$/);

    // Verification finds nothing to repair.
    await guest.checkFiles(true);
    await host.checkFiles(true);
    for (const log of [hostLog, guestLog]) assert.ok(!log.lines.some((l) => /drifted|differed/.test(l)), log.lines.join('\n'));

    // File events reach the other side; the owner deletes the room and the guest's session ends.
    const guestFiles: string[] = [];
    guest.onDidChangeFiles((changes) => guestFiles.push(...changes.map((c) => `${c.kind}:${c.file.path}`)));
    assert.ok((await host.createFile('b.md', 'markdown', '# b\n')).ok);
    await until('guest sees b.md', () => guestFiles.includes('created:b.md'));
    const ended = new Promise<EndReason>((resolve) => guest.onDidEnd(resolve));
    assert.ok((await host.deleteRoom()).ok);
    assert.deepEqual(await ended, { kind: 'deleted' });
    assert.ok(guest.isEnded && host.isEnded);
  });

  it('keeps offline edits through a refused reconnection (UNAUTHENTICATED) and syncs them after a fresh token', async () => {
    const url = (backend as { url: string }).url;
    const rest = new RestClient(url);
    const carol = await rest.register('carol', 'correct horse battery staple');
    assert.ok(carol.ok);
    const room = await rest.createRoom(carol.value.token);
    assert.ok(room.ok);
    const roomId = room.value.roomId;
    const box = { token: carol.value.token };
    const conn = await CollabConnection.connect({ url, token: () => box.token, reconnectionDelay: 50, reconnectionDelayMax: 200 });
    connections.push(conn);
    const joined = await CollabSession.join(conn, roomId, recordingLogger(), { checkIntervalMs: 0 });
    assert.ok(joined.ok);
    const session = joined.value;
    const created = await session.createFile('notes.md', 'markdown', 'one\n');
    assert.ok(created.ok);
    const opened = await session.openFile(created.value.id);
    assert.ok(opened.ok);
    const doc = attach(opened.value, 'one\n', '\n', 'notes.md', 'room');

    // The server will refuse the token on the next handshake, as for an expired sign-in.
    const refusals: string[] = [];
    conn.onStatus((status, error) => {
      if (status === 'offline' && error) refusals.push(error.code);
    });
    box.token = 'not-a-valid-token';
    conn.socket.io.engine.close();
    await until('refused', () => refusals.includes('UNAUTHENTICATED'));
    doc.type(4, 'typed while signed out\n');
    assert.ok(!isSynchronized(opened.value.binding.state), 'the edit waits');

    // Signed in again: reconnect; the session re-joins and the edit is sent.
    const resumed = new Promise<void>((resolve) => session.onDidResume(() => resolve()));
    box.token = carol.value.token;
    conn.reconnectNow();
    await resumed;
    await until('synced', () => isSynchronized(opened.value.binding.state));
    const check = await CollabConnection.connect({ url, token: () => carol.value.token });
    connections.push(check);
    const other = await CollabSession.join(check, roomId, recordingLogger(), { checkIntervalMs: 0 });
    assert.ok(other.ok);
    const reread = await other.value.openFile(created.value.id);
    assert.ok(reread.ok);
    assert.equal(reread.value.binding.modelText, 'one\ntyped while signed out\n');
    assert.equal(doc.canonicalText(), 'one\ntyped while signed out\n');
  });
});
