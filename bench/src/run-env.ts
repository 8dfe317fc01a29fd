/**
 * What every scenario runs in: the servers (spawned or given), a sampler of their CPU and memory
 * (and of PostgreSQL's backends for the run's database, Redis, and this process), measurement
 * windows, and the machine's state (cores, load average, other people's CPU use).
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { buildInfo, type BuildInfo } from './build-info';
import { childrenOf, findPids, ProcSampler, type CpuMark, type CpuUsage } from './proc';
import { Client } from 'pg';
import { probePostgresDisk, type DiskProbeResult, type ProbeOptions } from './disk-probe';
import { existingServers, spawnServers, type DbKind, type Servers, type SynchronousCommit } from './servers';

/** The pids and their direct children (nginx's master forks the workers that do the work), rescanned every 2 s. */
function withChildren(parents: readonly number[]): () => number[] {
  let cached: number[] = [...parents];
  let scannedAt = 0;
  return () => {
    if (performance.now() - scannedAt > 2000) {
      cached = [...parents, ...childrenOf(parents)];
      scannedAt = performance.now();
    }
    return cached;
  };
}

/** The event-loop monitor's sampling interval (ms); its readings include it, so it is subtracted. */
const LOOP_RESOLUTION_MS = 2;

/** Options shared by every scenario. */
export interface EnvOptions {
  /** Existing servers; when empty, nodes are spawned. */
  readonly urls: readonly string[];
  readonly nodes: number;
  readonly db: DbKind;
  readonly pgAdminUrl: string;
  readonly redisUrl: string;
  readonly profileDir?: string;
  /** Pid of an external server to sample (with `urls`). */
  readonly serverPid?: number;
  /** Connect sockets through the load balancer instead of straight to the nodes in turn. */
  readonly viaBalancer?: boolean;
  /** synchronous_commit of a spawned scratch PostgreSQL database ('off': diagnostic run). @default 'on' */
  readonly synchronousCommit?: SynchronousCommit;
  /** Pacing of the fdatasync probe run before the scenario (PostgreSQL runs), or false to skip it. */
  readonly diskProbe?: ProbeOptions | false;
}

/** Figures of one measurement window. */
export interface WindowFigures {
  readonly cpu: CpuUsage;
  /** Peak RSS (MB) per group during the window. */
  readonly peakRssMb: Record<string, number>;
  /** Event-loop delay of the bench process (ms): its own lateness shows up in the latencies. */
  readonly benchEventLoopMs: { p50: number; p99: number; max: number };
  readonly loadAvgEnd: number[];
  /** PostgreSQL's counters for the run's database over the window (scratch databases only). */
  readonly postgres: PgCounters | null;
}

/** Counters of `pg_stat_database` for one database. */
export interface PgCounters {
  readonly commits: number;
  readonly rollbacks: number;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsFetched: number;
}

/** A measurement window in progress. */
export interface Window {
  end(): Promise<WindowFigures>;
}

/** The environment of a run. */
export class RunEnv {
  readonly loadAvgBefore: number[];
  readonly cores = cpus().length;
  private readonly loop: IntervalHistogram;

  private constructor(
    readonly servers: Servers,
    readonly sampler: ProcSampler,
    readonly build: BuildInfo,
    private readonly viaBalancer: boolean,
    private readonly pgAdminUrl: string,
    /** fdatasync latency of PostgreSQL's filesystem, probed before the scenario (or why not). */
    readonly disk: DiskProbeResult,
    /** synchronous_commit of the scratch PostgreSQL database; undefined when the run has none. */
    readonly synchronousCommit: SynchronousCommit | undefined,
  ) {
    this.loadAvgBefore = loadavg().map((x) => Math.round(x * 100) / 100);
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
  }

  /** Spawns or attaches to the servers and starts sampling. */
  static async start(options: EnvOptions, log: (line: string) => void): Promise<RunEnv> {
    const loadBefore = loadavg();
    log(`load average before start: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} (${cpus().length} cores)`);
    const build = buildInfo();
    log(`backend build: commit ${build.commit}${build.dirty ? ' + uncommitted changes' : ''}, dist ${build.distHash}`);
    const servers =
      options.urls.length > 0
        ? existingServers(options.urls, options.serverPid)
        : await spawnServers({
            db: options.db,
            nodes: options.nodes,
            pgAdminUrl: options.pgAdminUrl,
            redisUrl: options.redisUrl,
            synchronousCommit: options.synchronousCommit ?? 'on',
            ...(options.profileDir ? { profileDir: options.profileDir } : {}),
          });
    log(`servers: ${servers.nodes.map((n) => `${n.url}${n.pid ? ` (pid ${n.pid})` : ''}`).join(', ')} on ${servers.database}`);
    const disk = await RunEnv.probeDisk(options, servers, log);
    const serverPids = servers.nodes.map((n) => n.pid).filter((p): p is number => p !== undefined);
    const groups = [
      { name: 'server', pids: () => serverPids },
      ...(servers.extraPids.length > 0 ? [{ name: 'nginx', pids: withChildren(servers.extraPids) }] : []),
      { name: 'bench', pids: () => [process.pid] },
    ];
    const scratch = servers.scratchDb;
    if (scratch) {
      // PostgreSQL backends serving the run's database (the command line names it), rescanned at every sample.
      let cached: number[] = [];
      let scannedAt = 0;
      groups.push({
        name: 'postgres',
        pids: () => {
          if (performance.now() - scannedAt > 2000) {
            cached = findPids(['postgres: ', ` ${scratch} `]);
            scannedAt = performance.now();
          }
          return cached;
        },
      });
      const shared = findPids(['postgres: ', 'walwriter']).concat(findPids(['postgres: ', 'checkpointer']), findPids(['postgres: ', 'background writer']));
      groups.push({ name: 'postgresShared', pids: () => shared });
    }
    if (servers.nodes.length > 1) {
      const redis = findPids(['redis-server']);
      groups.push({ name: 'redis', pids: () => redis });
    }
    const sampler = new ProcSampler(groups, 500);
    sampler.start();
    const synchronousCommit = servers.scratchDb ? (options.synchronousCommit ?? 'on') : undefined;
    return new RunEnv(servers, sampler, build, options.viaBalancer ?? false, options.pgAdminUrl, disk, synchronousCommit);
  }

