/**
 * One sequencer per file across nodes (`commit-routing.ts`), on two real nodes over PostgreSQL and
 * Redis: forwarding, and every way the sequencing node can fail a forward (silent, answer lost,
 * readers gone, shutting down) ending with the op committed exactly once and acknowledged.
 */
import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { Cluster, type NodeOptions } from '../test-support/cluster';
import { withServices } from '../test-support/convergence';
import type { TestUser } from '../test-support/test-app';
import { assertGaplessLog, assertOk, openRaw, opRows, waitUntil, type OpenedRaw } from '../test-support/sockets';
import type { App } from '../app';
import { CommitRouter, nodeLinkKey, type CommitRoutingOptions, type LocalCommits } from './commit-routing';
import { encodeOpsMessage, NODE_ID_BYTES } from './redis-fanout';

describe('commit routing: each file sequenced on one node', function () {
  const services = withServices(this);

  let cluster: Cluster;
  afterEach(async () => {
    await cluster?.stop();
  });

  /** A room with an owner and one editor, a file in it, and the file opened on `nodes` (one socket each, alternating users). */
  async function setUp(nodes: number[]): Promise<{ roomId: string; fileId: string; sockets: OpenedRaw[]; users: [TestUser, TestUser] }> {
    const { roomId, users } = await cluster.node(0).roomWithEditors(1);
    const [owner, editor] = users as [TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'routed.txt', 'abc');
    const sockets: OpenedRaw[] = [];
    for (const [i, node] of nodes.entries()) sockets.push(await openRaw(cluster.node(node).url, (i % 2 === 0 ? owner : editor).token, roomId, fileId));
    return { roomId, fileId, sockets, users: [owner, editor] };
  }

  const submit = (s: OpenedRaw, roomId: string, fileId: string, seq: number, baseVersion: number, op: unknown[]) =>
    s.request('op:submit', { roomId, fileId, clientId: s.clientId, seq, baseVersion, op }, 10_000);

  /** Two nodes with `options`, the file open on node 0 (`a`) and node 1 (`b`), and `a`'s first op committed, so node 0 holds the lease. */
  async function leaseOnNodeZero(options: NodeOptions[] = [{}, {}]) {
    cluster = await Cluster.start(services().pg, services().redisUrl, options);
    const { roomId, fileId, sockets, users } = await setUp([0, 1]);
    const [a, b] = sockets as [OpenedRaw, OpenedRaw];
    assertOk(await submit(a, roomId, fileId, 1, 0, ['A', 3]));
    return { roomId, fileId, a, b, users };
  }

  const forwards = async (app: App, end: string): Promise<number> => (await app.metrics.commitsForwarded.get()).values.find((v) => v.labels['end'] === end)?.value ?? 0;

  /** Who holds the file's lease in Redis (the node id), or null. */
  async function leaseHolder(fileId: string): Promise<string | null> {
    const redis = new Redis(services().redisUrl);
    try {
      return await redis.get(`${cluster.prefix}-lease:${fileId}`);
    } finally {
      redis.disconnect();
    }
  }

  it('the first node to commit a file sequences it; the other forwards, and the readers of both nodes get the op, its submitter only the ack', async function () {
    this.timeout(30_000);
    cluster = await Cluster.start(services().pg, services().redisUrl, [{}, {}]);
    const { roomId, fileId, sockets } = await setUp([0, 1, 1]);
    const [a, b, reader] = sockets as [OpenedRaw, OpenedRaw, OpenedRaw];
    assert.equal(assertOk(await submit(a, roomId, fileId, 1, 0, ['A', 3]))['version'], 1);
    assert.equal(await leaseHolder(fileId), cluster.node(0).app.fanout?.nodeId, 'node 0 took the lease');
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B'])), { ok: true, version: 2, duplicate: false });
    assert.equal(await forwards(cluster.node(1).app, 'answered'), 1, 'node 1 forwarded its submission');
    assert.equal((await cluster.node(1).app.metrics.commitGroupRoundTrips.get()).values.length, 0, 'node 1 committed nothing itself');
    // A lone op goes to every reader but its submitter (wherever it lives), as on one node.
    assert.deepEqual(b.events('op').map((op: { version: number }) => op.version), [1]);
    await waitUntil(() => (reader.events('op').length === 2 ? true : undefined), 5000, 'both ops at the reader');
    assert.deepEqual(a.events('op').map((op: { version: number }) => op.version), [2], 'node 0 submitter: only the other op');
    assert.equal(await assertGaplessLog(cluster.node(1).app.database.knex, fileId), 2);
    for (const s of sockets) s.close();
  });

  it('a sequencing node that never answers (crashed, cut off): the submission is committed on its own node after the forward timeout, and the file stays there', async function () {
    this.timeout(30_000);
    const { roomId, fileId, a, b } = await leaseOnNodeZero([{ faults: { ignoreForwards: true } }, { routing: { forwardTimeoutMs: 300 } }]);
    const started = Date.now();
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B'])), { ok: true, version: 2, duplicate: false });
    assert.ok(Date.now() - started >= 250, 'waited for the forward timeout');
    assert.equal(await forwards(cluster.node(1).app, 'timed_out'), 1);
    // The next one does not wait: node 1 sequences the file itself until the lease would have run out.
    const again = Date.now();
    assertOk(await submit(b, roomId, fileId, 2, 2, [5, 'C']));
    assert.ok(Date.now() - again < 250, `the second submission was not forwarded (${Date.now() - again} ms)`);
    assert.equal(await forwards(cluster.node(1).app, 'timed_out'), 1);
    assert.equal(await assertGaplessLog(cluster.node(1).app.database.knex, fileId), 3);
    a.close();
    b.close();
  });

  it('the answer is lost after the sequencer committed: the fallback commit finds (clientId, seq) in the log and acknowledges the original version, once', async function () {
    this.timeout(30_000);
    const { roomId, fileId, a, b } = await leaseOnNodeZero([{ faults: { dropForwardAnswers: true } }, { routing: { forwardTimeoutMs: 300 } }]);
    // Node 0 commits it as version 2 and its answer is lost; node 1 commits it itself after 300 ms.
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B'])), { ok: true, version: 2, duplicate: true });
    const rows = await opRows(cluster.node(1).app.database.knex, fileId);
    assert.deepEqual(
      rows.map((r) => [r.version, r.client_id, r.seq]),
      [
        [1, a.clientId, 1],
        [2, b.clientId, 1],
      ],
      'the op is in the log exactly once',
    );
    a.close();
    b.close();
  });

  it('a sequencer whose readers all left gives the lease up when asked, and the asking node sequences the file', async function () {
    this.timeout(30_000);
    const { roomId, fileId, a, b } = await leaseOnNodeZero();
    const node1 = cluster.node(1).app.fanout?.nodeId;
    assertOk(await a.request('file:close', { roomId, fileId }));
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B'])), { ok: true, version: 2, duplicate: false });
    assert.equal(await forwards(cluster.node(1).app, 'redirected'), 1, 'node 0 redirected the forward');
    assert.equal(await leaseHolder(fileId), node1, 'node 1 holds the lease now');
    assertOk(await submit(b, roomId, fileId, 2, 2, [5, 'C']));
    assert.equal(await forwards(cluster.node(1).app, 'answered'), 0);
    assert.equal(await assertGaplessLog(cluster.node(1).app.database.knex, fileId), 3);
    a.close();
    b.close();
  });

  it('a sequencing node that shuts down releases its leases and tells the nodes it served: the other node takes the file at once, its clients stay connected', async function () {
    this.timeout(30_000);
    const { roomId, fileId, a, b } = await leaseOnNodeZero();
    assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B']));
    assert.equal(await forwards(cluster.node(1).app, 'answered'), 1, 'node 1 forwarded to node 0');
    await cluster.node(0).stop();
    assert.equal(await leaseHolder(fileId), null, 'released on shutdown');
    assert.ok(b.socket.connected, 'the other node’s clients stay connected');
    // Node 1 learned that node 0 stopped: it takes the file without waiting for a forward to time out.
    const started = Date.now();
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 2, 2, [5, 'C'])), { ok: true, version: 3, duplicate: false });
    assert.ok(Date.now() - started < 1000, `committed at once (${Date.now() - started} ms)`);
    assert.equal(await forwards(cluster.node(1).app, 'timed_out'), 0);
    assert.equal(await leaseHolder(fileId), cluster.node(1).app.fanout?.nodeId);
    assert.equal(await assertGaplessLog(cluster.node(1).app.database.knex, fileId), 3);
    a.close();
    b.close();
  });

  it('a forward forged on Redis without the shared secret commits nothing (a real one differs only by its signature)', async function () {
    this.timeout(30_000);
    const { roomId, fileId, a, b, users } = await leaseOnNodeZero();
    const editor = users[1];
    const node0 = cluster.node(0).app.fanout?.nodeId as string;
    // What node 1 would send to forward b's op, signed with a wrong key, as an attacker on Redis would.
    const forged = { id: 1, from: 'f'.repeat(32), fileId, userId: editor.id, sub: { clientId: b.clientId, seq: 1, baseVersion: 1, op: [4, 'EVIL'] }, except: 'x', mac: 'A'.repeat(43) };
    const publisher = new Redis(services().redisUrl);
    try {
      const message = encodeOpsMessage(Buffer.alloc(NODE_ID_BYTES, 7), [{ room: `node:${node0}`, event: 'submit:forward', payload: forged }]);
      assert.equal(await publisher.publish(`${cluster.prefix}-ops`, message), 2, 'both nodes subscribed');
    } finally {
      publisher.disconnect();
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await assertGaplessLog(cluster.node(0).app.database.knex, fileId), 1, 'nothing was committed');
    // The real forward of the same op goes through.
    assert.deepEqual(assertOk(await submit(b, roomId, fileId, 1, 1, [4, 'B'])), { ok: true, version: 2, duplicate: false });
    a.close();
    b.close();
  });
});

