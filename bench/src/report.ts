/**
 * Output of a scenario: a human-readable table, then one line `BENCH_RESULT {json}` that scripts
 * can pick up. A run that did not converge reports no latency (and the CLI exits non-zero).
 */
import { SLOW_INTERVAL_MS } from './block-device';
import { STALL_MS } from './disk-probe';
import type { TailShare } from './server-metrics';
import type { Percentiles } from './stats';
import type { RunEnv, WindowFigures } from './run-env';

/** The prefix of the machine-readable line. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

/** Printed at the top of every table of a synchronous_commit=off run. */
export const DIAGNOSTIC_LINE = 'DIAGNOSTIC: synchronous_commit=off — acks are NOT durable; not a target figure';

/** Rows of the human table: [label, value]. */
export type Rows = [string, string | number][];

/** Prints the table and the JSON line. */
export function printResult(title: string, rows: Rows, result: Record<string, unknown>, out: (line: string) => void = console.log): void {
  const width = Math.max(...rows.map(([k]) => k.length), 10);
  out('');
  out(`== ${title} ==`);
  // First, so that nobody copies figures out of the table without seeing it.
  if (result['diagnostic'] === true) out(`  ${DIAGNOSTIC_LINE}`);
  for (const [k, v] of rows) out(`  ${k.padEnd(width)}  ${typeof v === 'number' ? formatNumber(v) : v}`);
  out(RESULT_PREFIX + JSON.stringify(result));
}

/** Table rows for latency percentiles. */
export function latencyRows(label: string, p: Percentiles | null): Rows {
  if (!p) return [[label, 'no samples']];
  return [[label, `p50 ${p.p50}  p95 ${p.p95}  p99 ${p.p99}  max ${p.max} ms  (n=${p.n})`]];
}

/** The table row of the disk probe. */
export function diskRow(env: Pick<RunEnv, 'disk'>): Rows {
  const d = env.disk;
  if (!d.stats) return [['disk fsync', `not measured (${d.reason})`]];
  const s = d.stats;
  return [['disk fsync', `p50 ${s.p50}  p99 ${s.p99}  max ${s.max} ms, ${s.stallsPerSec} stalls >20 ms/s (${s.probeSeconds} s probe before the run, ${s.samples} samples, ${s.dir})`]];
}

/** Table rows for the resources of a window, the disk probe and the run's caveats. */
export function resourceRows(w: WindowFigures, env: RunEnv): Rows {
  const loadBefore = env.loadAvgBefore;
  const contended = env.contended(w);
  const cpu = Object.entries(w.cpu.groups).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  const rss = Object.entries(w.peakRssMb).filter(([k]) => k !== 'postgresShared').map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    ['CPU seconds', `${cpu}; other processes ${w.cpu.otherSeconds.toFixed(2)}, of which steal ${w.cpu.stealSeconds.toFixed(2)} (over ${w.cpu.wallSeconds} s wall, ${w.cpu.cores} cores)`],
    ['peak RSS (MB)', rss],
    ...(w.postgres
      ? ([['PostgreSQL', `${w.postgres.commits} commits, ${w.postgres.rollbacks} rollbacks, ${w.postgres.rowsInserted} rows inserted, ${w.postgres.rowsUpdated} updated, ${w.postgres.rowsFetched} fetched`]] as Rows)
      : []),
    ['bench event loop', `p50 ${w.benchEventLoopMs.p50}  p99 ${w.benchEventLoopMs.p99}  max ${w.benchEventLoopMs.max} ms`],
    ['load average', `before ${loadBefore.join(' ')}, after ${w.loadAvgEnd.join(' ')}${contended ? '  (PROVISIONAL: contended)' : ''}`],
    ...diskRow(env),
    ...windowDiskRows(w),
    ...(env.diagnostic ? ([['DIAGNOSTIC', 'synchronous_commit=off — acks are NOT durable; not a target figure (PROVISIONAL)']] as Rows) : []),
  ];
}

/**
 * Rows that say where a window's tail lives: the servers' share (their own histograms), the WAL
 * flushes PostgreSQL did, and the disk under it during the window.
 */
export function windowDiskRows(w: Pick<WindowFigures, 'serverTail' | 'commitPath' | 'wal' | 'disk' | 'fsyncWatch'>): Rows {
  const rows: Rows = [];
  if ('notMeasured' in w.fsyncWatch) {
    rows.push(['fsync in window', `not measured (${w.fsyncWatch.notMeasured})`]);
  } else {
    const f = w.fsyncWatch;
    rows.push(['fsync in window', `p50 ${f.p50}  p99 ${f.p99}  max ${f.max} ms, ${f.stalls} stalls >${STALL_MS} ms (${f.stallsPerSec}/s; ${f.samples} writes over ${f.probeSeconds} s)`]);
  }
  const share = (t: TailShare | null): string => (t ? Object.entries(t.overMs).map(([ms, pct]) => `>${ms} ms ${pct}%`).join(', ') : 'n/a');
  if (w.serverTail) {
    rows.push(['server tail', `op ${share(w.serverTail.op)}; commit ${share(w.serverTail.commit)} (n=${w.serverTail.op?.n ?? 0}, the servers' histograms)`]);
  }
  if (w.commitPath) {
    const c = w.commitPath;
    const n = (key: string): number => c[key] ?? 0;
    rows.push([
      'commit path',
      `groups in 1 round trip ${n('collab_commit_groups_total{round_trips="1"}')}, in 2 ${n('collab_commit_groups_total{round_trips="2"}')}; mispredicted ${n('collab_commit_mispredictions_total')}; commits that found other nodes' ops or lost a race ${n('collab_commit_conflicts_total')}; forwarded to the file's node ${n('collab_commits_forwarded_total{end="answered"}')} (redirected ${n('collab_commits_forwarded_total{end="redirected"}')}, timed out ${n('collab_commits_forwarded_total{end="timed_out"}')})`,
    ]);
  }
  if (w.wal) {
    const times = w.wal.timed ? `${w.wal.syncMsMean} ms per sync, ${w.wal.syncSeconds} s syncing` : 'times not tracked (track_wal_io_timing off)';
    rows.push(['WAL (cluster)', `${w.wal.syncs} syncs (${w.wal.syncsPerSec}/s), ${(w.wal.bytesPerSec / 1e6).toFixed(2)} MB/s; ${times}`]);
  }
  if ('notMeasured' in w.disk) {
    rows.push(['disk in window', `not watched (${w.disk.notMeasured})`]);
  } else {
    const d = w.disk;
    rows.push(['disk in window', `${d.device}: ${d.writesPerSec} writes/s, ${d.flushesPerSec} flushes/s, ${d.writeMsMean} ms per write; worst ${d.intervalMs / 1000} s: ${d.worstIntervalWriteMs} ms per write; ${d.slowIntervals} of ${d.intervals} intervals > ${SLOW_INTERVAL_MS} ms`]);
  }
  return rows;
}

function formatNumber(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2);
}
