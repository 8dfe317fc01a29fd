/** Latency samples and their percentiles. */

/** Percentiles of a set of samples (milliseconds). */
export interface Percentiles {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Collects samples; percentiles by nearest rank over the sorted samples. */
export class Samples {
  private values: number[] = [];

  /** Adds one sample. */
  add(value: number): void {
    this.values.push(value);
  }

  /** How many samples were added. */
  get count(): number {
    return this.values.length;
  }

  /** Drops every sample (end of a warm-up). */
  clear(): void {
    this.values = [];
  }

  /** The percentiles, or null when there is no sample. */
  summary(): Percentiles | null {
    if (this.values.length === 0) return null;
    const sorted = Float64Array.from(this.values).sort();
    const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      n: sorted.length,
      p50: round(rank(0.5)),
      p95: round(rank(0.95)),
      p99: round(rank(0.99)),
      max: round(sorted[sorted.length - 1] as number),
      mean: round(sum / sorted.length),
    };
  }
}

/** Rounds to 0.01 (milliseconds to 10 µs), for printing. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Counts by key (error codes, effects). */
export class Counter {
  readonly counts = new Map<string, number>();

  /** Adds `n` to `key`. */
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  /** The sum of all counts. */
  get total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }

  /** A plain object, for the JSON line. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}
