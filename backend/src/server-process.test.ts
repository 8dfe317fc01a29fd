/**
 * The real server process (`node dist/main.js`), killed and restarted: every acknowledged op must
 * survive `kill -9`, and SIGTERM while ops are in flight must exit 0 with every acknowledged op
 * stored. On the embedded database (a data directory) and on PostgreSQL (DATABASE_URL).
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollabClient, type FileDoc } from '@collab/client';
import { forEachDatabase } from './test-support/databases';
import { assertOk, testTimeout, waitUntil } from './test-support/sockets';

const MAIN = path.join(__dirname, 'main.js');
const SECRET = 'process-test-secret-0123456789-abcdefgh';
const PASSWORD = 'a sturdy passphrase 42';

/** A running server process. */
interface ServerProcess {
  readonly proc: ChildProcess;
  readonly url: string;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startProcess(env: Record<string, string>): Promise<ServerProcess> {
  // LOG_LEVEL in `env` overrides the quiet default.
  const proc = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: SECRET, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the server did not start within 30 s:\n${out}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Collab server listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, output: () => out, exited });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

async function api(url: string, method: string, route: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api${route}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** The acknowledged submissions of a doc so far: `clientId#seq` → version. */
function acked(doc: FileDoc): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of doc.effects) if (e.type === 'acked') m.set(`${doc.clientId}#${e.seq}`, e.version);
  return m;
}

/** The file as the (restarted) server has it: head text, version and every logged (clientId#seq → version). */
async function readBack(url: string, token: string, roomId: string, fileId: string): Promise<{ text: string; version: number; log: Map<string, number> }> {
  const c = await CollabClient.connect(url, token, { reconnection: false });
  try {
    await c.joinRoom(roomId);
    const doc = await c.openFile(roomId, fileId);
    const log = new Map<string, number>();
    for (let from = 1; from <= doc.state.version; ) {
      const r = assertOk((await c.request('ops:fetch', { roomId, fileId, from, to: Math.min(doc.state.version, from + 999) })) as never);
      const ops = r['ops'] as { clientId: string; seq: number; version: number }[];
      assert.ok(ops.length > 0, `ops from ${from} are missing`);
      for (const op of ops) {
        assert.ok(!log.has(`${op.clientId}#${op.seq}`), 'an op is logged twice');
        log.set(`${op.clientId}#${op.seq}`, op.version);
      }
      from = ops.at(-1)!.version + 1;
    }
    return { text: doc.text, version: doc.state.version, log };
  } finally {
    c.close();
  }
}