/**
 * The router alone, two of them joined by an in-memory link and an in-memory lease table: the
 * timing and failure paths that the real nodes above reach only by injected faults.
 */
describe('commit routing: the router on its own', function () {
  type Outcome = Awaited<ReturnType<LocalCommits['commit']>>;
  const committed = (version: number): Outcome => ({ kind: 'committed', op: { version, op: ['x'], clientId: 'c', seq: version } });
  const sub = (seq: number) => ({ clientId: 'client-aaaaaaaaaaaa', seq, baseVersion: 0, op: ['x'] as (string | number)[] });

  /** A lease table shared by the routers of one test (as Redis would be), with its calls counted. */
  class Leases {
    readonly holders = new Map<string, { node: string; until: number }>();
    claims = 0;
    down = false;
    view(nodeId: string) {
      return {
        nodeId,
        ready: () => !this.down,
        claimFile: async (fileId: string, ttlMs: number) => {
          this.claims++;
          if (this.down) throw new Error('redis down');
          const now = Date.now();
          const held = this.holders.get(fileId);
          if (!held || held.until <= now || held.node === nodeId) this.holders.set(fileId, { node: nodeId, until: now + ttlMs });
          const h = this.holders.get(fileId) as { node: string; until: number };
          return { owner: h.node, remainingMs: h.until - now };
        },
        releaseFile: async (fileId: string) => {
          if (this.holders.get(fileId)?.node === nodeId) this.holders.delete(fileId);
        },
      };
    }
  }

  /** Node-addressed messages between routers, delivered on a later turn (as over Redis). */
  class Link {
    private readonly listeners = new Map<string, (event: string, payload: unknown) => void>();
    sent: { to: string; event: string }[] = [];
    drop = false;
    for(nodeId: string) {
      return {
        toNode: (to: string, event: string, payload: unknown) => {
          this.sent.push({ to, event });
          if (!this.drop) setImmediate(() => this.listeners.get(to)?.(event, structuredClone(payload)));
        },
        onNodeMessage: (listener: (event: string, payload: unknown) => void) => void this.listeners.set(nodeId, listener),
      };
    }
    /** Delivers a message that no router sent (a forger on Redis). */
    inject(to: string, event: string, payload: unknown): void {
      this.listeners.get(to)?.(event, payload);
    }
  }

  /** A router on node `id` whose local commits are recorded (and answered with the next version). */
  function node(id: string, leases: Leases, link: Link, options: Partial<CommitRoutingOptions> = {}) {
    const commits: string[] = [];
    let holds = true;
    const router = new CommitRouter(
      {
        commit: async (fileId) => {
          commits.push(fileId);
          return committed(commits.length);
        },
        holds: () => holds,
      },
      leases.view(id),
      link.for(id),
      nodeLinkKey('a shared secret of the test'),
      { leaseMs: 400, forwardTimeoutMs: 150, ...options },
    );
    return { router, commits, setHolds: (h: boolean) => void (holds = h) };
  }

  /** Routers on nodes a and b over one lease table and one link, closed after the test. */
  function pair() {
    const leases = new Leases();
    const link = new Link();
    const a = node('a', leases, link);
    const b = node('b', leases, link);
    routers.push(a.router, b.router);
    return { leases, link, a, b };
  }

  const routers: CommitRouter[] = [];
  afterEach(async () => {
    await Promise.all(routers.splice(0).map((r) => r.close()));
  });

  it('without leases (a node alone) every submission is committed here, and closing is a no-op', async () => {
    const link = new Link();
    const commits: string[] = [];
    const router = new CommitRouter({ commit: async (f) => (commits.push(f), committed(commits.length)), holds: () => true }, undefined, link.for('solo'), undefined);
    assert.deepEqual(await router.submit('f', 'u', sub(1), 's'), committed(1));
    await router.close();
    await router.close();
    assert.deepEqual(link.sent, []);
  });

  it('the first to commit takes the lease; the other forwards and gets the outcome, marked as already published', async () => {
    const { a, b } = pair();
    assert.equal((await a.router.submit('f', 'u', sub(1), 's1')).kind, 'committed');
    const outcome = await b.router.submit('f', 'u', sub(2), 's2');
    assert.deepEqual(outcome, { ...committed(2), published: true });
    assert.deepEqual(a.commits, ['f', 'f'], 'both committed on a');
    assert.deepEqual(b.commits, []);
  });

  it('the holder renews its lease at half time while it commits; a node that stops committing loses it', async () => {
    const { leases, a, b } = pair();
    await a.router.submit('f', 'u', sub(1), 's');
    const first = leases.holders.get('f')?.until as number;
    // Before half time a commit does not touch Redis; after it, it renews (in the background).
    await new Promise((r) => setTimeout(r, 100));
    const claims = leases.claims;
    await a.router.submit('f', 'u', sub(2), 's');
    assert.equal(leases.claims, claims, 'no claim before half time');
    await new Promise((r) => setTimeout(r, 150));
    await a.router.submit('f', 'u', sub(3), 's');
    await new Promise((r) => setImmediate(r));
    assert.ok((leases.holders.get('f')?.until as number) >= first + 200, 'renewed past half time');
    // a stops committing: its lease runs out and b takes the file.
    await new Promise((r) => setTimeout(r, 500));
    await b.router.submit('f', 'u', sub(9), 's');
    assert.equal(leases.holders.get('f')?.node, 'b');
    assert.equal(b.commits.length, 1);
  });

  it('Redis unreachable: every submission is committed where it arrived, nothing is forwarded', async () => {
    const { leases, link, a, b } = pair();
    await a.router.submit('f', 'u', sub(1), 's');
    leases.down = true;
    await b.router.submit('f', 'u', sub(2), 's'); // knows a holds f, but Redis is down
    await b.router.submit('g', 'u', sub(3), 's'); // cannot claim g
    assert.deepEqual(b.commits, ['f', 'g']);
    assert.equal(link.sent.filter((m) => m.event === 'submit:forward').length, 0);
  });

  it('a forward signed with another key is dropped: the forwarding node times out and commits locally', async () => {
    const leases = new Leases();
    const link = new Link();
    const a = node('a', leases, link);
    routers.push(a.router);
    // b signs with another key, as a node of another deployment (or a forger) would: a drops it.
    const b = new CommitRouter(
      { commit: async () => committed(99), holds: () => true },
      leases.view('b'),
      link.for('b'),
      nodeLinkKey('another secret'),
      { leaseMs: 400, forwardTimeoutMs: 150 },
    );
    routers.push(b);
    await a.router.submit('f', 'u', sub(1), 's');
    const started = Date.now();
    assert.deepEqual(await b.submit('f', 'u', sub(2), 's'), committed(99));
    assert.ok(Date.now() - started >= 140, 'waited for the timeout');
    assert.deepEqual(a.commits, ['f'], 'a refused the forward it could not verify');
  });

  it('a holder without readers of the file redirects: the asking node takes the lease and commits', async () => {
    const { leases, link, a, b } = pair();
    await a.router.submit('f', 'u', sub(1), 's');
    // a has no reader of f any more: it releases and redirects; b claims and commits.
    a.setHolds(false);
    assert.deepEqual(await b.router.submit('f', 'u', sub(2), 's'), committed(1));
    assert.equal(leases.holders.get('f')?.node, 'b');
    assert.equal(link.sent.filter((m) => m.event === 'submit:forward').length, 1);
  });

  it('a release notice that does not verify is ignored: the node keeps what it knew of the holder', async () => {
    const { leases, link, a, b } = pair();
    await a.router.submit('f', 'u', sub(1), 's');
    await b.router.submit('f', 'u', sub(2), 's');
    const claims = leases.claims;
    link.inject('b', 'sequencer:released', { node: 'a', mac: 'forged' });
    await b.router.submit('f', 'u', sub(3), 's');
    assert.equal(leases.claims, claims, 'b did not forget what it knew (it would have asked Redis again)');
    assert.equal(link.sent.filter((m) => m.event === 'submit:forward').length, 2, 'both of b’s submissions forwarded');
    assert.deepEqual(b.commits, []);
  });

  it('closing releases only this node’s leases and tells the peers that forwarded to it', async () => {
    const leases = new Leases();
    const link = new Link();
    const a = node('a', leases, link);
    const b = node('b', leases, link);
    routers.push(b.router);
    await a.router.submit('f', 'u', sub(1), 's');
    await b.router.submit('g', 'u', sub(2), 's');
    await b.router.submit('f', 'u', sub(3), 's'); // forwarded: b is a's peer now
    await a.router.close();
    assert.equal(leases.holders.has('f'), false);
    assert.equal(leases.holders.get('g')?.node, 'b');
    assert.deepEqual(link.sent.filter((m) => m.event === 'sequencer:released'), [{ to: 'b', event: 'sequencer:released' }]);
    await new Promise((r) => setImmediate(r));
    const before = link.sent.length;
    await b.router.submit('f', 'u', sub(4), 's');
    assert.equal(link.sent.length, before, 'b no longer forwards f');
    assert.equal(leases.holders.get('f')?.node, 'b');
  });
});