  /**
   * Probes fdatasync on PostgreSQL's filesystem while the servers are up but idle: before the
   * measured window, so the probe's writes do not load the figures it explains.
   */
  private static async probeDisk(options: EnvOptions, servers: Servers, log: (line: string) => void): Promise<DiskProbeResult> {
    const onPostgres = servers.scratchDb !== undefined || (options.urls.length > 0 && options.pgAdminUrl !== '');
    if (options.diskProbe === false) return { stats: null, reason: 'probe disabled' };
    if (!onPostgres) return { stats: null, reason: 'not a PostgreSQL run' };
    log('disk: probing fdatasync latency on PostgreSQL\'s filesystem');
    const disk = await probePostgresDisk(options.pgAdminUrl, options.diskProbe ?? {});
    if (!disk.stats) log(`disk: not measured (${disk.reason})`);
    return disk;
  }

  /** True for the synchronous_commit=off diagnostic run: its acks are not durable, its figures are no target. */
  get diagnostic(): boolean {
    return this.synchronousCommit === 'off';
  }

  /** Database settings that belong in every result's params (PostgreSQL scratch databases only). */
  get dbParams(): Record<string, unknown> {
    return this.synchronousCommit ? { synchronousCommit: this.synchronousCommit } : {};
  }

  /** The server nodes' URLs. */
  get urls(): string[] {
    return this.servers.nodes.map((n) => n.url);
  }

  /** Where sockets connect: the nodes in turn (so clients of one file span nodes), or the balancer. */
  get socketUrls(): string[] {
    return this.viaBalancer ? [this.servers.apiUrl] : this.urls;
  }

  /** Starts a measurement window (CPU marks, peaks, PostgreSQL counters and the event-loop histogram reset). */
  async window(): Promise<Window> {
    const pgFrom = await this.pgCounters();
    const from: CpuMark = this.sampler.mark();
    this.sampler.resetPeaks();
    this.loop.reset();
    return {
      end: async () => {
        const to = this.sampler.mark();
        const pgTo = pgFrom ? await this.pgCounters() : null;
        const peaks = this.sampler.peakRss();
        const ms = (ns: number): number => Math.max(0, Math.round((ns / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100);
        return {
          cpu: ProcSampler.usage(from, to, this.cores),
          peakRssMb: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v / 1e5) / 10])),
          benchEventLoopMs: { p50: ms(this.loop.percentile(50)), p99: ms(this.loop.percentile(99)), max: ms(this.loop.max) },
          loadAvgEnd: loadavg().map((x) => Math.round(x * 100) / 100),
          postgres:
            pgFrom && pgTo
              ? {
                  commits: pgTo.commits - pgFrom.commits,
                  rollbacks: pgTo.rollbacks - pgFrom.rollbacks,
                  rowsInserted: pgTo.rowsInserted - pgFrom.rowsInserted,
                  rowsUpdated: pgTo.rowsUpdated - pgFrom.rowsUpdated,
                  rowsFetched: pgTo.rowsFetched - pgFrom.rowsFetched,
                }
              : null,
        };
      },
    };
  }

  /** The scratch database's counters now (pg_stat_database is updated with a lag of up to ~0.5 s). */
  private async pgCounters(): Promise<PgCounters | null> {
    const db = this.servers.scratchDb;
    if (!db || !this.pgAdminUrl) return null;
    const client = new Client({ connectionString: this.pgAdminUrl });
    try {
      await client.connect();
      // Statistics are flushed by backends at most every PGSTAT_MIN_INTERVAL (1 s): wait for them.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const r = await client.query(
        'SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched FROM pg_stat_database WHERE datname = $1',
        [db],
      );
      const row = r.rows[0] as Record<string, string> | undefined;
      if (!row) return null;
      return {
        commits: Number(row['xact_commit']),
        rollbacks: Number(row['xact_rollback']),
        rowsInserted: Number(row['tup_inserted']),
        rowsUpdated: Number(row['tup_updated']),
        rowsFetched: Number(row['tup_fetched']),
      };
    } catch {
      return null;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The machine, for the report. */
  machine(): Record<string, unknown> {
    return { cores: this.cores, model: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  }

  /**
   * True when the figures were taken under contention: the load average was above 0.5 before the
   * run, or other processes used more than a tenth of a core during the window.
   */
  contended(w: WindowFigures): boolean {
    return (this.loadAvgBefore[0] ?? 0) > 0.5 || w.cpu.otherSeconds / Math.max(0.001, w.cpu.wallSeconds) > 0.1;
  }

  /** True when the figures must not be quoted as targets: contended, or a diagnostic run. */
  provisional(w: WindowFigures): boolean {
    return this.contended(w) || this.diagnostic;
  }

  /** Stops sampling and the servers (and drops the scratch database). */
  async stop(): Promise<void> {
    this.sampler.stop();
    this.loop.disable();
    await this.servers.stop();
  }
}
