/**
 * Hot file: N clients on one file, each keeping one op in flight as fast as acks allow (paced only
 * so as not to exceed the server's per-connection op rate, `opsPerSecond`), for T seconds.
 * Reports committed ops/s and latency percentiles. Each op inserts a letter at a random position,
 * or deletes one once the document is past its initial size plus 1,000, so the text stays small.
 */
import { checkConvergence } from '../convergence';
import { LatencyTracker } from '../latency';
import { latencyRows, printResult, resourceRows, type Rows } from '../report';
import { Rng } from '../rng';
import type { RunEnv } from '../run-env';
import { round } from '../stats';
import { buildWorld } from '../world';
import { commonFields, initialText, runTag, sleep } from './common';

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
}

/** Runs one hot-file measurement; resolves with the result. */
export async function runHotFile(env: RunEnv, o: HotFileOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const tracker = new LatencyTracker();
  log(`hot-file: ${o.clients} clients on one file, one op in flight each (≤ ${o.maxRatePerClient}/s per client), ${o.warmupS} s warm-up + ${o.durationS} s, seed ${o.seed}`);
  const world = await buildWorld(
    { clients: o.clients, files: 1, filesPerRoom: 1, users: o.users, content: initialText(o.docSize), urls: env.socketUrls, apiUrl: env.servers.apiUrl, tag: runTag() },
    tracker,
    log,
  );
  const rng = new Rng(o.seed);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const minGap = 1000 / o.maxRatePerClient;
  let stopped = false;
  let paced = 0;
  try {
    world.docs.forEach((doc, i) => {
      const r = rng.fork(i);
      let lastSent = 0;
      const typeOne = (): void => {
        if (stopped) return;
        const wait = lastSent + minGap - performance.now();
        if (wait > 0) {
          paced++;
          setTimeout(typeOne, wait);
          return;
        }
        lastSent = performance.now();
        if (doc.text.length > o.docSize + 1000) doc.type(r.int(doc.text.length), '', 1);
        else doc.type(r.int(doc.text.length + 1), letters[r.int(26)] as string);
      };
      doc.onAcked = typeOne;
      typeOne();
    });
    await sleep(o.warmupS * 1000);
    // The window opens first (it may wait ~1 s for PostgreSQL's statistics), then counting starts.
    const window = await env.window();
    tracker.startMeasuring();
    paced = 0;
    await sleep(o.durationS * 1000);
    stopped = true;
    tracker.stopMeasuring();
    const w = await window.end();
    const conv = await checkConvergence(world.docs);
    const c = (k: string): number => tracker.counts.counts.get(k) ?? 0;
    const disconnects = world.clients.reduce((n, cl) => n + cl.disconnects, 0);
    const incomplete = tracker.incomplete();
    const errors = tracker.errors.total + disconnects + incomplete;
    const committed = round(c('acked') / o.durationS, 1);
    const e2e = tracker.endToEnd.summary();
    const result: Record<string, unknown> = {
      scenario: 'hot-file',
      params: { clients: o.clients, users: Math.min(o.users, o.clients), durationS: o.durationS, warmupS: o.warmupS, docSize: o.docSize, maxRatePerClient: o.maxRatePerClient, ...env.dbParams },
      throughput: { committedOpsPerSec: committed, pacedByRateLimit: paced },
      converged: conv.converged,
      ...(conv.converged ? { latencyMs: { endToEnd: e2e, ack: tracker.ack.summary() } } : { convergenceProblems: conv.problems }),
      errors: { total: errors, byCode: tracker.errors.toJSON(), disconnects, incomplete },
      counts: tracker.counts.toJSON(),
      pgCommitsPerAckedOp: w.postgres && c('acked') > 0 ? round(w.postgres.commits / c('acked'), 2) : null,
      setupSeconds: world.setupSeconds,
      settleSeconds: conv.settleSeconds,
      ...commonFields(env, w, o.seed),
    };
    const rows: Rows = [
      ['clients', `${o.clients} on one file, ${env.urls.length} node(s), ${env.servers.database}`],
      ['committed', `${committed} ops/s (${paced} sends held back by the per-connection rate)`],
      ...(conv.converged ? [...latencyRows('end-to-end', e2e), ...latencyRows('ack', tracker.ack.summary())] : ([['latency', 'NOT REPORTED: the run did not converge']] as Rows)),
      ['errors', `${errors} (${JSON.stringify(tracker.errors.toJSON())}, disconnects ${disconnects}, incomplete ${incomplete})`],
      ['converged', `${conv.converged ? 'yes' : 'NO'} (settled in ${conv.settleSeconds} s)`],
      ...resourceRows(w, env),
    ];
    printResult(`hot-file N=${o.clients}`, rows, result, log);
    return result;
  } finally {
    stopped = true;
    for (const client of world.clients) client.close();
  }
}
