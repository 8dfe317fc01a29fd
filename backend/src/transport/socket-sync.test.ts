/**
 * The commit path through real sockets: many clients on many files converging with the database,
 * simultaneous submissions at one base version, de-duplication of resubmissions, a lost ack across
 * a reconnect, and recovery from compacted history. On PGlite and on PostgreSQL.
 */
import { strict as assert } from 'node:assert';
import { apply, transform, type TextOp } from '@collab/protocol';
import { Random, seedFromEnv } from '@collab/protocol/dist/test-support/random';
import type { CollabClient, FileDoc } from '@collab/client';
import { forEachDatabase } from '../test-support/databases';
import {
  assertGaplessLog,
  assertOk,
  clientId,
  opRows,
  openRaw,
  testTimeout,
  waitUntil,
  type OpenedRaw,
  type Reply,
} from '../test-support/sockets';
import { TestServer, type TestUser } from '../test-support/test-app';

forEachDatabase('real-time sync through sockets', (ctx) => {
  let server: TestServer;
  let owner: TestUser;
  const clients: CollabClient[] = [];
  const raws: OpenedRaw[] = [];
  testTimeout(20_000);

  before(async () => {
    server = await TestServer.start(ctx.current().db);
    owner = await server.user('owner');
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await server?.stop();
  });

  const knex = () => server.app.database.knex;

  async function connect(user: TestUser): Promise<CollabClient> {
    const c = await server.connect(user);
    clients.push(c);
    return c;
  }

  async function raw(user: TestUser, roomId: string, fileId: string, cid?: string): Promise<OpenedRaw> {
    const r = await openRaw(server.url, user.token, roomId, fileId, cid);
    raws.push(r);
    return r;
  }

  async function editors(roomId: string, n: number): Promise<TestUser[]> {
    const users: TestUser[] = [];
    for (let i = 0; i < n; i++) {
      const u = await server.user('ed');
      await server.invite(owner, roomId, u, 'editor');
      users.push(u);
    }
    return users;
  }

  /** Waits until every doc of `fileId` is synchronised at the database's head and the head is stable. */
  async function quiesce(docs: FileDoc[], fileId: string): Promise<{ version: number; text: string }> {
    for (;;) {
      const before = await server.storedText(fileId);
      for (const d of docs) await d.synced(15_000, before.version);
      const after = await server.storedText(fileId);
      if (after.version === before.version) return after;
    }
  }

  it('6 clients typing at random into 3 files, two of them losing their connection, all end with the database’s text (seeded)', async function () {
    this.timeout(40_000);
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    const rnd = new Random(seed);
    const roomId = await server.room(owner);
    const users = [owner, ...(await editors(roomId, 5))];
    const fileIds: string[] = [];
    for (let f = 0; f < 3; f++) fileIds.push(await server.file(owner, roomId, `src/many-${f}.ts`, `file ${f}\n`));
    const cs = await Promise.all(users.map(connect));
    const docs: FileDoc[][] = [];
    for (const c of cs) {
      await c.joinRoom(roomId);
      const mine: FileDoc[] = [];
      for (const fileId of fileIds) mine.push(await c.openFile(roomId, fileId));
      docs.push(mine);
    }

    const letters = 'abcdef';
    // Two transport drops at seeded moments: those clients reconnect, re-open and resend meanwhile.
    const drops = new Map([[rnd.range(5, 20), rnd.int(cs.length)], [rnd.range(21, 35), rnd.int(cs.length)]]);
    for (let round = 0; round < 40; round++) {
      const drop = drops.get(round);
      if (drop !== undefined && cs[drop]!.socket.connected) cs[drop]!.socket.io.engine.close();
      for (let i = 0; i < cs.length; i++) {
        const doc = rnd.pick(docs[i]!);
        const len = doc.text.length;
        if (len > 4 && rnd.chance(0.25)) {
          const at = rnd.int(len - 1);
          doc.type(at, '', Math.min(rnd.range(1, 3), len - at));
        } else {
          doc.type(rnd.int(len + 1), letters[i]!.repeat(rnd.range(1, 3)));
        }
      }
      if (rnd.chance(0.5)) await new Promise((r) => setTimeout(r, rnd.int(4)));
    }

    const committed: number[] = [];
    for (let f = 0; f < fileIds.length; f++) {
      const fileId = fileIds[f]!;
      const fileDocs = docs.map((d) => d[f]!);
      const stored = await quiesce(fileDocs, fileId);
      for (const [i, d] of fileDocs.entries()) {
        assert.equal(d.text, stored.text, `client ${i} file ${f} (seed ${seed})`);
        assert.equal(d.expectedText(), d.text, `client ${i} file ${f}: state machine and text disagree (seed ${seed})`);
        assert.equal(d.state.version, stored.version);
      }
      assert.deepEqual(await fileDocs[0]!.verify(), { head: stored.version, match: true });
      const rows = await assertGaplessLog(knex(), fileId);
      assert.equal(rows, stored.version, 'one row per version');
      committed.push(rows);
      // Every ack a client got is exactly one row, and every row was acknowledged to someone.
      const acked = fileDocs.reduce((n, d) => n + d.effects.filter((e) => e.type === 'acked').length, 0);
      assert.equal(acked, rows, `acks vs rows on file ${f} (seed ${seed})`);
      const dup = await knex()('file_ops')
        .where('file_id', fileId)
        .groupBy('client_id', 'seq')
        .havingRaw('count(*) > 1')
        .select('client_id', 'seq');
      assert.deepEqual(dup, []);
    }
    console.log(`      committed ops per file: ${committed.join(', ')}`);
  });

  it('N simultaneous submissions at one base version commit gaplessly, each rebased over the earlier ones', async () => {
    const roomId = await server.room(owner);
    const users = [owner, ...(await editors(roomId, 3))];
    const initial = 'the quick brown fox\n';
    const fileId = await server.file(owner, roomId, 'race.txt', initial);
    const N = 8;
    const sockets: OpenedRaw[] = [];
    for (let i = 0; i < N; i++) sockets.push(await raw(users[i % users.length]!, roomId, fileId));
    const submitted: TextOp[] = sockets.map((_, i) => {
      const at = (i * 5) % initial.length;
      return [...(at > 0 ? [at] : []), `<${i}>`, initial.length - at].filter((c) => c !== 0) as TextOp;
    });
    const replies = await Promise.all(
      sockets.map((s, i) => s.request('op:submit', { roomId, fileId, clientId: s.clientId, seq: 1, baseVersion: 0, op: submitted[i] })),
    );
    const versions = replies.map((r) => assertOk(r, 'op:submit')['version'] as number);
    replies.forEach((r) => assert.equal((r as Record<string, unknown>)['duplicate'], false));
    assert.deepEqual([...versions].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i + 1));

    await assertGaplessLog(knex(), fileId);
    const rows = await opRows(knex(), fileId);
    assert.equal(rows.length, N);
    // Serial replay: the op committed as version v is the submission rebased over versions 1..v-1.
    const committedSoFar: TextOp[] = [];
    let text = initial;
    for (const row of rows) {
      const i = sockets.findIndex((s) => s.clientId === row.client_id);
      assert.ok(i >= 0, 'a row from an unknown client');
      assert.equal(versions[i], row.version, 'the ack names the row’s version');
      let expected = submitted[i]!;
      for (const c of committedSoFar) expected = transform(expected, c, 'right');
      assert.deepEqual(row.op, expected, `version ${row.version}`);
      committedSoFar.push(row.op as TextOp);
      text = apply(row.op as TextOp, text);
    }
    assert.deepEqual(await server.storedText(fileId), { version: N, text });
    for (let i = 0; i < N; i++) assert.equal(text.split(`<${i}>`).length, 2, `<${i}> exactly once`);
    // The server's live copy (the session's head) agrees with the replay.
    const fresh = await raw(owner, roomId, fileId);
    assert.equal(fresh.opened['text'], text);
    assert.equal(fresh.opened['version'], N);
    // Everyone received every op they did not submit (a batch's frame also carries the submitter's own).
    await waitUntil(() => sockets.every((s) => s.events('op').filter((o) => o.fileId === fileId && o.clientId !== s.clientId).length === N - 1), 5000, 'broadcasts');
  });

  it('a resubmission is acknowledged as a duplicate with exactly one row, sequentially and concurrently', async () => {
    const roomId = await server.room(owner);
    const [ed] = await editors(roomId, 1);
    const fileId = await server.file(owner, roomId, 'dup.txt', 'ab');
    const a = await raw(owner, roomId, fileId);
    const rowsOf = async (cid: string, seq: number) => (await knex()('file_ops').where({ file_id: fileId, client_id: cid, seq }).count<{ n: string }[]>('* as n'))[0]!.n;

    const first = assertOk(await a.request('op:submit', { roomId, fileId, clientId: a.clientId, seq: 1, baseVersion: 0, op: [1, 'X', 1] }));
    assert.deepEqual([first['version'], first['duplicate']], [1, false]);
    // The very same submission again, then rebased onto a later version: the original version, duplicate.
    const again = assertOk(await a.request('op:submit', { roomId, fileId, clientId: a.clientId, seq: 1, baseVersion: 0, op: [1, 'X', 1] }));
    assert.deepEqual([again['version'], again['duplicate']], [1, true]);
    const rebased = assertOk(await a.request('op:submit', { roomId, fileId, clientId: a.clientId, seq: 1, baseVersion: 1, op: [2, 'X', 1] }));
    assert.deepEqual([rebased['version'], rebased['duplicate']], [1, true]);
    assert.equal(Number(await rowsOf(a.clientId, 1)), 1);
    assert.deepEqual(await server.storedText(fileId), { version: 1, text: 'aXb' });

    // Two copies of one new submission at once, on one connection.
    const sub2 = { roomId, fileId, clientId: a.clientId, seq: 2, baseVersion: 1, op: [3, 'Y'] };
    const pair = await Promise.all([a.request('op:submit', sub2), a.request('op:submit', sub2)]);
    const fields = pair.map((r) => assertOk(r));
    assert.deepEqual(fields.map((f) => f['version']), [2, 2]);
    assert.deepEqual(fields.map((f) => f['duplicate']).sort(), [false, true]);
    assert.equal(Number(await rowsOf(a.clientId, 2)), 1);

    // Two copies from two connections of the same user (same clientId), at once.
    const cid = clientId();
    const b1 = await raw(ed!, roomId, fileId, cid);
    const b2 = await raw(ed!, roomId, fileId, cid);
    const sub = { roomId, fileId, clientId: cid, seq: 1, baseVersion: 2, op: ['Z', 4] };
    const both = await Promise.all([b1.request('op:submit', sub), b2.request('op:submit', sub)]);
    const bf = both.map((r) => assertOk(r));
    assert.deepEqual(bf.map((f) => f['version']), [3, 3]);
    assert.deepEqual(bf.map((f) => f['duplicate']).sort(), [false, true]);
    assert.equal(Number(await rowsOf(cid, 1)), 1);
    assert.deepEqual(await server.storedText(fileId), { version: 3, text: 'ZaXbY' });
    await assertGaplessLog(knex(), fileId);
  });

  it('an op whose ack is lost in a disconnection is committed exactly once after the reconnect', async () => {
    const roomId = await server.room(owner);
    const [ed] = await editors(roomId, 1);
    const fileId = await server.file(owner, roomId, 'lost-ack.txt', 'hello\n');
    const a = await connect(owner);
    const b = await connect(ed!);
    await a.joinRoom(roomId);
    await b.joinRoom(roomId);
    const da = await a.openFile(roomId, fileId);
    const db = await b.openFile(roomId, fileId);
    const firstSid = a.socket.id;
    const submits: [number, Reply][] = [];
    const original = a.connection.requestNow.bind(a.connection);
    a.connection.requestNow = (event, payload, onReply) =>
      original(event, payload, (reply) => {
        if (event === 'op:submit') submits.push([(payload as { seq: number }).seq, reply]);
        onReply(reply);
      });

    da.type(0, 'lost? ');
    // The submission is flushed before the transport closes (engine.io drains its write buffer),
    // so the server commits it, but the ack can no longer reach us.
    a.socket.io.engine.close();
    db.type(db.text.length, 'world\n');
    await waitUntil(() => a.socket.connected && a.socket.id !== firstSid, 5000, 'the automatic reconnect');
    const stored = await quiesce([da, db], fileId);

    const sends = da.effects.filter((e) => e.type === 'send');
    assert.ok(sends.length >= 1);
    const seq = sends[0]!.type === 'send' ? sends[0]!.submission.seq : -1;
    const rows = await knex()('file_ops').where({ file_id: fileId, client_id: da.clientId, seq }).select('version');
    assert.equal(rows.length, 1, 'committed exactly once');
    // The first submission's ack was indeed lost (the request failed locally), yet it was committed.
    assert.equal(submits[0]?.[0], seq);
    assert.equal(submits[0]?.[1].ok, false, `the first ack arrived: ${JSON.stringify(submits[0])}`);
    assert.ok(da.effects.some((e) => e.type === 'acked' && e.seq === seq && e.version === Number(rows[0].version)), 'acknowledged later, as the committed version');
    assert.equal(stored.text.split('lost? ').length, 2);
    assert.equal(da.text, stored.text);
    assert.equal(db.text, stored.text);
    assert.equal(stored.text, 'lost? hello\nworld\n');
    await assertGaplessLog(knex(), fileId);
  });

  it('a raw resend after a reconnect with the same (clientId, seq) is a duplicate of the unacknowledged commit', async () => {
    const roomId = await server.room(owner);
    const fileId = await server.file(owner, roomId, 'resend.txt', 'abc');
    const first = await raw(owner, roomId, fileId);
    const cid = first.clientId;
    // Emit and drop the connection without waiting for the ack.
    first.socket.emit('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op: ['>', 3] }, () => undefined);
    // Kill the transport (a client-side `close()` would send a DISCONNECT packet, after which the
    // server rightly ignores packets still in its queue).
    first.socket.io.engine.close();
    await waitUntil(async () => (await opRows(knex(), fileId)).length === 1, 5000, 'the commit');
    const second = await raw(owner, roomId, fileId, cid);
    // Re-open with the known version: the catch-up holds our own op, and lastCommitted names it.
    const reopened = assertOk(await second.request('file:open', { roomId, fileId, clientId: cid, knownVersion: 0 }));
    assert.equal(reopened['mode'], 'ops');
    assert.deepEqual(reopened['lastCommitted'], { seq: 1, version: 1 });
    assert.deepEqual(
      (reopened['ops'] as { clientId: string; seq: number }[]).map((o) => [o.clientId, o.seq]),
      [[cid, 1]],
    );
    const resent = assertOk(await second.request('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op: ['>', 3] }));
    assert.deepEqual([resent['version'], resent['duplicate']], [1, true]);
    assert.equal((await opRows(knex(), fileId)).length, 1);
    assert.deepEqual(await server.storedText(fileId), { version: 1, text: '>abc' });
  });
});

forEachDatabase('recovery from compacted history through sockets', (ctx) => {
  let server: TestServer;
  const clients: CollabClient[] = [];
  testTimeout(20_000);

  before(async () => {
    // Snapshot every 5 ops and keep 2 behind it; a small in-memory window so that the re-open has
    // to go to the (compacted) log.
    server = await TestServer.start(ctx.current().db, { sessions: { snapshotEvery: 5, compactKeepOps: 2, recentOps: 2 } });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await server?.stop();
  });

  it('a client offline across a compaction resyncs with HISTORY_COMPACTED and keeps its offline typing', async function () {
    this.timeout(20_000);
    const owner = await server.user('owner');
    const roomId = await server.room(owner);
    const ed = await server.user('ed');
    await server.invite(owner, roomId, ed, 'editor');
    const fileId = await server.file(owner, roomId, 'compact.txt', 'start\n');
    const a = await server.connect(owner);
    const b = await server.connect(ed);
    clients.push(a, b);
    await a.joinRoom(roomId);
    await b.joinRoom(roomId);
    const da = await a.openFile(roomId, fileId);
    const db = await b.openFile(roomId, fileId);
    db.type(db.text.length, 'b0;');
    await db.synced();
    const versionWhenLeaving = db.state.version;

    b.socket.disconnect();
    await waitUntil(() => !db.state.online, 2000, 'B offline');
    db.type(0, '[offline-B]');
    db.type(db.text.length, '{tail-B}');
    for (let i = 0; i < 24; i++) {
      da.type(da.text.length, `a${i};`);
      await da.synced();
    }
    const compactedTo = await server.app.database.knex('file_ops').where('file_id', fileId).min<{ m: number }[]>('version as m');
    assert.ok(Number(compactedTo[0]!.m) > versionWhenLeaving + 1, `the log was compacted past B's version (min ${compactedTo[0]!.m})`);

    // B's re-open at its known version must fail with HISTORY_COMPACTED (observed on the wire).
    const replies: [string, Reply][] = [];
    const original = b.connection.request.bind(b.connection);
    b.connection.request = async (event, payload) => {
      const reply = await original(event, payload);
      replies.push([event, reply]);
      return reply;
    };
    b.socket.connect();
    const stored = await (async () => {
      for (;;) {
        await waitUntil(() => db.state.online, 5000, 'B back online');
        const s = await server.storedText(fileId);
        await da.synced(10_000, s.version);
        await db.synced(10_000, s.version);
        const again = await server.storedText(fileId);
        if (again.version === s.version) return again;
      }
    })();
    assert.ok(
      replies.some(([e, r]) => e === 'file:open' && !r.ok && r.error.code === 'HISTORY_COMPACTED'),
      `no HISTORY_COMPACTED reply: ${JSON.stringify(replies.map(([e, r]) => [e, r.ok || r.error.code]))}`,
    );
    assert.ok(db.effects.some((e) => e.type === 'merged'), 'B rebased its typing over a resync');
    assert.ok(stored.text.startsWith('[offline-B]'), stored.text);
    assert.ok(stored.text.endsWith('{tail-B}') || stored.text.includes('{tail-B}'), stored.text);
    for (let i = 0; i < 24; i++) assert.ok(stored.text.includes(`a${i};`), `a${i}`);
    assert.equal(stored.text.split('[offline-B]').length, 2, 'offline typing exactly once');
    assert.equal(da.text, stored.text);
    assert.equal(db.text, stored.text);
    assert.deepEqual(await db.verify(), { head: stored.version, match: true });
  });
});
