/**
 * Fault tests on the real topology: two `node dist/main.js` processes over one PostgreSQL and one
 * Redis, nginx in front (started by `Topology`, as `scripts/topology.mjs` does). A node is killed
 * with SIGKILL under load; a node crashes between commit and broadcast (fault hook). Needs
 * PostgreSQL, Redis and nginx: skipped with the reason when one is missing, a failure under CI=true.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Random, seedFromEnv } from '@collab/protocol/dist/test-support/random';
import { CollabClient, type FileDoc } from '@collab/client';
import { ackedSoFar, assertAcksMatchLog, assertAllInLog, assertConverged, randomEdit, withServices } from '../test-support/convergence';
import { RemoteApi } from '../test-support/remote-api';
import { assertGaplessLog, assertOk, rawSocket, sleep, waitUntil } from '../test-support/sockets';
import type { TestUser } from '../test-support/test-app';
import { findNginx, NGINX_TEMPLATE, renderNginxTemplate, Topology } from './topology';

describe('topology: the nginx template', () => {
  it('renders only the COLLAB_* placeholders and refuses a missing one', () => {
    const template = fs.readFileSync(NGINX_TEMPLATE, 'utf8');
    const out = renderNginxTemplate(template, { COLLAB_LISTEN: '8080', COLLAB_UPSTREAM_SERVERS: 'server a:1;', COLLAB_BALANCE: 'ip_hash;' });
    assert.ok(!/\$\{COLLAB_[A-Z_]+\}/.test(out), 'every placeholder filled');
    assert.match(out, /listen 8080;/);
    assert.match(out, /\$http_upgrade/, 'nginx variables are left alone');
    assert.throws(() => renderNginxTemplate(template, { COLLAB_LISTEN: '80' }), /no value for \$\{COLLAB_(BALANCE|UPSTREAM_SERVERS)\}/);
  });

  it('docker-compose.yml gives the nginx container every placeholder and mounts this template', () => {
    const compose = fs.readFileSync(path.resolve(path.dirname(NGINX_TEMPLATE), '..', 'docker-compose.yml'), 'utf8');
    const template = fs.readFileSync(NGINX_TEMPLATE, 'utf8');
    for (const name of new Set([...template.matchAll(/\$\{(COLLAB_[A-Z_]+)\}/g)].map((m) => m[1]!))) {
      assert.match(compose, new RegExp(`${name}:`), `docker-compose.yml sets ${name}`);
    }
    assert.match(compose, /deploy\/nginx\.conf\.template:\/etc\/nginx\/templates\/default\.conf\.template/);
  });
});

describe('topology: two server processes behind nginx, under faults', function () {
  const services = withServices(this);
  before(function () {
    if (findNginx()) return;
    const why = 'nginx is not installed (apt-get install -y nginx)';
    if (process.env['CI'] === 'true') throw new Error(`CI=true but ${why}`);
    console.log(`      skipped: ${why}`);
    this.skip();
  });

  let topology: Topology | undefined;
  const clients: CollabClient[] = [];
  afterEach(async function () {
    this.timeout(20_000);
    for (const c of clients.splice(0)) c.close();
    await topology?.stop();
    topology = undefined;
  });

  /** An owner and `n` editors in a fresh room, registered through nginx. */
  const room = (api: RemoteApi, n: number) => api.roomWithEditors(n);

  it('kill -9 of one node under load: its clients reconnect through nginx to the survivor, resubmit and converge; every op acknowledged before the kill is in the database (seeded)', async function () {
    this.timeout(90_000);
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    const rnd = new Random(seed);
    const { pg, redisUrl } = services();
    // Round robin: the room's clients are split over both nodes, so the kill hits half of them.
    topology = await Topology.start({ nodes: 2, databaseUrl: pg.url as string, redisUrl, balance: 'round-robin' });
    const lb = new RemoteApi(topology.url);
    const { roomId, users } = await room(lb, 5);
    const fileIds = [await lb.file(users[0]!, roomId, 'a.txt', 'alpha\n'), await lb.file(users[0]!, roomId, 'b.txt', 'beta\n')];
    for (const u of users) clients.push(await CollabClient.connect(topology.url, u.token));
    const docs: FileDoc[][] = [];
    for (const c of clients) {
      await c.joinRoom(roomId);
      docs.push([await c.openFile(roomId, fileIds[0]!), await c.openFile(roomId, fileIds[1]!)]);
    }
    const nodeApis = topology.nodes.map((n) => new RemoteApi(n.url));
    const spread = await Promise.all(nodeApis.map((a) => a.metric('collab_sockets')));
    console.log(`      sockets per node before the kill: ${spread.join('/')}`);
    assert.ok(spread.every((n) => n > 0), 'nginx spread the clients over both nodes');

    let ackedBeforeKill = new Map<string, number>();
    let killedAt = 0;
    let afterKill = 0;
    // Type until at least 40 ops are acknowledged, kill node 0 mid-storm, type 60 more rounds.
    for (let round = 0; afterKill < 60 && round < 2000; round++) {
      if (killedAt === 0 && ackedSoFar(docs.flat()).size >= 40) {
        // Everything acknowledged up to this instant must survive.
        ackedBeforeKill = ackedSoFar(docs.flat());
        killedAt = Date.now();
        await topology.kill(0, 'SIGKILL');
      }
      if (killedAt) afterKill++;
      for (let i = 0; i < clients.length; i++) randomEdit(rnd, rnd.pick(docs[i]!), 'abcdef'[i]!);
      await sleep(rnd.int(15));
    }
    assert.ok(killedAt > 0, 'the kill happened');
    const knex = pg.db.knex;
    for (let f = 0; f < fileIds.length; f++) {
      const fileDocs = docs.map((d) => d[f]!);
      const stored = await assertConverged(knex, fileDocs, fileIds[f]!, `file ${f} (seed ${seed})`);
      assert.equal(await assertGaplessLog(knex, fileIds[f]!), stored.version);
      await assertAllInLog(knex, fileIds[f]!, ackedBeforeKill, fileDocs, `file ${f} (seed ${seed})`);
      assert.equal(await assertAcksMatchLog(knex, fileIds[f]!, fileDocs, `file ${f}`), stored.version, 'every row acknowledged once');
    }
    const survivors = await nodeApis[1]!.metric('collab_sockets');
    console.log(`      ${ackedBeforeKill.size} acks before the kill; the storm went on and all converged ${Date.now() - killedAt} ms after the kill; node 1 now holds ${survivors} sockets`);
    assert.equal(survivors, clients.length, 'every client reconnected to the surviving node');
  });

  it('balancing by room (the shipped default): every participant of a room lands on the node its room hashes to, so its files are committed there and nothing is forwarded', async function () {
    this.timeout(60_000);
    const { pg, redisUrl } = services();
    // 32 sign-ups from this address, which nginx spreads over the nodes at random (REST requests
    // carry no room): above the default per-node sign-up limit (20 an hour) on one node by chance.
    topology = await Topology.start({ nodes: 2, databaseUrl: pg.url as string, redisUrl, nodeEnv: () => ({ REGISTRATIONS_PER_HOUR: '1000' }) });
    const lb = new RemoteApi(topology.url);
    const nodeApis = topology.nodes.map((n) => new RemoteApi(n.url));
    const socketsPerNode = () => Promise.all(nodeApis.map((a) => a.metric('collab_sockets')));
    const homes: number[] = [];
    for (let r = 0; r < 8; r++) {
      const { roomId, users } = await room(lb, 3);
      const fileId = await lb.file(users[0]!, roomId, 'a.txt', 'x');
      const before = await socketsPerNode();
      const docs: FileDoc[] = [];
      for (const u of users) {
        const client = await CollabClient.connect(topology.url, u.token, { affinity: roomId });
        clients.push(client);
        await client.joinRoom(roomId);
        docs.push(await client.openFile(roomId, fileId));
      }
      const added = (await socketsPerNode()).map((n, i) => n - before[i]!);
      assert.deepEqual([...added].sort(), [0, users.length], `room ${r}: all ${users.length} participants on one node (added per node: ${added.join('/')})`);
      homes.push(added.findIndex((n) => n > 0));
      docs.forEach((d, i) => d.type(0, String(i)));
      await Promise.all(docs.map((d) => d.synced(10_000, users.length)));
      assert.equal(new Set(docs.map((d) => d.text)).size, 1, `room ${r} converged`);
    }
    const forwarded = await Promise.all(nodeApis.map((a) => a.metric('collab_commits_forwarded_total')));
    console.log(`      rooms per node ${[0, 1].map((n) => homes.filter((h) => h === n).length).join('/')}; forwarded commits per node ${forwarded.join('/')}`);
    assert.deepEqual(forwarded, [0, 0], 'no commit crossed nodes');
  });

  it('a node crashing between commit and broadcast: the others repair the gap, and the submitter’s resend through nginx is acknowledged as a duplicate with the original version', async function () {
    this.timeout(60_000);
    const { pg, redisUrl } = services();
    const profiles = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-topology-prof-'));
    topology = await Topology.start({
      nodes: 2,
      databaseUrl: pg.url as string,
      redisUrl,
      // Node 0 dies right after its first durable commit, before acknowledging or broadcasting it.
      nodeEnv: (i): Record<string, string> => (i === 0 ? { COLLAB_FAULTS: '1', COLLAB_FAULT_CRASH_AFTER_COMMITS: '1' } : {}),
      // Node flags reach every node (the load tool profiles nodes this way): node 1, stopped
      // normally at the end, writes its CPU profile.
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`],
    });
    const [n0, n1] = topology.nodes as [Topology['nodes'][0], Topology['nodes'][0]];
    const api = new RemoteApi(n1.url);
    const { roomId, users } = await room(api, 2);
    const fileId = await api.file(users[0]!, roomId, 'crash.txt', 'hello\n');
    // The observers are on node 1: the crashed op can reach them only by fetching it.
    for (const u of users.slice(1)) clients.push(await CollabClient.connect(n1.url, u.token));
    const docs: FileDoc[] = [];
    for (const c of clients) {
      await c.joinRoom(roomId);
      docs.push(await c.openFile(roomId, fileId));
    }
    // The submitter talks straight to node 0.
    const cid = `crash-${Date.now()}`;
    const submitter = await rawSocket(n0.url, users[0]!.token, { reconnection: false });
    assertOk(await submitter.request('room:join', { roomId }));
    assertOk(await submitter.request('file:open', { roomId, fileId, clientId: cid }));
    const op = ['crash! ', 6];
    const lost = await submitter.request('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op }, 3000).then(
      (reply) => reply,
      () => 'no reply',
    );
    assert.equal(lost, 'no reply', 'the submit was never acknowledged');
    await waitUntil(() => n0.pid === undefined, 5000, 'node 0 crashed');
    const line = /COLLAB_FAULT crash-after-commit (\{.*\})/.exec(n0.output());
    assert.ok(line, 'node 0 reported the op it committed before dying');
    const crashed = JSON.parse(line[1]!) as { fileId: string; version: number; clientId: string; seq: number };
    assert.deepEqual({ ...crashed }, { fileId, version: 1, clientId: cid, seq: 1 });
    const row = await pg.db.knex('file_ops').where({ file_id: fileId, version: 1 }).first('client_id', 'seq');
    assert.deepEqual({ client: row.client_id, seq: Number(row.seq) }, { client: cid, seq: 1 }, 'the op is durable');
    assert.ok(docs.every((d) => d.state.version === 0), 'nobody heard of it (no broadcast)');

    // Others type: their ops are sequenced after the unseen one, so they see a gap and fetch it.
    docs[0]!.type(0, 'x');
    docs[1]!.type(0, 'y');
    const stored = await assertConverged(pg.db.knex, docs, fileId, 'after the crash');
    assert.ok(stored.text.includes('crash! '), stored.text);
    assert.ok(docs.some((d) => d.effects.some((e) => e.type === 'fetch' && e.from === 1)), 'the gap at version 1 was fetched');

    // The submitter comes back through nginx (node 0 is dead: it lands on node 1) and resends.
    submitter.socket.close();
    const again = await rawSocket(topology.url, users[0]!.token, { reconnection: false });
    assertOk(await again.request('room:join', { roomId }));
    assertOk(await again.request('file:open', { roomId, fileId, clientId: cid, knownVersion: 0 }));
    const resent = assertOk(await again.request('op:submit', { roomId, fileId, clientId: cid, seq: 1, baseVersion: 0, op }));
    assert.deepEqual({ version: resent['version'], duplicate: resent['duplicate'] }, { version: 1, duplicate: true });
    assert.equal(await assertGaplessLog(pg.db.knex, fileId), stored.version, 'nothing was committed twice');
    assert.equal(await new RemoteApi(n1.url).metric('collab_ops_duplicate_total'), 1);
    again.socket.close();
    const n1pid = n1.pid;
    await topology.stop();
    topology = undefined;
    // Profiles are named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main one.
    const written = fs.readdirSync(profiles);
    assert.ok(written.some((f) => f.includes(`.${n1pid}.0.`) && f.endsWith('.cpuprofile')), `node 1 (pid ${n1pid}) wrote its profile: ${written.join(', ')}`);
    fs.rmSync(profiles, { recursive: true, force: true });
  });
});
