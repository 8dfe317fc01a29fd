/**
 * Idle: how many authenticated, joined idle sockets one node holds, and the server's memory per
 * socket. Sockets sign in as U users, join public rooms of S sockets each and open the room's
 * file (as an editor window would), then sit idle (Socket.IO pings only) for a while; the server's
 * RSS before and after gives the cost per socket. RSS as found includes whatever garbage V8 has
 * not yet collected (an idle process does not collect), so a spawned node is also read after
 * forced full GCs through its inspector: what the sockets themselves hold.
 */
import { Api, pool, type BenchUser } from '../api';
import { BenchClient } from '../bench-client';
import { readMemoryAroundGc, type GcReading } from '../inspector';
import { LatencyTracker } from '../latency';
import { latencyRows, printResult, resourceRows, type Rows } from '../report';
import type { RunEnv } from '../run-env';
import { Samples } from '../stats';
import { signUpUsers } from '../world';
import { commonFields, initialText, runTag, sleep } from './common';

/** Parameters of the idle scenario. */
export interface IdleOptions {
  readonly sockets: number;
  readonly users: number;
  readonly socketsPerRoom: number;
  /** Open the room's file on each socket. */
  readonly openFile: boolean;
  readonly holdS: number;
  readonly docSize: number;
  readonly concurrency: number;
  readonly seed: number;
}