forEachDatabase('the server process, killed and restarted', (ctx) => {
  let dataDir: string;
  const running: ServerProcess[] = [];
  const clients: CollabClient[] = [];
  testTimeout(60_000);

  // One data directory for the suite (the tests use their own users and rooms): creating an
  // embedded database takes a few seconds, reopening one much less.
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-proc-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const p of running.splice(0)) {
      if (p.proc.exitCode === null && p.proc.signalCode === null) {
        p.proc.kill('SIGKILL');
        await p.exited;
      }
    }
  });
  after(() => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function env(): Record<string, string> {
    const url = ctx.current().url;
    return { DATA_DIR: dataDir, ...(url ? { DATABASE_URL: url } : {}) };
  }
  async function start(extra: Record<string, string> = {}): Promise<ServerProcess> {
    const p = await startProcess({ ...env(), ...extra });
    running.push(p);
    return p;
  }
  async function setUp(url: string): Promise<{ token: string; roomId: string; fileId: string; username: string }> {
    const username = `proc_${randomBytes(4).toString('hex')}`;
    const reg = await api(url, 'POST', '/auth/register', { username, password: PASSWORD });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const token = reg.body.token as string;
    const room = await api(url, 'POST', '/rooms', { isPrivate: true }, token);
    const roomId = room.body.room.roomId as string;
    const file = await api(url, 'POST', `/rooms/${roomId}/files`, { path: 'durable.txt', language: 'plaintext', content: 'start\n' }, token);
    return { token, roomId, fileId: file.body.file.id as string, username };
  }
  async function connect(url: string, token: string): Promise<CollabClient> {
    const c = await CollabClient.connect(url, token, { reconnection: false });
    clients.push(c);
    return c;
  }

  it('every acknowledged op survives kill -9 and a restart on the same data', async () => {
    const t0 = Date.now();
    const first = await start();
    const startMs = Date.now() - t0;
    const { token, roomId, fileId } = await setUp(first.url);
    const c = await connect(first.url, token);
    await c.joinRoom(roomId);
    const doc = await c.openFile(roomId, fileId);
    const N = 30;
    for (let i = 0; i < N; i++) {
      doc.type(doc.text.length, `op${i};`);
      await doc.synced();
    }
    // A few more, not awaited: some may be in flight when the process dies.
    for (let i = 0; i < 5; i++) doc.type(0, `x${i}`);
    const ackedBeforeKill = acked(doc);
    const textAcked = doc.state.serverText;
    const versionAcked = doc.state.version;
    assert.ok(ackedBeforeKill.size >= N);
    first.proc.kill('SIGKILL');
    const died = await first.exited;
    assert.equal(died.signal, 'SIGKILL');
    c.close();

    const second = await start();
    const back = await readBack(second.url, token, roomId, fileId);
    console.log(`      start ${startMs} ms; ${ackedBeforeKill.size} acked before kill -9, ${back.log.size} ops after restart (v${back.version})`);
    for (const [id, version] of ackedBeforeKill) assert.equal(back.log.get(id), version, `acknowledged ${id} (v${version}) is stored`);
    assert.ok(back.version >= versionAcked);
    if (back.version === versionAcked) assert.equal(back.text, textAcked);
    for (let i = 0; i < N; i++) assert.ok(back.text.includes(`op${i};`), `op${i}`);
    // The restarted server goes on committing where it left off.
    const c2 = await connect(second.url, token);
    await c2.joinRoom(roomId);
    const d2 = await c2.openFile(roomId, fileId);
    d2.type(d2.text.length, 'after restart');
    await d2.synced();
    assert.equal(d2.state.version, back.version + 1);
  });

  it('SIGTERM with ops in flight exits 0 and keeps every acknowledged op', async () => {
    const p = await start({ LOG_LEVEL: 'info' });
    const { token, roomId, fileId, username } = await setUp(p.url);
    const login = await api(p.url, 'POST', '/auth/login', { username, password: 'not the password' });
    assert.equal(login.status, 401);
    const docs: FileDoc[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await connect(p.url, token);
      await c.joinRoom(roomId);
      docs.push(await c.openFile(roomId, fileId));
    }
    // Type continuously from three connections, then SIGTERM in the middle of it.
    let typing = true;
    const loops = docs.map(async (d, k) => {
      for (let i = 0; typing; i++) {
        d.type(d.text.length, `${k}.${i};`);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    await waitUntil(() => docs.every((d) => acked(d).size >= 10), 20_000, 'some acks on every connection');
    p.proc.kill('SIGTERM');
    const exit = await p.exited;
    typing = false;
    await Promise.all(loops);
    assert.deepEqual(exit, { code: 0, signal: null }, p.output());
    assert.ok(docs.some((d) => d.state.inflight !== null || d.state.buffer !== null), 'typing was still going on at the exit');
    const ackedAll = new Map<string, number>();
    for (const d of docs) for (const [id, v] of acked(d)) ackedAll.set(id, v);
    for (const c of clients.splice(0)) c.close();

    const again = await start();
    const back = await readBack(again.url, token, roomId, fileId);
    console.log(`      ${ackedAll.size} acked before SIGTERM, ${back.log.size} ops stored (v${back.version})`);
    for (const [id, version] of ackedAll) assert.equal(back.log.get(id), version, `acknowledged ${id} (v${version}) is stored`);
    assert.ok(back.version >= Math.max(...ackedAll.values()));
    assert.match(p.output(), /shutting down/);
    // Nothing it printed (log level info) carries a token, the password or the secret.
    for (const secret of [token, token.split('.')[2]!, PASSWORD, SECRET]) assert.ok(!p.output().includes(secret), 'a secret in the output');
  });
});
