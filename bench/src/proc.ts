/**
 * CPU time and memory of processes, read from /proc (Linux): a sampler that follows groups of
 * processes (the server nodes, the PostgreSQL backends of the run's database, Redis, this process)
 * and the whole machine, so a report can say how much CPU each used and how much other work was
 * competing for the same cores.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Kernel clock ticks per second (`getconf CLK_TCK`, normally 100). */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU ticks (user + system) of a process, or undefined when it is gone. */
export function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  } catch {
    return undefined;
  }
}

/** Resident set size and its high-water mark (bytes) of a process, or undefined when it is gone. */
export function memory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks of the whole machine (first line of /proc/stat): busy (everything but idle and iowait,
 * steal included), total, and steal (time the hypervisor ran someone else while our vCPU wanted
 * to run: on a shared host, the reason the same run goes faster or slower from one hour to the next).
 */
export function machineTicks(): { busy: number; total: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total, steal: v[7] ?? 0 };
}

/** Pids whose command line contains every one of `needles` (e.g. the PostgreSQL backends of one database). */
export function findPids(needles: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (needles.every((n) => cmd.includes(n))) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Pids whose parent is one of `parents` (from the ppid field of /proc/<pid>/stat). */
export function childrenOf(parents: readonly number[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parents.includes(ppid)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** A named set of processes to follow; `pids` is called at every sample (the set may change). */
export interface ProcGroup {
  readonly name: string;
  readonly pids: () => readonly number[];
}

/** CPU seconds per group and of the machine at one instant. */
export interface CpuMark {
  readonly at: number;
  readonly groups: ReadonlyMap<string, number>;
  readonly machineBusy: number;
  readonly machineTotal: number;
  readonly machineSteal: number;
}

/** CPU used between two marks, in seconds, per group, with the machine's busy time and the rest. */
export interface CpuUsage {
  readonly wallSeconds: number;
  readonly groups: Record<string, number>;
  /** CPU seconds the whole machine was busy. */
  readonly machineBusySeconds: number;
  /** Busy time not accounted to any group: other people's work on the same cores, the kernel's softirqs, and steal. */
  readonly otherSeconds: number;
  /** CPU seconds the hypervisor gave to other guests while ours wanted to run (part of `otherSeconds`). */
  readonly stealSeconds: number;
  /** Cores of the machine. */
  readonly cores: number;
}

/**
 * Samples groups of processes every `intervalMs`: CPU ticks per pid (the latest reading of a pid
 * that has ended is kept, so short-lived backends still count) and the peak summed RSS per group.
 */
export class ProcSampler {
  private readonly ticks = new Map<string, Map<number, number>>();
  private readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly groups: readonly ProcGroup[],
    private readonly intervalMs = 500,
  ) {
    for (const g of groups) this.ticks.set(g.name, new Map());
  }

  /** Starts sampling (takes one sample at once). */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Forgets the peaks (start of a measurement window). */
  resetPeaks(): void {
    this.peaks.clear();
    this.sample();
  }

  /** The peak summed RSS (bytes) of each group since the last `resetPeaks`. */
  peakRss(): Record<string, number> {
    this.sample();
    return Object.fromEntries(this.groups.map((g) => [g.name, this.peaks.get(g.name) ?? 0]));
  }

  /** The current summed RSS (bytes) of a group. */
  currentRss(name: string): number {
    const g = this.groups.find((x) => x.name === name);
    if (!g) return 0;
    let sum = 0;
    for (const pid of g.pids()) sum += memory(pid)?.rss ?? 0;
    return sum;
  }

  /** Samples now and returns the CPU seconds so far of every group and of the machine. */
  mark(): CpuMark {
    this.sample();
    const hz = ticksPerSecond();
    const groups = new Map<string, number>();
    for (const [name, perPid] of this.ticks) {
      let sum = 0;
      for (const t of perPid.values()) sum += t;
      groups.set(name, sum / hz);
    }
    const m = machineTicks();
    return { at: performance.now(), groups, machineBusy: m.busy / hz, machineTotal: m.total / hz, machineSteal: m.steal / hz };
  }

  /** CPU used between two marks. */
  static usage(from: CpuMark, to: CpuMark, cores: number): CpuUsage {
    const groups: Record<string, number> = {};
    let ours = 0;
    for (const [name, end] of to.groups) {
      const d = end - (from.groups.get(name) ?? 0);
      groups[name] = Math.round(d * 100) / 100;
      ours += d;
    }
    const busy = to.machineBusy - from.machineBusy;
    return {
      wallSeconds: Math.round((to.at - from.at) / 10) / 100,
      groups,
      machineBusySeconds: Math.round(busy * 100) / 100,
      otherSeconds: Math.round(Math.max(0, busy - ours) * 100) / 100,
      stealSeconds: Math.round((to.machineSteal - from.machineSteal) * 100) / 100,
      cores,
    };
  }

  private sample(): void {
    for (const g of this.groups) {
      const perPid = this.ticks.get(g.name) as Map<number, number>;
      let rss = 0;
      for (const pid of g.pids()) {
        const t = cpuTicks(pid);
        if (t !== undefined) perPid.set(pid, t);
        rss += memory(pid)?.rss ?? 0;
      }
      if (rss > (this.peaks.get(g.name) ?? 0)) this.peaks.set(g.name, rss);
    }
  }
}
