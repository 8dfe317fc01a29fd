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
import { BlockDeviceSampler, blockStatFileOf, type BlockDeviceFigures } from './block-device';
import { FsyncWatch, postgresDisk, probeDisk, type DiskProbeResult, type FsyncStats, type PostgresDisk, type ProbeOptions } from './disk-probe';
import { counterDeltas, scrapeServers, SERVER_HISTOGRAMS, tailShare, type TailShare } from './server-metrics';
import { readWal, walDelta, type WalCounters, type WalFigures } from './wal-stats';
import { existingServers, spawnServers, type DbKind, type Servers, type SynchronousCommit } from './servers';
import type { Placement } from './world';

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
  /** Extra Node.js / V8 flags for spawned nodes (flags NODE_OPTIONS refuses, such as --trace-deopt). */
  readonly nodeFlags?: readonly string[];
  /** Pid of an external server to sample (with `urls`). */
  readonly serverPid?: number;
  /** Connect sockets through the load balancer instead of straight to the nodes in turn. */
  readonly viaBalancer?: boolean;
  /** How clients are placed on several nodes; also sets the balancer's method (room: by room, spread: round robin). @default 'room' */
  readonly placement?: Placement;
  /** synchronous_commit of a spawned scratch PostgreSQL database ('off': diagnostic run). @default 'on' */
  readonly synchronousCommit?: SynchronousCommit;
  /** Pacing of the fdatasync probe run before the scenario (PostgreSQL runs), or false to skip it. */
  readonly diskProbe?: ProbeOptions | false;
  /** Whether to time a few fdatasyncs a second during each window (PostgreSQL on this machine). @default true */
  readonly fsyncWatch?: boolean;
  /** Open the spawned node's inspector so a scenario can force a full GC before reading memory (one node). */
  readonly inspect?: boolean;
}

/** Where PostgreSQL's data lives on this machine, for watching its disk during a window. */
interface DiskUnder {
  /** The block device's stat file, or why there is none. */
  readonly block: { file: string; device: string } | { reason: string };
  /** A directory on the data directory's filesystem (its parent) for the fsync watch, or why none. */
  readonly watchDir: string | { reason: string };
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
  /** Where the tail lives: the servers' own latency histograms over the window (null without `/metrics`). */
  readonly serverTail: ServerTail | null;
  /**
   * The commit path's counters over the window, summed over the nodes (`SERVER_COUNTERS`: group
   * transactions by round trips, wrong predictions, lost races); null without `/metrics`.
   */
  readonly commitPath: Record<string, number> | null;
  /** PostgreSQL's WAL flushes over the window (cluster-wide; null when not readable). */
  readonly wal: WalFigures | null;
  /** The block device under PostgreSQL's data directory during the window, or why it was not watched. */
  readonly disk: BlockDeviceFigures | { readonly notMeasured: string };
  /** fdatasync latency on PostgreSQL's filesystem during the window (a few writes a second), or why not measured. */
  readonly fsyncWatch: FsyncStats | { readonly notMeasured: string };
}

/** The servers' share of the latency: their histograms' tails over the window. */
export interface ServerTail {
  /** Receipt of a submission → its ack and broadcast sent (`collab_op_latency_seconds`). */
  readonly op: TailShare | null;
  /** The commit path's part of that (`collab_commit_seconds`). */
  readonly commit: TailShare | null;
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
    /** The disk under PostgreSQL's data directory, watched during each window. */
    private readonly diskUnder: DiskUnder,
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
            balance: options.placement === 'spread' ? 'round-robin' : 'room',
            ...(options.profileDir ? { profileDir: options.profileDir } : {}),
            ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
            ...(options.inspect ? { inspect: true } : {}),
          });
    log(`servers: ${servers.nodes.map((n) => `${n.url}${n.pid ? ` (pid ${n.pid})` : ''}`).join(', ')} on ${servers.database}`);
    // PostgreSQL's disk, found once: probed now, watched during each window.
    const onPostgres = servers.scratchDb !== undefined || (options.urls.length > 0 && options.pgAdminUrl !== '');
    const pgDisk = onPostgres ? await postgresDisk(options.pgAdminUrl) : { reason: 'not a PostgreSQL run' };
    const disk: DiskProbeResult =
      options.diskProbe === false
        ? { stats: null, reason: 'probe disabled' }
        : onPostgres
          ? await RunEnv.probeDisk(pgDisk, options.diskProbe ?? {}, log)
          : { stats: null, reason: 'not a PostgreSQL run' };
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
    return new RunEnv(servers, sampler, build, options.viaBalancer ?? false, options.pgAdminUrl, disk, synchronousCommit, RunEnv.diskUnder(options, pgDisk));
  }

  /** The block device and the watch directory of PostgreSQL's disk (PostgreSQL on this machine only). */
  private static diskUnder(options: EnvOptions, pgDisk: PostgresDisk | { reason: string }): DiskUnder {
    if ('reason' in pgDisk) return { block: pgDisk, watchDir: pgDisk };
    const watchDir = options.fsyncWatch === false ? { reason: 'disabled (--no-fsync-watch)' } : pgDisk.probeDir;
    return { block: blockStatFileOf(pgDisk.dataDir), watchDir };
  }

  /**
   * Probes fdatasync on PostgreSQL's filesystem while the servers are up but idle: before the
   * measured window, so the probe's writes do not load the figures it explains.
   */
  private static async probeDisk(pgDisk: PostgresDisk | { reason: string }, pacing: ProbeOptions, log: (line: string) => void): Promise<DiskProbeResult> {
    log('disk: probing fdatasync latency on PostgreSQL\'s filesystem');
    const disk = await probeDisk(pgDisk, pacing);
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
    const tailFrom = await scrapeServers(this.urls);
    const { block: device, watchDir } = this.diskUnder;
    const block = 'file' in device ? new BlockDeviceSampler(device.file, device.device) : undefined;
    block?.start();
    const watch = typeof watchDir === 'string' ? await FsyncWatch.start(watchDir).catch((err: unknown) => String(err)) : watchDir.reason;
    const from: CpuMark = this.sampler.mark();
    this.sampler.resetPeaks();
    this.loop.reset();
    return {
      end: async () => {
        const to = this.sampler.mark();
        const tailTo = tailFrom ? await scrapeServers(this.urls) : null;
        const blockFigures = block?.stop() ?? null;
        const fsyncWatch = typeof watch === 'string' ? { notMeasured: watch } : await watch.stop().catch((err: unknown) => ({ notMeasured: String(err) }));
        const pgTo = pgFrom ? await this.pgCounters() : null;
        const [op, commit] = SERVER_HISTOGRAMS.map((name) => tailShare(tailFrom?.histograms.get(name), tailTo?.histograms.get(name)));
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
          serverTail: tailFrom && tailTo ? { op: op ?? null, commit: commit ?? null } : null,
          commitPath: tailFrom && tailTo ? counterDeltas(tailFrom.counters, tailTo.counters) : null,
          wal: pgFrom?.wal && pgTo?.wal ? walDelta(pgFrom.wal, pgTo.wal, (pgTo.at - pgFrom.at) / 1000) : null,
          disk: blockFigures ?? { notMeasured: 'reason' in device ? device.reason : 'no readings' },
          fsyncWatch,
        };
      },
    };
  }

  /**
   * The scratch database's counters now (pg_stat_database is updated with a lag of up to ~0.5 s),
   * the cluster's WAL counters, and when they were read.
   */
  private async pgCounters(): Promise<(PgCounters & { wal: WalCounters | null; at: number }) | null> {
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
      const wal = await readWal(client);
      return {
        wal,
        at: performance.now(),
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