/** Runs the scenario; resolves with the result. */
export async function runIdle(env: RunEnv, o: IdleOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const rooms = Math.ceil(o.sockets / o.socketsPerRoom);
  const users = Math.min(o.users, o.sockets);
  if (rooms / users > 100) throw new Error(`idle: ${rooms} rooms over ${users} owners exceeds 100 rooms per user; raise --users`);
  log(`idle: ${o.sockets} sockets as ${users} users, ${o.socketsPerRoom} per room (${rooms} rooms), file open: ${o.openFile}, hold ${o.holdS} s`);
  const api = new Api(env.servers.apiUrl);
  const list = await signUpUsers(api, runTag(), users);
  const content = initialText(o.docSize);
  const roomIds: string[] = [];
  const fileIds: string[] = [];
  await pool(rooms, 16, async (r) => {
    const owner = list[r % users] as BenchUser;
    roomIds[r] = await api.createRoom(owner.token, false, `idle ${r}`);
    fileIds[r] = await api.createFile(owner.token, roomIds[r] as string, 'README.md', content);
  });
  log(`  ${users} users, ${rooms} rooms ready`);
  await sleep(2000);
  const serverPid = env.servers.nodes[0]?.pid;
  const before = env.sampler.currentRss('server');
  const benchBefore = env.sampler.currentRss('bench');
  // Read after `before`: the forced GC lowers RSS, and the as-found figure compares as-found readings.
  const inspectorUrl = env.servers.nodes[0]?.inspectorUrl;
  const gcBefore = inspectorUrl ? await readMemoryAroundGc(inspectorUrl) : undefined;

  const window = await env.window();
  const tracker = new LatencyTracker();
  const clients: BenchClient[] = [];
  const connectMs = new Samples();
  const failures = new Map<string, number>();
  const t0 = performance.now();
  await pool(o.sockets, o.concurrency, async (i) => {
    const started = performance.now();
    try {
      const client = await BenchClient.connect(env.socketUrls[i % env.socketUrls.length] as string, (list[i % users] as BenchUser).token, i, 60_000);
      clients.push(client);
      const r = Math.floor(i / o.socketsPerRoom);
      await client.joinRoom(roomIds[r] as string);
      if (o.openFile) await client.openFile(roomIds[r] as string, fileIds[r] as string, tracker);
      connectMs.add(performance.now() - started);
    } catch (err) {
      const key = err instanceof Error ? err.message.slice(0, 80) : String(err);
      failures.set(key, (failures.get(key) ?? 0) + 1);
    }
    if (i > 0 && i % 1000 === 0) log(`  ${i} sockets…`);
  });
  const rampS = (performance.now() - t0) / 1000;
  log(`  ${connectMs.count} sockets joined in ${rampS.toFixed(1)} s; holding ${o.holdS} s`);
  await sleep(o.holdS * 1000);
  const after = env.sampler.currentRss('server');
  const benchAfter = env.sampler.currentRss('bench');
  const gcAfter = inspectorUrl ? await readMemoryAroundGc(inspectorUrl) : undefined;
  const live = clients.filter((c) => c.live).length;
  const disconnects = clients.reduce((n, c) => n + c.disconnects, 0);
  const w = await window.end();
  for (const c of clients) c.close();

  const perSocketKb = serverPid !== undefined && connectMs.count > 0 ? Math.round((after - before) / connectMs.count / 102.4) / 10 : null;
  const afterGc = gcBefore && gcAfter ? afterGcFigures(gcBefore, gcAfter, connectMs.count) : null;
  const result: Record<string, unknown> = {
    scenario: 'idle',
    params: { sockets: o.sockets, users, socketsPerRoom: o.socketsPerRoom, openFile: o.openFile, holdS: o.holdS, docSize: o.docSize, ...env.dbParams },
    joined: connectMs.count,
    liveAtEnd: live,
    failures: Object.fromEntries(failures),
    disconnects,
    rampSeconds: Math.round(rampS * 10) / 10,
    joinLatencyMs: connectMs.summary(),
    serverRssMb: { before: mb(before), after: mb(after) },
    serverKbPerSocket: perSocketKb,
    afterFullGc: afterGc,
    benchRssMb: { before: mb(benchBefore), after: mb(benchAfter) },
    ...commonFields(env, w, o.seed),
  };
  const rows: Rows = [
    ['sockets', `${connectMs.count} of ${o.sockets} joined${o.openFile ? ' with the file open' : ''} in ${rampS.toFixed(1)} s; ${live} live after ${o.holdS} s idle; ${disconnects} disconnects`],
    ...latencyRows('connect+join+open', connectMs.summary()),
    ['server RSS', serverPid !== undefined ? `${mb(before)} MB → ${mb(after)} MB: ${perSocketKb} KB per socket` : 'not measured (external server without --server-pid)'],
    [
      'after full GC',
      afterGc
        ? `RSS ${afterGc.rssMb.before} MB → ${afterGc.rssMb.after} MB: ${afterGc.rssKbPerSocket} KB per socket; live heap ${afterGc.heapUsedMb.before} MB → ${afterGc.heapUsedMb.after} MB: ${afterGc.heapKbPerSocket} KB per socket (as found before the GC: heap ${afterGc.heapUsedAsFoundMb} MB used)`
        : 'not measured (no inspector: an external server)',
    ],
    ['bench RSS', `${mb(benchBefore)} MB → ${mb(benchAfter)} MB`],
    ['failures', failures.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(failures))],
    ...resourceRows(w, env),
  ];
  printResult('idle', rows, result, log);
  return result;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** Memory per socket from readings after forced full GCs, before the sockets and after the hold. */
function afterGcFigures(before: GcReading, after: GcReading, sockets: number) {
  const perSocket = (a: number, b: number): number | null => (sockets > 0 ? Math.round((b - a) / sockets / 102.4) / 10 : null);
  return {
    rssMb: { before: mb(before.afterGc.rss), after: mb(after.afterGc.rss) },
    rssKbPerSocket: perSocket(before.afterGc.rss, after.afterGc.rss),
    heapUsedMb: { before: mb(before.afterGc.heapUsed), after: mb(after.afterGc.heapUsed) },
    heapKbPerSocket: perSocket(before.afterGc.heapUsed, after.afterGc.heapUsed),
    heapUsedAsFoundMb: mb(after.asFound.heapUsed),
  };
}
