/**
 * Hot file: N clients on one file, each keeping one op in flight as fast as acks allow (paced only
 * so as not to exceed the server's per-connection op rate, `opsPerSecond`), for T seconds.
 * Reports committed ops/s and latency percentiles. Each op inserts a letter at a random position,
 * or deletes one once the document is past its initial size plus 1,000, so the text stays small.
 */
import { latencyRows, printResult, resourceRows, type Rows } from '../report';
import type { RunEnv } from '../run-env';
import { round } from '../stats';
import { buildFleet, commonFields, initialText, runTag, sleep, withThreadLoops } from './common';

/** Parameters of one hot-file run. */
export interface HotFileOptions {
  readonly clients: number;
  readonly users: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly docSize: number;
  /** Most ops per second one client sends (stay under the server's `opsPerSecond`, 200). */
  readonly maxRatePerClient: number;
  readonly seed: number;
  /** Threads the clients run in (1: this thread, the original path). @default 1 */
  readonly threads?: number;
}

/** Runs one hot-file measurement; resolves with the result. */
export async function runHotFile(env: RunEnv, o: HotFileOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const threads = o.threads ?? 1;
  log(`hot-file: ${o.clients} clients on one file, one op in flight each (≤ ${o.maxRatePerClient}/s per client), ${o.warmupS} s warm-up + ${o.durationS} s, seed ${o.seed}${threads > 1 ? `, clients in ${threads} threads` : ''}`);
  const fleet = await buildFleet(
    { clients: o.clients, files: 1, filesPerRoom: 1, users: o.users, content: initialText(o.docSize), urls: env.socketUrls, apiUrl: env.servers.apiUrl, tag: runTag() },
    { kind: 'hot-file', docSize: o.docSize, maxRatePerClient: o.maxRatePerClient, seed: o.seed },
    threads,
    log,
  );
  const tracker = fleet.results;
  try {
    await fleet.startLoad();
    await sleep(o.warmupS * 1000);
    // The window opens first (it may wait ~1 s for PostgreSQL's statistics), then counting starts.
    const window = await env.window();
    await fleet.startMeasuring();
    await sleep(o.durationS * 1000);
    const stop = await fleet.stopLoad();
    const paced = stop.paced;
    const loops = withThreadLoops(await window.end(), stop);
    const w = loops.w;
    const conv = await fleet.converge();
    const disconnects = (await fleet.finish()).total;
    const c = (k: string): number => tracker.counts.counts.get(k) ?? 0;
    const incomplete = tracker.incomplete();
    const errors = tracker.errors.total + disconnects + incomplete;
    const committed = round(c('acked') / o.durationS, 1);
    const e2e = tracker.endToEnd.summary();
    const result: Record<string, unknown> = {
      scenario: 'hot-file',
      params: { clients: o.clients, users: Math.min(o.users, o.clients), durationS: o.durationS, warmupS: o.warmupS, docSize: o.docSize, maxRatePerClient: o.maxRatePerClient, threads, ...env.dbParams },
      throughput: { committedOpsPerSec: committed, pacedByRateLimit: paced },
      converged: conv.converged,
      ...(conv.converged ? { latencyMs: { endToEnd: e2e, ack: tracker.ack.summary() } } : { convergenceProblems: conv.problems }),
      errors: { total: errors, byCode: tracker.errors.toJSON(), disconnects, incomplete },
      counts: tracker.counts.toJSON(),
      pgCommitsPerAckedOp: w.postgres && c('acked') > 0 ? round(w.postgres.commits / c('acked'), 2) : null,
      setupSeconds: fleet.setupSeconds,
      settleSeconds: conv.settleSeconds,
      ...commonFields(env, w, o.seed),
      ...loops.fields,
    };
    const rows: Rows = [
      ['clients', `${o.clients} on one file, ${env.urls.length} node(s), ${env.servers.database}${threads > 1 ? `, ${threads} client threads` : ''}`],
      ['committed', `${committed} ops/s (${paced} sends held back by the per-connection rate)`],
      ...(conv.converged ? [...latencyRows('end-to-end', e2e), ...latencyRows('ack', tracker.ack.summary())] : ([['latency', 'NOT REPORTED: the run did not converge']] as Rows)),
      ['errors', `${errors} (${JSON.stringify(tracker.errors.toJSON())}, disconnects ${disconnects}, incomplete ${incomplete})`],
      ['converged', `${conv.converged ? 'yes' : 'NO'} (settled in ${conv.settleSeconds} s)`],
      ...resourceRows(w, env),
      ...loops.rows,
    ];
    printResult(`hot-file N=${o.clients}`, rows, result, log);
    return result;
  } finally {
    await fleet.close();
  }
}
