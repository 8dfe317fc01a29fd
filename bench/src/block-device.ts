/**
 * The disk under PostgreSQL during a window: the block device's counters (`/sys/dev/block/M:m/stat`,
 * Linux), sampled every half second. The fsync probe runs before the window; a stall that strikes
 * during it shows here instead, as an interval whose writes took far longer than usual. Reading a
 * sysfs file costs microseconds, so sampling does not load what it measures.
 */
import { readFileSync, statSync } from 'node:fs';

/** Counters of one read of the device's stat file (kernel Documentation/block/stat.rst). */
export interface BlockCounters {
  readonly writes: number;
  /** Milliseconds spent on writes (summed over concurrent requests). */
  readonly writeMs: number;
  readonly flushes: number;
  readonly flushMs: number;
}

/** What the device did over a window. */
export interface BlockDeviceFigures {
  /** `major:minor` of the device. */
  readonly device: string;
  readonly writesPerSec: number;
  readonly flushesPerSec: number;
  /** Mean time per write request over the window (ms). */
  readonly writeMsMean: number;
  /** The worst sampling interval's mean time per write (ms): a stall shows here. */
  readonly worstIntervalWriteMs: number;
  /** Intervals whose writes took more than `SLOW_INTERVAL_MS` each on average. */
  readonly slowIntervals: number;
  readonly intervals: number;
  readonly intervalMs: number;
}

/** An interval whose writes averaged more than this (ms) is counted as slow (calm: 0.05–0.2 ms here). */
export const SLOW_INTERVAL_MS = 1;

/** Parses a block device stat line (fields 5, 8, 16 and 17: writes, write ms, flushes, flush ms). */
export function parseBlockStat(line: string): BlockCounters {
  const f = line.trim().split(/\s+/).map(Number);
  return { writes: f[4] ?? 0, writeMs: f[7] ?? 0, flushes: f[15] ?? 0, flushMs: f[16] ?? 0 };
}

/** The sysfs stat file of the block device holding `dir`, or a reason why there is none. */
export function blockStatFileOf(dir: string): { file: string; device: string } | { reason: string } {
  try {
    const dev = statSync(dir).dev;
    // Linux's dev_t as glibc encodes it (major 12 bits + minor 20 bits, for devices below 2^32).
    const major = (dev >>> 8) & 0xfff;
    const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
    const file = `/sys/dev/block/${major}:${minor}/stat`;
    parseBlockStat(readFileSync(file, 'utf8'));
    return { file, device: `${major}:${minor}` };
  } catch (err) {
    return { reason: `no block device stats for ${dir}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** One reading and when it was taken (ms, any monotonic clock). */
export interface TimedCounters extends BlockCounters {
  readonly at: number;
}

/** Figures of consecutive readings taken about `intervalMs` apart. */
export function summariseBlockReadings(device: string, readings: readonly TimedCounters[], intervalMs: number): BlockDeviceFigures | null {
  const first = readings[0];
  const last = readings[readings.length - 1];
  if (!first || !last || readings.length < 2) return null;
  let worst = 0;
  let slow = 0;
  for (let i = 1; i < readings.length; i++) {
    const a = readings[i - 1] as TimedCounters;
    const b = readings[i] as TimedCounters;
    const writes = b.writes - a.writes;
    const mean = writes > 0 ? (b.writeMs - a.writeMs) / writes : 0;
    worst = Math.max(worst, mean);
    if (mean > SLOW_INTERVAL_MS) slow++;
  }
  const seconds = Math.max(0.001, (last.at - first.at) / 1000);
  const writes = last.writes - first.writes;
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    device,
    writesPerSec: Math.round(writes / seconds),
    flushesPerSec: Math.round((last.flushes - first.flushes) / seconds),
    writeMsMean: writes > 0 ? r2((last.writeMs - first.writeMs) / writes) : 0,
    worstIntervalWriteMs: r2(worst),
    slowIntervals: slow,
    intervals: readings.length - 1,
    intervalMs,
  };
}

/** Samples one device's counters at a fixed interval until stopped. */
export class BlockDeviceSampler {
  private readonly readings: TimedCounters[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly device: string,
    private readonly intervalMs = 500,
  ) {}

  /** Takes the first reading and starts the timer. */
  start(): void {
    this.read();
    this.timer = setInterval(() => this.read(), this.intervalMs);
    this.timer.unref();
  }

  /** Takes the last reading, stops, and summarises. */
  stop(): BlockDeviceFigures | null {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.read();
    return summariseBlockReadings(this.device, this.readings, this.intervalMs);
  }

  private read(): void {
    try {
      this.readings.push({ ...parseBlockStat(readFileSync(this.file, 'utf8')), at: performance.now() });
    } catch {
      // The device went away: the summary covers what was read.
    }
  }
}
