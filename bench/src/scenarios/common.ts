/** Helpers shared by the scenarios: sleeping, a run tag, the common result fields. */
import { randomBytes } from 'node:crypto';
import type { RunEnv, WindowFigures } from '../run-env';

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
    cpuSeconds: { ...w.cpu.groups, other: w.cpu.otherSeconds, machineBusy: w.cpu.machineBusySeconds, wall: w.cpu.wallSeconds },
    peakRssMb: w.peakRssMb,
    postgres: w.postgres,
    benchEventLoopMs: w.benchEventLoopMs,
    loadAvg: { before: env.loadAvgBefore, after: w.loadAvgEnd },
    provisional: env.provisional(w),
    // The floor the disk puts under the latencies (PostgreSQL runs), probed before the window.
    diskFsyncMs: env.disk.stats,
    ...(env.disk.stats ? {} : { diskFsyncNotMeasured: env.disk.reason }),
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
