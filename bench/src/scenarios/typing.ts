/**
 * Typing: C clients over F files (client i on file i mod F), each inserting one random letter at a
 * random position of its document R times a second, for a warm-up and then T measured seconds.
 * Reports end-to-end latency (submit → applied by every other client of the file), ops
 * acknowledged, errors, and whether everyone converged. With several server URLs (the two-node
 * scenario) the clients are placed on the nodes by room or spread (world.ts), after a probe that ops
 * cross between nodes.
 */
import { probeFanout } from '../fanout-probe';
import { latencyRows, printResult, resourceRows, type Rows } from '../report';
import type { RunEnv } from '../run-env';
import { round } from '../stats';
import type { Placement } from '../world';
import { buildFleet, commonFields, initialText, runTag, sleep, withThreadLoops } from './common';

/** Parameters of the typing scenario. */
export interface TypingOptions {
  readonly clients: number;
  readonly files: number;
  readonly filesPerRoom: number;
  readonly users: number;
  /** Keystrokes per second per client. */
  readonly rate: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly docSize: number;
  readonly seed: number;
  /** Name in the report ('typing' or 'two-nodes'). */
  readonly name: string;
  /** Threads the clients run in (1: this thread, the original path). @default 1 */
  readonly threads?: number;
  /** Each keystroke also sends the caret (`cursor:update`), as an editor does. @default false */
  readonly cursors?: boolean;
  /** Which node each client connects to, with several. @default 'room' */
  readonly placement?: Placement;
}

/** How the report names each placement. */
const PLACEMENT_LABEL: Readonly<Record<Placement, string>> = {
  room: 'clients placed by room',
  spread: "clients spread (a file's clients alternate nodes)",
};

/** Runs the scenario; resolves with the result (converged or not). */
export async function runTyping(env: RunEnv, o: TypingOptions, log: (line: string) => void): Promise<Record<string, unknown>> {
  const threads = o.threads ?? 1;
  const placement = o.placement ?? 'room';
  log(`${o.name}: ${o.clients} clients × ${o.rate}/s over ${o.files} files (${o.filesPerRoom} per room, ${Math.min(o.users, o.clients)} users), ${o.warmupS} s warm-up + ${o.durationS} s, seed ${o.seed}${threads > 1 ? `, clients in ${threads} threads` : ''}`);
  const fleet = await buildFleet(
    { clients: o.clients, files: o.files, filesPerRoom: o.filesPerRoom, users: o.users, content: initialText(o.docSize), urls: env.socketUrls, apiUrl: env.servers.apiUrl, tag: runTag(), placement },
    { kind: 'typing', rate: o.rate, seed: o.seed, ...(o.cursors ? { cursors: true } : {}) },
    threads,
    log,
  );
  const tracker = fleet.results;
  try {
    if (env.socketUrls.length > 1) await probeFanout(env.socketUrls, fleet.setup);
    await fleet.startLoad();
    await sleep(o.warmupS * 1000);
    // The window opens first (it may wait ~1 s for PostgreSQL's statistics): counting starts only
    // once it is open, so that counts and CPU seconds cover the same `durationS`.
    const window = await env.window();
    await fleet.startMeasuring();
    await sleep(o.durationS * 1000);
    const stop = await fleet.stopLoad();
    const loops = withThreadLoops(await window.end(), stop);
    const w = loops.w;
    const missed = stop.missed;
    log('  typing stopped; checking convergence');
    const conv = await fleet.converge();
    const disconnects = (await fleet.finish()).inWindow;
    const incomplete = tracker.incomplete();
    const c = (k: string): number => tracker.counts.counts.get(k) ?? 0;
    const errors = tracker.errors.total + disconnects + incomplete;
    const perSec = (n: number): number => round(n / o.durationS, 1);
    const e2e = tracker.endToEnd.summary();
    const result: Record<string, unknown> = {
      scenario: o.name,
      params: { clients: o.clients, files: o.files, filesPerRoom: o.filesPerRoom, users: Math.min(o.users, o.clients), rate: o.rate, durationS: o.durationS, warmupS: o.warmupS, docSize: o.docSize, threads, cursors: o.cursors === true, ...(env.urls.length > 1 ? { placement, viaBalancer: env.socketUrls.length === 1 } : {}), ...env.dbParams },
      throughput: {
        offeredKeystrokesPerSec: o.clients * o.rate,
        typedPerSec: perSec(c('typed')),
        submitsAckedPerSec: perSec(c('acked')),
        keystrokesAckedPerSec: perSec(c('keystrokesAcked')),
        keystrokesMissedByBench: missed,
      },
      converged: conv.converged,
      ...(conv.converged
        ? { latencyMs: { endToEnd: e2e, typedToApplied: tracker.typedToApplied.summary(), ack: tracker.ack.summary() } }
        : { convergenceProblems: conv.problems }),
      errors: { total: errors, byCode: tracker.errors.toJSON(), disconnects, incomplete },
      counts: tracker.counts.toJSON(),
      pgCommitsPerAckedOp: w.postgres && c('acked') > 0 ? round(w.postgres.commits / c('acked'), 2) : null,
      setupSeconds: fleet.setupSeconds,
      settleSeconds: conv.settleSeconds,
      ...commonFields(env, w, o.seed),
      ...loops.fields,
    };
    const rows: Rows = [
      ['clients × rate', `${o.clients} × ${o.rate}/s over ${o.files} files${o.cursors ? ', a cursor update with every keystroke' : ''}, ${env.urls.length} node(s)${env.urls.length > 1 ? `, ${PLACEMENT_LABEL[placement]}${env.socketUrls.length === 1 ? ' (by nginx)' : ''}` : ''}, ${env.servers.database}${threads > 1 ? `, ${threads} client threads` : ''}`],
      ['offered', `${o.clients * o.rate} keystrokes/s (bench missed ${missed})`],
      ['acknowledged', `${perSec(c('acked'))} submits/s, ${perSec(c('keystrokesAcked'))} keystrokes/s`],
      ...(conv.converged
        ? [...latencyRows('end-to-end', e2e), ...latencyRows('typed→applied', tracker.typedToApplied.summary()), ...latencyRows('ack', tracker.ack.summary())]
        : ([['latency', 'NOT REPORTED: the run did not converge']] as Rows)),
      ['errors', `${errors} (${JSON.stringify(tracker.errors.toJSON())}, disconnects ${disconnects}, incomplete ${incomplete})`],
      ['converged', `${conv.converged ? 'yes' : 'NO'} (${conv.clients} clients, ${conv.files} files, settled in ${conv.settleSeconds} s)`],
      ...resourceRows(w, env),
      ...loops.rows,
    ];
    printResult(o.name, rows, result, log);
    return result;
  } finally {
    await fleet.close();
  }
}
