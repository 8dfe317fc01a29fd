/**
 * The load tool must not rot: a short typing run (4 clients, 2 files, 2 s) against a server it
 * spawns on PGlite converges and produces every figure; a run whose clients are made to diverge is
 * refused; the percentile and profile helpers compute what they claim; the fdatasync probe measures
 * and cleans up; the CLI refuses a diagnostic flag it cannot honour.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkConvergence, judge, type ClientCheck } from './convergence';
import { parseBlockStat, summariseBlockReadings, type TimedCounters } from './block-device';
import { FsyncWatch, fsyncStats, probeFsync, probePostgresDisk } from './disk-probe';
import { counterDeltas, parseCounters, parseHistograms, SERVER_COUNTERS, SERVER_HISTOGRAMS, tailShare } from './server-metrics';
import { walDelta } from './wal-stats';
import { summariseProfile } from './profile';
import { chooseSeed, Rng } from './rng';
import { RunEnv } from './run-env';
import { nodeTuningEnv } from './servers';
import { runIdle } from './scenarios/idle';
import { runTyping } from './scenarios/typing';
import { Samples } from './stats';
import { BenchClient } from './bench-client';
import { LatencyTracker } from './latency';
import { LatencyMerge } from './thread-merge';
import { buildWorld } from './world';

describe('bench: load tool', function () {
  this.timeout(60_000);
  const seed = chooseSeed();
  let env: RunEnv;
  const quiet = (): void => {};

  before(async () => {
    env = await RunEnv.start({ urls: [], nodes: 1, db: 'pglite', pgAdminUrl: '', redisUrl: '' }, quiet);
  });
  after(async () => {
    await env?.stop();
  });

  it(`bench typing run converges and reports latency, throughput and server CPU (seed ${seed})`, async () => {
    const lines: string[] = [];
    const result = await runTyping(env, { name: 'typing', clients: 4, files: 2, filesPerRoom: 2, users: 4, rate: 5, durationS: 2, warmupS: 0.5, docSize: 200, seed }, (l) => lines.push(l));
    assert.equal(result['converged'], true, JSON.stringify(result['convergenceProblems']));
    const latency = result['latencyMs'] as { endToEnd: { n: number; p50: number; p99: number; max: number } };
    // 4 clients × 5/s × 2 s = 40 keystrokes; every one is applied by the other client of its file.
    assert.ok(latency.endToEnd.n >= 30, `only ${latency.endToEnd.n} latency samples`);
    assert.ok(latency.endToEnd.p50 > 0 && latency.endToEnd.p50 <= latency.endToEnd.p99 && latency.endToEnd.p99 <= latency.endToEnd.max);
    const throughput = result['throughput'] as { submitsAckedPerSec: number; keystrokesAckedPerSec: number };
    assert.ok(throughput.keystrokesAckedPerSec >= 15 && throughput.keystrokesAckedPerSec <= 25, `acked ${throughput.keystrokesAckedPerSec}/s, offered 20/s`);
    assert.equal((result['errors'] as { total: number }).total, 0);
    const cpu = result['cpuSeconds'] as Record<string, number>;
    assert.ok(cpu['server']! > 0, 'server CPU was sampled');
    assert.ok((result['peakRssMb'] as Record<string, number>)['server']! > 10, 'server RSS was sampled');
    // The servers' own histograms over the window: one op sample per submission the server acked in it.
    const tail = result['serverTail'] as { op: { n: number; overMs: Record<string, number> } };
    const acked = (result['counts'] as Record<string, number>)['acked']!;
    assert.ok(Math.abs(tail.op.n - acked) <= 8, `server counted ${tail.op.n} ops in the window, the clients ${acked} acks`);
    assert.deepEqual(Object.keys(tail.op.overMs), ['5', '10', '20', '50']);
    // PGlite: no PostgreSQL disk to watch, and the report says so.
    assert.match((result['fsyncInWindowMs'] as { notMeasured: string }).notMeasured, /not a PostgreSQL run/);
  });

  it(`bench typing run with --threads 2 converges with one latency sample per acked submission (seed ${seed})`, async () => {
    // 6 clients over 3 files: client i in thread i mod 2 and on file i mod 3, so both clients of
    // every file live in different threads and every sample is merged across threads.
    const result = await runTyping(env, { name: 'typing', clients: 6, files: 3, filesPerRoom: 3, users: 6, rate: 5, durationS: 2, warmupS: 0.5, docSize: 200, seed, threads: 2 }, quiet);
    assert.equal(result['converged'], true, JSON.stringify(result['convergenceProblems']));
    assert.equal((result['params'] as { threads: number }).threads, 2);
    const latency = result['latencyMs'] as { endToEnd: { n: number; p50: number; p99: number; max: number }; ack: { n: number } };
    const counts = result['counts'] as Record<string, number>;
    // 6 clients × 5/s × 2 s = 60 keystrokes; each submission has one other client, in the other thread.
    assert.ok(latency.endToEnd.n >= 40, `only ${latency.endToEnd.n} latency samples`);
    assert.equal(latency.endToEnd.n, counts['acked'], 'one end-to-end sample per acked submission');
    assert.equal(latency.ack.n, counts['acked']);
    assert.ok(latency.endToEnd.p50 > 0 && latency.endToEnd.p50 <= latency.endToEnd.p99 && latency.endToEnd.p99 <= latency.endToEnd.max);
    assert.equal((result['errors'] as { total: number }).total, 0);
    const loops = result['benchEventLoopByThreadMs'] as { clientThreads: unknown[] };
    assert.equal(loops.clientThreads.length, 2);
  });

  it('bench cross-thread latency merge completes a sample at the last receiver, in any thread and order', () => {
    const m = new LatencyMerge();
    m.addSubscribers('f', 1); // thread 0: the submitter
    m.addSubscribers('f', 2); // thread 1: two receivers
    m.addSubscribers('g', 1);
    const sub = (version: number, measured: boolean) => ({ fileId: 'f', version, sentAt: 1000, typedAt: 990, keystrokes: 2, measured });
    // One receiver of thread 1 applied version 7 before the submitter's ack was reported: not a sample yet.
    m.add({ submissions: [], applies: [{ fileId: 'f', version: 7, count: 1, lastAt: 1040 }], acks: [] });
    m.add({ submissions: [sub(7, true)], applies: [], acks: [12] });
    assert.equal(m.endToEnd.count, 0);
    assert.equal(m.incomplete(), 1);
    // The last receiver (an earlier apply time, a later batch): max(apply) − submit.
    m.add({ submissions: [], applies: [{ fileId: 'f', version: 7, count: 1, lastAt: 1025 }], acks: [] });
    assert.deepEqual(m.endToEnd.summary(), { n: 1, p50: 40, p95: 40, p99: 40, max: 40, mean: 40 });
    assert.equal(m.typedToApplied.summary()?.max, 50);
    assert.equal(m.ack.summary()?.max, 12);
    assert.equal(m.incomplete(), 0);
    // A warm-up submission completes without a sample; a file with no other client is not tracked.
    m.add({ submissions: [sub(8, false), { ...sub(1, true), fileId: 'g' }], applies: [{ fileId: 'f', version: 8, count: 2, lastAt: 1100 }], acks: [] });
    assert.equal(m.endToEnd.count, 1);
    assert.equal(m.incomplete(), 0);
  });

  it('bench latency tracker samples an op when every other client has applied its version', () => {
    const t = new LatencyTracker();
    for (let i = 0; i < 3; i++) t.addSubscriber('f'); // the submitter A, and B and C
    t.startMeasuring();
    assert.equal(t.submitted(1), true);
    t.applied('f', 3, 5, -1, 110); // B applies versions 4 and 5
    t.applied('f', 3, 5, 5, 105); // A passes 4, and 5 is its own op: not an apply by another client
    t.acked('f', 5, 108, { sentAt: 100, typedAt: 95, keystrokes: 1, measured: true });
    assert.equal(t.endToEnd.count, 0, 'C has not applied version 5 yet');
    assert.equal(t.incomplete(), 1);
    t.applied('f', 4, 6, -1, 130); // C applies 5 and 6
    assert.deepEqual(t.endToEnd.summary(), { n: 1, p50: 30, p95: 30, p99: 30, max: 30, mean: 30 });
    assert.equal(t.typedToApplied.summary()?.max, 35);
    assert.equal(t.ack.summary()?.max, 8);
    assert.equal(t.incomplete(), 0);
    t.submitted(2);
    assert.equal(t.incomplete(), 1, 'a measured submission without an ack is incomplete');
  });

  it('bench convergence judge compares clients across threads by text hash', () => {
    const c = (textHash: string, version = 3): ClientCheck => ({ fileId: 'f', version, pending: false, stateDiffers: false, verdict: { head: 3, match: true }, textHash });
    const mismatched: string[] = [];
    assert.deepEqual(judge([c('x'), c('x')], mismatched), []);
    assert.match(judge([c('x'), c('y')], mismatched).join(';'), /clients hold different texts/);
    assert.match(judge([c('x'), { ...c('x'), pending: true }], mismatched).join(';'), /pending/);
    judge([c('x'), { ...c('x'), verdict: { head: 3, match: false } }], mismatched);
    assert.match(mismatched.join(';'), /diverged/);
  });

  it('bench convergence check refuses clients whose texts differ from the server', async () => {
    const tracker = new LatencyTracker();
    const world = await buildWorld({ clients: 2, files: 1, filesPerRoom: 1, users: 2, content: 'hello\n', urls: env.urls, tag: `t${seed % 100000}` }, tracker, () => {});
    try {
      const doc = world.docs[0]!;
      assert.equal((await checkConvergence(world.docs, 5000)).converged, true, 'an untouched world converges');
      // Corrupt one client's document behind the state machine's back: the check must notice.
      const original = doc.text;
      doc.text = 'tampered';
      const local = await checkConvergence(world.docs, 1000);
      assert.equal(local.converged, false);
      doc.text = original;
      // Corrupt its copy of the server's text too: file:verify reports a mismatch and FileSync
      // repairs it by a resync, but the run still diverged and must not count as converged.
      doc.state = { ...doc.state, serverText: 'tampered' };
      doc.text = 'tampered';
      const repaired = await checkConvergence(world.docs, 5000);
      assert.equal(repaired.converged, false);
      assert.ok(repaired.problems.some((p) => p.includes('diverged')), repaired.problems.join('; '));
    } finally {
      for (const c of world.clients as BenchClient[]) c.close();
    }
  });

  it('bench percentiles use nearest rank', () => {
    const s = new Samples();
    for (let i = 1; i <= 100; i++) s.add(i);
    assert.deepEqual(s.summary(), { n: 100, p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
    assert.equal(new Samples().summary(), null);
  });

  it('bench profile summary attributes self time to functions and packages', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-prof-'));
    const file = path.join(dir, 'x.cpuprofile');
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });
    writeFileSync(
      file,
      JSON.stringify({
        nodes: [
          { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
          { id: 2, callFrame: frame('commit', 'file:///x/backend/dist/domain/file-sessions.js'), children: [3] },
          { id: 3, callFrame: frame('query', 'file:///x/node_modules/pg/lib/client.js') },
          { id: 4, callFrame: frame('(idle)', '') },
        ],
        startTime: 0,
        endTime: 4000,
        samples: [2, 3, 3, 4],
        timeDeltas: [1000, 1000, 1000, 1000],
      }),
    );
    const s = summariseProfile(file);
    assert.equal(s.busyMs, 3);
    assert.deepEqual(s.places.map((p) => [p.name, p.selfMs]), [['pg', 2], ['@collab/backend', 1]]);
    const commit = s.inclusive.find((e) => e.name.startsWith('commit'));
    assert.equal(commit?.totalMs, 3);
  });
});

describe('bench: idle scenario', function () {
  this.timeout(60_000);
  let env: RunEnv;
  before(async () => {
    env = await RunEnv.start({ urls: [], nodes: 1, db: 'pglite', pgAdminUrl: '', redisUrl: '', inspect: true }, () => {});
  });
  after(async () => {
    await env?.stop();
  });

  it('bench idle run joins every socket and reads memory as found and after a full GC', async () => {
    const result = await runIdle(env, { sockets: 40, users: 4, socketsPerRoom: 10, openFile: true, holdS: 0.5, docSize: 200, concurrency: 10, seed: 1 }, () => {});
    assert.equal(result['joined'], 40);
    assert.equal(result['liveAtEnd'], 40);
    assert.equal(typeof result['serverKbPerSocket'], 'number');
    const gc = result['afterFullGc'] as { rssKbPerSocket: number; heapKbPerSocket: number; heapUsedMb: { before: number; after: number } };
    assert.ok(gc, 'a spawned node is read through its inspector');
    // 40 joined sockets with a file open hold something: the live heap grows.
    assert.ok(gc.heapUsedMb.after > 0 && gc.heapKbPerSocket > 0, JSON.stringify(gc));
  });
});

describe('bench: disk probe and --synchronous-commit', function () {
  this.timeout(10_000);

  it('bench fsync stats: nearest-rank percentiles and stalls strictly above 20 ms per second', () => {
    // 97 fast writes, one at exactly 20 ms (not a stall) and two stalls, over 2 s.
    const lat = [...Array.from({ length: 97 }, (_, i) => (i + 1) / 10), 20, 25, 300];
    const s = fsyncStats(lat, 2, '/x');
    assert.equal(s.samples, 100);
    assert.equal(s.p50, 5);
    assert.equal(s.p99, 25);
    assert.equal(s.max, 300);
    assert.equal(s.stalls, 2);
    assert.equal(s.stallsPerSec, 1);
    assert.equal(fsyncStats([], 1, '/x').samples, 0);
  });

  it('bench fsync probe writes at its rate in a temporary file and removes it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-fsync-'));
    const s = await probeFsync(dir, { rateHz: 100, durationMs: 300 });
    assert.ok(s.samples >= 5 && s.samples <= 40, `${s.samples} samples in 0.3 s at 100/s`);
    assert.ok(s.p50 > 0 && s.p50 <= s.p99 && s.p99 <= s.max, JSON.stringify(s));
    assert.ok(s.probeSeconds >= 0.3 && s.probeSeconds < 2, `probe took ${s.probeSeconds} s`);
    assert.deepEqual(readdirSync(dir), [], 'the probe file is deleted');
  });

  it('bench fsync watch times writes in a worker thread during a window and removes its file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-fsync-watch-'));
    const watch = await FsyncWatch.start(dir, 50);
    // The main thread is blocked meanwhile: the watch goes on in its own thread.
    const until = performance.now() + 300;
    while (performance.now() < until) {
      /* busy */
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const s = await watch.stop();
    assert.ok(s.samples >= 10 && s.samples <= 40, `${s.samples} writes in 0.5 s at 50/s`);
    assert.ok(s.p50 > 0 && s.p50 <= s.max, JSON.stringify(s));
    assert.deepEqual(readdirSync(dir), [], 'the watch file is deleted');
  });

  it('bench server tail: bucket deltas summed over nodes give the share above each threshold', () => {
    const exposition = (n: number, over10: number): string =>
      [
        '# TYPE collab_op_latency_seconds histogram',
        ...[0.005, 0.01, 0.02, 0.05].map((le) => `collab_op_latency_seconds_bucket{le="${le}"} ${le <= 0.01 ? n - over10 : n}`),
        `collab_op_latency_seconds_bucket{le="+Inf"} ${n}`,
        'collab_other_bucket{le="0.01"} 99',
      ].join('\n');
    const from = parseHistograms(exposition(100, 0), SERVER_HISTOGRAMS);
    // Two nodes at the end: 300 + 200 samples, of which 10 + 5 new ones above 10 ms.
    const to = parseHistograms(exposition(300, 10), SERVER_HISTOGRAMS);
    for (const [bound, n] of parseHistograms(exposition(200, 5), SERVER_HISTOGRAMS).get('collab_op_latency_seconds')!) {
      to.get('collab_op_latency_seconds')!.set(bound, to.get('collab_op_latency_seconds')!.get(bound)! + n);
    }
    const share = tailShare(from.get('collab_op_latency_seconds'), to.get('collab_op_latency_seconds'));
    assert.deepEqual(share, { n: 400, overMs: { '5': 3.75, '10': 3.75, '20': 0, '50': 0 } });
    assert.equal(parseHistograms(exposition(1, 0), SERVER_HISTOGRAMS).has('collab_other'), false);
    assert.equal(tailShare(undefined, undefined), null);
  });

  it('bench commit path: counters by label set, and their increase over the window', () => {
    const text = [
      '# TYPE collab_commit_groups_total counter',
      'collab_commit_groups_total{round_trips="1"} 40',
      'collab_commit_groups_total{round_trips="2"} 7',
      'collab_commit_mispredictions_total 3',
      'collab_commit_group_files_bucket{le="1"} 5',
    ].join('\n');
    const from = parseCounters(text, SERVER_COUNTERS);
    assert.deepEqual([...from], [
      ['collab_commit_groups_total{round_trips="1"}', 40],
      ['collab_commit_groups_total{round_trips="2"}', 7],
      ['collab_commit_mispredictions_total', 3],
    ]);
    const to = parseCounters(text.replace('} 40', '} 140').replace('total 3', 'total 4') + '\ncollab_commit_conflicts_total 2', SERVER_COUNTERS);
    assert.deepEqual(counterDeltas(from, to), {
      'collab_commit_conflicts_total': 2,
      'collab_commit_groups_total{round_trips="1"}': 100,
      'collab_commit_groups_total{round_trips="2"}': 0,
      'collab_commit_mispredictions_total': 1,
    });
  });

  it('bench block device figures: rates, mean write time and the worst interval', () => {
    assert.deepEqual(parseBlockStat('   58123    10636  2143978   106456   834519    45643 11347624   111403        0   101440   235759    16600       39  1036344     1295   331663    16604'), {
      writes: 834519,
      writeMs: 111403,
      flushes: 331663,
      flushMs: 16604,
    });
    const r = (at: number, writes: number, writeMs: number, flushes: number): TimedCounters => ({ at, writes, writeMs, flushes, flushMs: 0 });
    // 1 s in two intervals: 100 writes at 0.1 ms, then 100 writes of which one stalled 150 ms.
    const f = summariseBlockReadings('254:0', [r(0, 0, 0, 0), r(500, 100, 10, 40), r(1000, 200, 170, 80)], 500);
    assert.deepEqual(f, { device: '254:0', writesPerSec: 200, flushesPerSec: 80, writeMsMean: 0.85, worstIntervalWriteMs: 1.6, slowIntervals: 1, intervals: 2, intervalMs: 500 });
    assert.equal(summariseBlockReadings('x', [r(0, 0, 0, 0)], 500), null);
  });

  it('bench WAL figures: syncs per second, and times only when PostgreSQL tracks them', () => {
    const w = (syncs: number, syncMs: number, timed: boolean) => ({ records: 0, bytes: syncs * 1000, writes: syncs, syncs, writeMs: 0, syncMs, timed });
    assert.deepEqual(walDelta(w(100, 50, true), w(1100, 550, true), 2), { syncs: 1000, syncsPerSec: 500, bytesPerSec: 500000, syncMsMean: 0.5, syncSeconds: 0.5, timed: true, scope: 'cluster' });
    const untimed = walDelta(w(100, 0, false), w(1100, 0, false), 2);
    assert.equal(untimed.syncMsMean, null);
    assert.equal(untimed.syncSeconds, null);
  });

  it('bench disk probe reports why instead of failing when PostgreSQL is unreachable', async () => {
    const r = await probePostgresDisk('postgres://postgres@127.0.0.1:1/postgres', { durationMs: 100 });
    assert.equal(r.stats, null);
    assert.match(r.stats === null ? r.reason : '', /SHOW data_directory failed/);
  });

  for (const [transport, servers, workUs] of [
    ['ws', 1, 0],
    ['socket.io', 2, 0],
    ['ws', 1, 2000],
  ] as const) {
    const work = workUs > 0 ? `, ${workUs} µs of CPU burnt per message` : '';
    it(`bench floor on ${transport}, ${servers} server process(es)${work}: every message acked and forwarded, and the report counts them`, function () {
      this.timeout(30_000);
      // 12 clients over 4 files at 10/s for 1 s: 120 messages, each read by the 2 others of its file.
      const floor = path.resolve(__dirname, 'floor.js');
      const args = ['--clients', '12', '--files', '4', '--rate', '10', '--duration', '1', '--warmup', '0.3', '--seed', '7', '--transport', transport, '--servers', String(servers), '--work-us', String(workUs)];
      const r = spawnSync(process.execPath, [floor, ...args], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, r.stderr);
      const line = r.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      assert.ok(line, r.stdout);
      const result = JSON.parse(line.slice('BENCH_RESULT '.length)) as {
        params: { transport: string; servers: number; workUs: number };
        ackedPerSec: number;
        latencyMs: { endToEnd: { n: number }; ack: { n: number } };
        cpuSeconds: { server: number };
      };
      assert.deepEqual([result.params.transport, result.params.servers, result.params.workUs], [transport, servers, workUs]);
      assert.ok(result.ackedPerSec >= 90 && result.ackedPerSec <= 130, `acked ${result.ackedPerSec}/s, offered 120/s`);
      assert.ok(Math.abs(result.latencyMs.endToEnd.n - result.latencyMs.ack.n) <= 12, JSON.stringify(result.latencyMs));
      assert.ok(result.cpuSeconds.server > 0, 'the server process(es) were sampled');
      // ~120 messages in the 1 s window, each burning workUs of the server's CPU.
      if (workUs > 0) assert.ok(result.cpuSeconds.server >= (100 * workUs) / 1e6, `server CPU ${result.cpuSeconds.server} s for ~120 messages × ${workUs} µs`);
    });
  }

  it('bench floor refuses an unknown transport, a third server and work out of range', () => {
    const floor = path.resolve(__dirname, 'floor.js');
    for (const [extra, message] of [
      [['--transport', 'tcp'], /--transport must be ws or socket.io/],
      [['--servers', '3'], /--servers must be 1 or 2/],
      [['--work-us', '-5'], /--work-us must be a non-negative number/],
      [['--work-us', '20000'], /--work-us must be between 0 and 10000/],
    ] as const) {
      const r = spawnSync(process.execPath, [floor, '--clients', '2', '--files', '1', ...extra], { encoding: 'utf8', timeout: 10_000 });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
    }
  });

  it('bench seeds replay: a seed gives the stream it gave when the figures in docs/benchmarks.md were measured', () => {
    // Pinned values: the generator is shared with the protocol's simulations now, and a change to
    // it would silently change what every published seed types.
    const rng = new Rng(42);
    assert.deepEqual([rng.next(), rng.int(100)], [0.6011037519201636, 44]);
    assert.equal(rng.fork(3).next(), 0.42689076461829245);
    assert.equal(new Rng(42).fork(3).next() === rng.fork(3).next(), false, 'a fork depends on the draws before it');
  });

  it('bench passes the tuning it was given to spawned nodes, and a sign-up limit for hundreds of users', () => {
    assert.deepEqual(nodeTuningEnv({ COMMIT_CONCURRENCY: '1', DATABASE_POOL_MAX: '', PATH: '/bin', NODE_OPTIONS: '--max-semi-space-size=64' }), {
      REGISTRATIONS_PER_HOUR: '1000000',
      COMMIT_CONCURRENCY: '1',
      NODE_OPTIONS: '--max-semi-space-size=64',
    });
    assert.equal(nodeTuningEnv({ REGISTRATIONS_PER_HOUR: '5' })['REGISTRATIONS_PER_HOUR'], '5');
  });

  it('bench CLI refuses --synchronous-commit off with --db pglite or --url (exit 2)', () => {
    const cli = path.resolve(__dirname, 'cli.js');
    for (const extra of [['--db', 'pglite'], ['--url', 'http://127.0.0.1:1']]) {
      const r = spawnSync(process.execPath, [cli, 'typing', ...extra, '--synchronous-commit', 'off'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--synchronous-commit off needs/);
      assert.doesNotMatch(r.stdout, /servers:/, 'nothing was started');
    }
  });
});
