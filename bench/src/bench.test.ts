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
import { fsyncStats, probeFsync, probePostgresDisk } from './disk-probe';
import { summariseProfile } from './profile';
import { chooseSeed } from './rng';
import { RunEnv } from './run-env';
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

  it('bench disk probe reports why instead of failing when PostgreSQL is unreachable', async () => {
    const r = await probePostgresDisk('postgres://postgres@127.0.0.1:1/postgres', { durationMs: 100 });
    assert.equal(r.stats, null);
    assert.match(r.stats === null ? r.reason : '', /SHOW data_directory failed/);
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
