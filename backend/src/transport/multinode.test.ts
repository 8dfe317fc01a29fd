/**
 * Two nodes over one PostgreSQL database and one Redis (in this process, each node with its own
 * pool and Redis connections): a seeded random edit storm with clients spread over both nodes,
 * publish reordering injected in one node, and role changes / removals / deletions made on one
 * node reaching the sockets held by the other. Needs real PostgreSQL and Redis: skipped with the
 * reason when either is unreachable, a failure under CI=true.
 */
import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { Random, seedFromEnv } from '@collab/protocol/dist/test-support/random';
import { CollabClient, type FileDoc } from '@collab/client';
import { Cluster } from '../test-support/cluster';
import { assertAcksMatchLog, assertConverged, randomEdit, withServices } from '../test-support/convergence';
import type { TestUser } from '../test-support/test-app';
import { assertGaplessLog, assertOk, nextEvent, rawSocket, sleep, tableCounts, waitUntil } from '../test-support/sockets';
import { decodeOpsMessage, type RelayedBroadcast } from './redis-fanout';

describe('multi-node: two nodes over PostgreSQL and Redis', function () {
  const services = withServices(this);

  let cluster: Cluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  /** Users: an owner plus `n` editors, registered through node 0, invited to a fresh room. */
  const roomWithEditors = (n: number) => cluster.node(0).roomWithEditors(n);

  for (const routing of [true, false]) {
    const how = routing ? 'each file sequenced on one node (the other forwards)' : 'both nodes committing every file (COMMIT_ROUTING=off)';
    it(`a random edit storm with clients spread over both nodes converges, ${how}: gapless log, no duplicate (clientId, seq), every client equals the database (seeded)`, async function () {
      this.timeout(90_000);
      const seed = seedFromEnv();
      console.log(`      seed=${seed} (replay with SEED=${seed})`);
      const rnd = new Random(seed);
      cluster = await Cluster.start(services().pg, services().redisUrl, [{ commitRouting: routing }, { commitRouting: routing }]);
      const { roomId, users } = await roomWithEditors(5);
      const fileIds: string[] = [];
      for (let f = 0; f < 3; f++) fileIds.push(await cluster.node(0).file(users[0]!, roomId, `src/storm-${f}.ts`, `storm ${f}\n`));
      // Clients alternate between the nodes: every file has writers on both.
      const clients = await Promise.all(users.map((u, i) => CollabClient.connect(cluster.node(i % 2).url, u.token)));
      const docs: FileDoc[][] = [];
      for (const c of clients) {
        await c.joinRoom(roomId);
        const mine: FileDoc[] = [];
        for (const fileId of fileIds) mine.push(await c.openFile(roomId, fileId));
        docs.push(mine);
      }
      const started = Date.now();
      const letters = 'abcdefgh';
      for (let round = 0; round < 150; round++) {
        for (let i = 0; i < clients.length; i++) randomEdit(rnd, rnd.pick(docs[i]!), letters[i]!);
        if (rnd.chance(0.8)) await sleep(rnd.int(12));
      }
      const counts: number[] = [];
      for (let f = 0; f < fileIds.length; f++) {
        const fileId = fileIds[f]!;
        const fileDocs = docs.map((d) => d[f]!);
        const knex = cluster.node(0).app.database.knex;
        const stored = await assertConverged(knex, fileDocs, fileId, `file ${f} (seed ${seed})`);
        const rows = await assertGaplessLog(knex, fileId);
        assert.equal(rows, stored.version);
        // Every ack was for exactly the logged row, and every row was acknowledged exactly once.
        assert.equal(await assertAcksMatchLog(knex, fileId, fileDocs, `file ${f} (seed ${seed})`), rows, `acks vs rows, file ${f} (seed ${seed})`);
        counts.push(rows);
      }
      const ms = Date.now() - started;
      const perNode = await Promise.all(cluster.nodes.map(async (n) => (await n.app.metrics.opsCommitted.get()).values[0]?.value ?? 0));
      const conflicts = await Promise.all(cluster.nodes.map(async (n) => (await n.app.metrics.commitConflicts.get()).values[0]?.value ?? 0));
      const forwarded = await Promise.all(cluster.nodes.map(async (n) => (await n.app.metrics.commitsForwarded.get()).values.find((v) => v.labels['end'] === 'answered')?.value ?? 0));
      console.log(`      ${counts.join('+')} ops in ${ms} ms; acknowledged per node ${perNode.join('/')}; cross-node races ${conflicts.join('/')}; forwarded ${forwarded.join('/')}`);
      assert.ok(perNode.every((n) => n > 0), 'both nodes acknowledged ops');
      if (routing) {
        // One sequencer per file: the other node's submissions were forwarded, and nobody raced.
        assert.ok(forwarded.reduce((a, b) => a + b, 0) > 0, 'submissions were forwarded');
        assert.equal(conflicts.reduce((a, b) => a + b, 0), 0, 'no commit found the other node’s ops');
      } else {
        assert.ok(conflicts.reduce((a, b) => a + b, 0) > 0, 'the nodes raced for versions');
      }
      for (const c of clients) c.close();
    });
  }

  it('publishes of one node delayed (reordered) by up to 60 ms: receivers on the other node still apply in version order and converge', async function () {
    this.timeout(60_000);
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    const rnd = new Random(seed);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{ faults: { publishDelayMs: 60 } }, {}]);
    const { roomId, users } = await roomWithEditors(3);
    const fileId = await cluster.node(0).file(users[0]!, roomId, 'delayed.txt', 'start\n');
    const clients = await Promise.all(users.map((u, i) => CollabClient.connect(cluster.node(i % 2).url, u.token)));
    const docs: FileDoc[] = [];
    for (const c of clients) {
      await c.joinRoom(roomId);
      docs.push(await c.openFile(roomId, fileId));
    }
    // A raw observer on node 1 records the order in which broadcasts arrive.
    const observer = await rawSocket(cluster.node(1).url, users[1]!.token);
    await observer.request('room:join', { roomId });
    await observer.request('file:open', { roomId, fileId, clientId: `observer-${seed}` });
    const arrivals: number[] = [];
    observer.socket.on('op', (op: { version: number }) => arrivals.push(op.version));
    observer.socket.on('ops', (batch: { ops: { version: number }[] }) => arrivals.push(...batch.ops.map((op) => op.version)));
    for (let round = 0; round < 80; round++) {
      // Clients on node 0 (even) write more, so most broadcasts cross the delayed publisher.
      for (let i = 0; i < clients.length; i++) if (i % 2 === 0 || rnd.chance(0.3)) randomEdit(rnd, docs[i]!, 'wxyz'[i]!);
      await sleep(5 + rnd.int(20));
    }
    const stored = await assertConverged(cluster.node(1).app.database.knex, docs, fileId, `seed ${seed}`);
    await assertGaplessLog(cluster.node(1).app.database.knex, fileId);
    await waitUntil(() => new Set(arrivals).size >= stored.version - 5, 10_000, 'broadcasts reach the observer');
    const inversions = arrivals.filter((v, i) => i > 0 && v < arrivals[i - 1]!).length;
    // Early ops were buffered (held until their turn) by the clients on node 1, not applied.
    const held = docs.filter((_, i) => i % 2 === 1).reduce((n, d) => n + d.effects.filter((e) => e.type === 'fetch').length, 0);
    console.log(`      ${stored.version} ops; ${inversions} out-of-order arrivals at the observer on node 1; ${held} gap fetches by node-1 clients`);
    assert.ok(inversions > 0, 'the delay did reorder broadcasts (otherwise this test proves nothing)');
    observer.socket.close();
    for (const c of clients) c.close();
  });

  it('a node that learns another node\'s ops while committing sends them ahead of its own in one frame: its readers get them in order, with no gap to fetch', async function () {
    this.timeout(30_000);
    // Node 0's broadcasts cross Redis up to 1 s late: node 1's readers could only fetch or wait.
    // Both nodes commit the file (no routing), so node 1 reads node 0's op under the file's lock.
    cluster = await Cluster.start(services().pg, services().redisUrl, [
      { faults: { publishDelayMs: 1000 }, commitRouting: false },
      { commitRouting: false },
    ]);
    const { roomId, users } = await roomWithEditors(1);
    const [owner, ed] = users as [TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'relay.txt', 'abc');
    const open = async (node: number, user: TestUser, clientId: string) => {
      const s = await rawSocket(cluster.node(node).url, user.token);
      assertOk(await s.request('room:join', { roomId }));
      assertOk(await s.request('file:open', { roomId, fileId, clientId }));
      return s;
    };
    const a = await open(0, owner, 'relay-client-aaaa');
    const b = await open(1, ed, 'relay-client-bbbb');
    const reader = await open(1, ed, 'relay-client-reader');
    // Version 1 is committed on node 0; node 1 has not heard of it (its broadcast is held back).
    assert.equal(assertOk(await a.request('op:submit', { roomId, fileId, clientId: 'relay-client-aaaa', seq: 1, baseVersion: 0, op: ['A', 3] }))['version'], 1);
    // Node 1 commits version 2 on top of it, reading version 1 under the file's lock.
    const frame = nextEvent<{ ops: { version: number; clientId: string }[] }>(reader.socket, 'ops', 3000);
    assert.equal(assertOk(await b.request('op:submit', { roomId, fileId, clientId: 'relay-client-bbbb', seq: 1, baseVersion: 0, op: [3, 'B'] }))['version'], 2);
    const got = await frame;
    assert.deepEqual(got.ops.map((op) => [op.version, op.clientId]), [[1, 'relay-client-aaaa'], [2, 'relay-client-bbbb']]);
    // The submitter on node 1 got the same frame before its reply, its own op identified by clientId.
    assert.deepEqual(b.events('op').map((op: { version: number }) => op.version).slice(0, 2), [1, 2]);
    for (const s of [a, b, reader]) s.close();
  });

  it('ops committed together on one node reach the other node’s readers as broadcasts, in one Redis message per group commit', async function () {
    this.timeout(30_000);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{}, {}]);
    const { roomId, users } = await roomWithEditors(1);
    const [owner, ed] = users as [TestUser, TestUser];
    const fileIds = [await cluster.node(0).file(owner, roomId, 'g1.txt', 'a'), await cluster.node(0).file(owner, roomId, 'g2.txt', 'b'), await cluster.node(0).file(owner, roomId, 'g3.txt', 'c')];
    // Watch the ops channel as a third party would.
    const watcher = new Redis(services().redisUrl);
    const messages: Buffer[] = [];
    watcher.on('messageBuffer', (_channel: Buffer, message: Buffer) => void messages.push(message));
    await watcher.subscribe(`${cluster.prefix}-ops`);
    try {
      const writer = await rawSocket(cluster.node(0).url, owner.token);
      const reader = await rawSocket(cluster.node(1).url, ed.token);
      for (const [r, cid] of [[writer, 'writer-client-000000001'], [reader, 'reader-client-000000001']] as const) {
        assertOk(await r.request('room:join', { roomId }));
        for (const fileId of fileIds) assertOk(await r.request('file:open', { roomId, fileId, clientId: cid }));
      }
      // One op per file, sent together: the node commits them in one group and answers them in one turn.
      const acks = fileIds.map((fileId) => writer.request('op:submit', { roomId, fileId, clientId: 'writer-client-000000001', seq: 1, baseVersion: 0, op: ['x', 1] }));
      for (const ack of await Promise.all(acks)) assert.deepEqual(ack, { ok: true, version: 1, duplicate: false });
      // The reader on node 1 gets each op as a broadcast (a raw socket never fetches).
      await waitUntil(() => (reader.events('op').length === 3 ? true : undefined), 5000, 'the three ops on node 1');
      assert.deepEqual(reader.events('op').map((o: { fileId: string; version: number }) => [o.fileId, o.version]).sort(), fileIds.map((f) => [f, 1]).sort());
      assert.deepEqual(writer.events('op'), [], 'the submitter gets its ack, not its own op');
      await sleep(100);
      // The nodes' announcements of their readers travel on the same channel: count the messages with ops.
      const withOps = messages.filter((m) => (decodeOpsMessage(m) as RelayedBroadcast[]).some((b) => b.room.startsWith('file:')));
      console.log(`      ${withOps.length} Redis message(s) for 3 ops sent together`);
      assert.ok(withOps.length >= 1 && withOps.length < 3, `${withOps.length} Redis messages for 3 ops committed together`);
      writer.close();
      reader.close();
    } finally {
      watcher.disconnect();
    }
  });

  it('cursors and presence cross nodes through Redis only: a cursor from node 0 reaches node 1, the database is not written, presence lists users of both nodes', async function () {
    this.timeout(30_000);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{}, {}]);
    const { roomId, users } = await roomWithEditors(1);
    const [owner, ed] = users as [TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'cursors.txt', 'some text\n');
    const a = await CollabClient.connect(cluster.node(0).url, owner.token);
    const b = await CollabClient.connect(cluster.node(1).url, ed.token);
    await a.joinRoom(roomId);
    const joined = await b.joinRoom(roomId);
    // Presence is gathered from every node (fetchSockets through the adapter).
    const online = (joined['participants'] as { userId: string; online: boolean }[]).filter((p) => p.online).map((p) => p.userId).sort();
    assert.deepEqual(online, [owner.id, ed.id].sort());
    const da = await a.openFile(roomId, fileId);
    await b.openFile(roomId, fileId);
    const knex = cluster.node(0).app.database.knex;
    const before = await tableCounts(knex);
    const cursor = nextEvent(b.socket as never, 'cursor');
    a.connection.notify('cursor:update', { roomId, fileId, version: 0, selections: [{ anchor: 2, head: 5 }] });
    const got = await cursor;
    assert.deepEqual({ userId: got.userId, clientId: got.clientId, selections: got.selections }, { userId: owner.id, clientId: da.clientId, selections: [{ anchor: 2, head: 5 }] });
    assert.deepEqual(await tableCounts(knex), before, 'a cursor writes nothing to the database');
    a.close();
    b.close();
  });

  it('a removal whose relay never arrived (Redis lost it): the database still refuses the removed user’s ops and fetches', async function () {
    this.timeout(30_000);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{}, {}]);
    const { roomId, users } = await roomWithEditors(1);
    const [owner, ed] = users as [TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'lost-relay.txt', 'secret\n');
    const o = await CollabClient.connect(cluster.node(0).url, owner.token);
    const e = await CollabClient.connect(cluster.node(1).url, ed.token);
    await o.joinRoom(roomId);
    await e.joinRoom(roomId);
    const od = await o.openFile(roomId, fileId);
    const ed1 = await e.openFile(roomId, fileId);
    // The membership row goes, and no event announces it anywhere (as if every relay was lost).
    const knex = cluster.node(0).app.database.knex;
    const room = await knex('rooms').where({ room_id: roomId }).first('id');
    assert.equal(await knex('room_participants').where({ room_id: room.id, user_id: ed.id }).delete(), 1);
    od.type(0, 'more ');
    await od.synced();
    const fetched = await e.request('ops:fetch', { roomId, fileId, from: 1, to: 10 });
    assert.equal(fetched.ok, false);
    assert.equal(!fetched.ok && fetched.error.code, 'NOT_A_PARTICIPANT');
    const submitted = await e.request('op:submit', { roomId, fileId, clientId: ed1.clientId, seq: 1, baseVersion: 0, op: ['x', 7] });
    assert.equal(!submitted.ok && submitted.error.code, 'NOT_A_PARTICIPANT');
    o.close();
    e.close();
  });

  it('a role change, a removal and a file deletion made on node 0 reach the sockets held by node 1 at once', async function () {
    this.timeout(30_000);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{}, {}]);
    const { roomId, users } = await roomWithEditors(2);
    const [owner, ed1, ed2] = users as [TestUser, TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'roles.txt', 'roles\n');
    const other = await cluster.node(0).file(owner, roomId, 'doomed.txt', 'doomed\n');
    const c1 = await CollabClient.connect(cluster.node(1).url, ed1.token);
    const c2 = await CollabClient.connect(cluster.node(1).url, ed2.token);
    for (const c of [c1, c2]) await c.joinRoom(roomId);
    const d1 = await c1.openFile(roomId, fileId);
    const d2 = await c2.openFile(roomId, fileId);
    const doomed = await c1.openFile(roomId, other);
    d1.type(0, 'A');
    await d1.synced();

    // Demotion on node 0 (REST): the editor on node 1 is told, and its next op is refused.
    const roleChanged = nextEvent(c1.socket as never, 'role:changed');
    const r = await cluster.node(0).api('PATCH', `/rooms/${roomId}/participants/${ed1.id}`, { role: 'viewer' }, owner.token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(await roleChanged, { roomId, role: 'viewer' });
    d1.type(0, 'B');
    await waitUntil(() => d1.effects.find((e) => e.type === 'rolledBack'), 5000, 'the demoted editor’s op is rolled back');

    // File deletion on node 0: node 1 evicts its session; the socket hears of it.
    const deleted = nextEvent(c1.socket as never, 'file:deleted');
    const del = await cluster.node(0).api('DELETE', `/rooms/${roomId}/files/${other}`, undefined, owner.token);
    assert.ok(del.status < 300, JSON.stringify(del.body));
    assert.deepEqual(await deleted, { roomId, fileId: other });
    await waitUntil(() => cluster.node(1).app.sessions.cachedHead(other) === undefined, 3000, 'node 1 evicted the deleted file');
    doomed.type(0, 'gone?');
    const refused = await c1.request('op:submit', { roomId, fileId: other, clientId: doomed.clientId, seq: 99, baseVersion: 0, op: ['x', 7] });
    assert.equal(refused.ok, false);

    // Removal on node 0: the removed user's socket on node 1 leaves the room's channels, gets no
    // more ops, and can no longer fetch.
    const removed = nextEvent(c2.socket as never, 'room:removed');
    const rm = await cluster.node(0).api('DELETE', `/rooms/${roomId}/participants/${ed2.id}`, undefined, owner.token);
    assert.ok(rm.status < 300, JSON.stringify(rm.body));
    assert.deepEqual(await removed, { roomId, reason: 'removed' });
    await sleep(200);
    const before = d2.state.version;
    const ownerClient = await CollabClient.connect(cluster.node(0).url, owner.token);
    await ownerClient.joinRoom(roomId);
    const od = await ownerClient.openFile(roomId, fileId);
    od.type(0, 'after removal ');
    await od.synced();
    await sleep(300);
    assert.equal(d2.state.version, before, 'the removed user received no op after removal');
    const fetched = await c2.request('ops:fetch', { roomId, fileId, from: 1, to: 10 });
    assert.equal(fetched.ok, false, 'the removed user cannot fetch');
    for (const c of [c1, c2, ownerClient]) c.close();
  });
});
