/**
 * Join storm: N clients (each a different user by default) connect, join one public room and open
 * its file, all starting within `spread` seconds; measures the time until every one has the
 * snapshot, and each one's connect → snapshot latency. Ends with the convergence check (every
 * snapshot equal to the server's text).
 */
import { Api, pool, type BenchUser } from '../api';
import { BenchClient } from '../bench-client';
import type { BenchDoc } from '../bench-doc';
import { checkConvergence } from '../convergence';
import { LatencyTracker } from '../latency';
import { latencyRows, printResult, resourceRows, type Rows } from '../report';
import { Rng } from '../rng';
import type { RunEnv } from '../run-env';
import { Samples } from '../stats';
import { signUpUsers } from '../world';
import { commonFields, initialText, runTag, sleep } from './common';

/** Parameters of the join storm. */
export interface JoinStormOptions {
  readonly clients: number;
  readonly users: number;
  readonly spreadS: number;
  readonly docSize: number;
  readonly seed: number;
}

/** Runs the scenario; resolves with the result. */
export async function runJoinStorm(env: RunEnv, o: JoinStormOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const users = Math.min(o.users, o.clients);
  log(`join-storm: ${o.clients} clients (${users} users) join one room within ${o.spreadS} s, file of ${o.docSize} chars, seed ${o.seed}`);
  const api = new Api(env.servers.apiUrl);
  const tag = runTag();
  const owner = await api.register(`${tag}owner`);
  const list = await signUpUsers(api, tag, users);
  const roomId = await api.createRoom(owner.token, false, 'join storm');
  const fileId = await api.createFile(owner.token, roomId, 'main.ts', initialText(o.docSize));
  log(`  ${users} users signed up; storm starts`);
  await sleep(1000);

  const tracker = new LatencyTracker();
  const rng = new Rng(o.seed);
  const total = new Samples();
  const joinOnly = new Samples();
  const clients: BenchClient[] = [];
  const docs: BenchDoc[] = [];
  const failures = new Map<string, number>();
  const window = await env.window();
  const t0 = performance.now();
  let last = t0;
  await pool(o.clients, o.clients, async (i) => {
    await sleep(Math.max(0, t0 + ((i + rng.next()) / o.clients) * o.spreadS * 1000 - performance.now()));
    const started = performance.now();
    try {
      const client = await BenchClient.connect(env.socketUrls[i % env.socketUrls.length] as string, (list[i % users] as BenchUser).token, i, 60_000);
      clients.push(client);
      const joinStart = performance.now();
      await client.joinRoom(roomId);
      docs.push(await client.openFile(roomId, fileId, tracker));
      const now = performance.now();
      joinOnly.add(now - joinStart);
      total.add(now - started);
      last = Math.max(last, now);
    } catch (err) {
      const key = err instanceof Error ? err.message.slice(0, 80) : String(err);
      failures.set(key, (failures.get(key) ?? 0) + 1);
    }
  });
  const allS = (last - t0) / 1000;
  const w = await window.end();
  const conv = await checkConvergence(docs, 30_000);
  for (const c of clients) c.close();
  const ok = failures.size === 0 && conv.converged && docs.length === o.clients;
  const result: Record<string, unknown> = {
    scenario: 'join-storm',
    params: { clients: o.clients, users, spreadS: o.spreadS, docSize: o.docSize, ...env.dbParams },
    joined: docs.length,
    secondsUntilAllHaveSnapshot: Math.round(allS * 100) / 100,
    converged: conv.converged,
    ...(conv.converged ? { latencyMs: { connectToSnapshot: total.summary(), joinToSnapshot: joinOnly.summary() } } : { convergenceProblems: conv.problems }),
    failures: Object.fromEntries(failures),
    ...commonFields(env, w, o.seed),
  };
  const rows: Rows = [
    ['clients', `${docs.length} of ${o.clients} have the snapshot; storm spread over ${o.spreadS} s`],
    ['all have snapshot', `${allS.toFixed(2)} s after the first started`],
    ...(conv.converged
      ? [...latencyRows('connect→snapshot', total.summary()), ...latencyRows('join→snapshot', joinOnly.summary())]
      : ([['latency', 'NOT REPORTED: snapshots did not match the server']] as Rows)),
    ['failures', failures.size === 0 ? 'none' : JSON.stringify(Object.fromEntries(failures))],
    ...resourceRows(w, env),
  ];
  result['complete'] = ok;
  printResult('join-storm', rows, result, log);
  return result;
}
