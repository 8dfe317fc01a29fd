/** Helpers shared by the scenarios: sleeping, a run tag, the common result fields, the fleet of clients. */
import { randomBytes } from 'node:crypto';
import { ThreadFleet } from '../client-threads';
import { LocalFleet, type Fleet, type StopFigures } from '../fleet';
import { worstLoop } from '../loop-delay';
import type { Rows } from '../report';
import type { RunEnv, WindowFigures } from '../run-env';
import type { WorldSpec } from '../world';
import type { LoadSpec } from './load';

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short random tag, unique per run, used in usernames. */
export function runTag(): string {
  return `b${randomBytes(4).toString('hex')}`;
}

/** The fields every result carries: machine, servers, resources, load, contention. */
export function commonFields(env: RunEnv, w: WindowFigures, seed: number): Record<string, unknown> {
  return {
    seed,
    machine: env.machine(),
    servers: { nodes: env.urls.length, database: env.servers.database, spawned: env.servers.nodes.some((n) => n.pid !== undefined), balancer: env.servers.apiUrl !== env.urls[0] ? 'nginx' : 'none' },
    build: env.build,
    cpuSeconds: { ...w.cpu.groups, other: w.cpu.otherSeconds, steal: w.cpu.stealSeconds, machineBusy: w.cpu.machineBusySeconds, wall: w.cpu.wallSeconds },
    peakRssMb: w.peakRssMb,
    postgres: w.postgres,
    benchEventLoopMs: w.benchEventLoopMs,
    loadAvg: { before: env.loadAvgBefore, after: w.loadAvgEnd },
    provisional: env.provisional(w),
    // The floor the disk puts under the latencies (PostgreSQL runs), probed before the window.
    diskFsyncMs: env.disk.stats,
    ...(env.disk.stats ? {} : { diskFsyncNotMeasured: env.disk.reason }),
    // Where the tail lives, over the window itself: the servers' histograms, WAL flushes, the disk.
    serverTail: w.serverTail,
    commitPath: w.commitPath,
    wal: w.wal,
    diskInWindow: w.disk,
    fsyncInWindowMs: w.fsyncWatch,
    ...(env.diagnostic ? { diagnostic: true } : {}),
  };
}

/** A random initial text of `n` characters: lines of lowercase words. */
export function initialText(n: number): string {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'const', 'return', 'value', 'index', 'client', 'server'];
  let s = '';
  let i = 0;
  while (s.length < n) {
    s += words[i % words.length] as string;
    s += i % 8 === 7 ? '\n' : ' ';
    i++;
  }
  return s.slice(0, n);
}

/** The clients of `spec`: in this thread for `threads` ≤ 1 (the original path), else in worker threads. */
export async function buildFleet(spec: WorldSpec, load: LoadSpec, threads: number, log: (line: string) => void): Promise<Fleet> {
  return threads > 1 ? ThreadFleet.build(spec, load, threads, log) : LocalFleet.build(spec, load, log);
}

/**
 * With client threads, the event loop that delays the measured latencies is theirs: the window's
 * `benchEventLoopMs` becomes the worst client thread's (each percentile the max over threads), and
 * every thread's figures (main included) go into `benchEventLoopByThreadMs` and one more table row.
 */
export function withThreadLoops(w: WindowFigures, stop: StopFigures): { w: WindowFigures; fields: Record<string, unknown>; rows: Rows } {
  if (stop.loops.length === 0) return { w, fields: {}, rows: [] };
  const fmt = (l: { p50: number; p99: number; max: number }): string => `p50 ${l.p50} p99 ${l.p99} max ${l.max}`;
  return {
    w: { ...w, benchEventLoopMs: worstLoop(stop.loops) },
    fields: { benchEventLoopByThreadMs: { main: w.benchEventLoopMs, clientThreads: stop.loops } },
    rows: [['bench loop/thread', `(event loop above = worst client thread) main ${fmt(w.benchEventLoopMs)}; ${stop.loops.map((l, i) => `t${i} ${fmt(l)}`).join('; ')} ms`]],
  };
}
