/**
 * What a node publishes to the other nodes (`FileBroadcasts`), over a recording relay: a file's
 * broadcasts only while another node announced readers of it, node messages and announcements
 * always, and the ops left out just before a node's first reader announced sent after all; then
 * on two real nodes over PostgreSQL and Redis.
 */
import { strict as assert } from 'node:assert';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { Cluster } from '../test-support/cluster';
import { withServices } from '../test-support/convergence';
import { assertOk, openRaw, sleep, waitUntil } from '../test-support/sockets';
import type { TestUser } from '../test-support/test-app';
import { FileBroadcasts, type BroadcastRelay } from './file-broadcasts';
import { decodeOpsMessage, type RelayedBroadcast } from './redis-fanout';

class RecordingRelay implements BroadcastRelay {
  readonly nodeId = 'self';
  readonly published: RelayedBroadcast[][] = [];
  private listener: ((b: RelayedBroadcast[]) => void) | undefined;
  private ready: (() => void) | undefined;
  publishBroadcasts(broadcasts: readonly RelayedBroadcast[]): void {
    this.published.push([...broadcasts]);
  }
  onBroadcasts(listener: (b: RelayedBroadcast[]) => void): void {
    this.listener = listener;
  }
  onSubscriberReady(listener: () => void): void {
    this.ready = listener;
  }
  /** Another node's message arriving. */
  deliver(broadcasts: RelayedBroadcast[]): void {
    this.listener?.(broadcasts);
  }
  restored(): void {
    this.ready?.();
  }
  /** Everything published since the last call, flattened. */
  take(): RelayedBroadcast[] {
    return this.published.splice(0).flat();
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const wire = (fileId: string, version: number) => ({ fileId, version, op: ['x'], clientId: 'c', seq: version, author: 'u', at: 0 });
const announce = (node: string, kind: string, files: string[]): RelayedBroadcast => ({ room: 'interest', event: kind, payload: { node, files } });

describe('file broadcasts: what crosses to the other nodes', () => {
  let t = 0;
  let io: Server;
  let relay: RecordingRelay;
  let broadcasts: FileBroadcasts;
  beforeEach(() => {
    t = 1000;
    io = new Server();
    relay = new RecordingRelay();
    broadcasts = new FileBroadcasts(io, relay, { announceMs: 40, ttlMs: 500, graceMs: 100 }, () => t);
  });
  afterEach(() => {
    broadcasts.close();
    void io.close();
  });

  it('within the grace everything goes; after it, a file’s ops only while another node announced readers of it; node messages always', async () => {
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 1)] });
    await turn();
    assert.deepEqual(relay.take().map((b) => b.room), ['file:f'], 'grace: published');
    t += 100;
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 2)] });
    broadcasts.cursor({ fileId: 'f', userId: 'u', username: 'u', color: '#000', selections: [] } as never, 'sock');
    broadcasts.toNode('other', 'forward', { x: 1 });
    await turn();
    assert.deepEqual(relay.take().map((b) => b.room), ['node:other'], 'nobody reads f elsewhere: only the node message');
    relay.deliver([announce('n2', 'on', ['f'])]);
    await turn();
    relay.take();
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 3)] });
    broadcasts.ops({ fileId: 'g', ops: [wire('g', 1)] });
    await turn();
    assert.deepEqual(relay.take().map((b) => `${b.room} ${(b.payload as { ops: { version: number }[] }).ops[0]!.version}`), ['file:f 3'], 'f is wanted, g is not');
    relay.deliver([announce('n2', 'off', ['f'])]);
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 4)] });
    await turn();
    assert.deepEqual(relay.take(), []);
  });

  it('a node’s first reader of a file gets the ops left out in the last moments (the race with its snapshot); older ones are not kept', async () => {
    t += 100;
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 1)] });
    await turn();
    t += 2500; // v1 is too old to matter
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 2)] });
    await turn();
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 3)] });
    await turn();
    assert.deepEqual(relay.take(), [], 'left out');
    relay.deliver([announce('n2', 'on', ['f'])]);
    await turn();
    assert.deepEqual(relay.take().map((b) => (b.payload as { ops: { version: number }[] }).ops[0]!.version), [2, 3], 'sent on the announcement');
    // At most the newest 8 per file are kept.
    for (let v = 1; v <= 12; v++) broadcasts.ops({ fileId: 'g', ops: [wire('g', v)] });
    await turn();
    relay.deliver([announce('n3', 'on', ['g'])]);
    await turn();
    assert.deepEqual(relay.take().map((b) => (b.payload as { ops: { version: number }[] }).ops[0]!.version), [5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('announces its own readers: on with a file’s first local reader, off with its last, the whole list on the timer; after a restored subscription, everything goes again', async () => {
    const adapter = io.of('/').adapter;
    adapter.addAll('s1', new Set(['s1', 'file:f', 'room:r']));
    adapter.addAll('s2', new Set(['file:f']));
    await turn();
    assert.deepEqual(relay.take(), [announce('self', 'on', ['f'])]);
    adapter.delAll('s1');
    await turn();
    assert.deepEqual(relay.take(), [], 'f still has a reader');
    adapter.addAll('s3', new Set(['file:g']));
    adapter.delAll('s2');
    await turn();
    assert.deepEqual(relay.take(), [announce('self', 'on', ['g']), announce('self', 'off', ['f'])]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(relay.take(), [announce('self', 'all', ['g'])], 'the timer');
    t += 100;
    broadcasts.ops({ fileId: 'h', ops: [wire('h', 1)] });
    await turn();
    assert.deepEqual(relay.take(), []);
    relay.restored();
    broadcasts.ops({ fileId: 'h', ops: [wire('h', 2)] });
    await turn();
    assert.deepEqual(relay.take().map((b) => b.room), ['interest', 'file:h'], 'the list again, and h published while it may not know');
  });

  it('ignores malformed announcements', async () => {
    t += 100;
    relay.deliver([
      { room: 'interest', event: 'on', payload: { node: 'n2', files: [1] } },
      { room: 'interest', event: 'bogus', payload: { node: 'n2', files: ['f'] } },
      { room: 'interest', event: 'on', payload: null },
    ]);
    broadcasts.ops({ fileId: 'f', ops: [wire('f', 1)] });
    await turn();
    assert.deepEqual(relay.take(), []);
  });
});

describe('file broadcasts on two real nodes: a file read on one node stays off Redis', function () {
  const services = withServices(this);
  let cluster: Cluster | undefined;
  let spy: Redis | undefined;
  afterEach(async () => {
    spy?.disconnect();
    await cluster?.stop();
    cluster = undefined;
  });

  it('ops of a file read on one node cross no node; a reader opening it on the other node gets every op from then on, and its leaving stops them again', async function () {
    this.timeout(30_000);
    const timing = { announceMs: 100, ttlMs: 1000, graceMs: 300 };
    cluster = await Cluster.start(services().pg, services().redisUrl, [{ fileInterest: timing }, { fileInterest: timing }]);
    // What crosses Redis: every item of every per-turn message on the ops channel.
    const crossed: RelayedBroadcast[] = [];
    spy = new Redis(services().redisUrl);
    await spy.subscribe(`${cluster.prefix}-ops`);
    spy.on('messageBuffer', (_channel: Buffer, message: Buffer) => void crossed.push(...(decodeOpsMessage(message) as RelayedBroadcast[])));
    const { roomId, users } = await cluster.node(0).roomWithEditors(1);
    const [owner, editor] = users as [TestUser, TestUser];
    const fileId = await cluster.node(0).file(owner, roomId, 'local.txt', 'abc');
    const a = await openRaw(cluster.node(0).url, owner.token, roomId, fileId);
    await sleep(timing.graceMs + 2 * timing.announceMs);
    const ofFile = () => crossed.filter((b) => b.room === `file:${fileId}`).length;
    const submit = (seq: number, baseVersion: number) => a.request('op:submit', { roomId, fileId, clientId: a.clientId, seq, baseVersion, op: ['x', 3 + baseVersion] }, 10_000);
    assertOk(await submit(1, 0));
    assertOk(await submit(2, 1));
    await sleep(50);
    assert.equal(ofFile(), 0, 'read on node 0 only: nothing crossed');
    // A reader on node 1; the owner types on at once, racing its announcement.
    const b = await openRaw(cluster.node(1).url, editor.token, roomId, fileId);
    for (let seq = 3; seq <= 6; seq++) assertOk(await submit(seq, seq - 1));
    await waitUntil(() => (b.events('op').some((op: { version: number }) => op.version === 6) ? true : undefined), 5000, 'the last op at node 1');
    const seen = new Set<number>([...b.events('op').map((op: { version: number }) => op.version)]);
    for (let v = (b.opened['version'] as number) + 1; v <= 6; v++) assert.ok(seen.has(v), `node 1's reader got v${v} as a broadcast (opened at v${b.opened['version']})`);
    assert.ok(ofFile() > 0, 'now the file’s ops cross');
    b.close();
    await sleep(2 * timing.announceMs);
    const before = ofFile();
    assertOk(await submit(7, 6));
    await sleep(50);
    assert.equal(ofFile(), before, 'the reader left: nothing crosses again');
    a.close();
  });
});
