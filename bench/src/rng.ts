/**
 * Seeded pseudo-random numbers (mulberry32), so that a run's choices (positions, characters, start
 * phases) can be replayed with `SEED=<n>` or `--seed <n>`.
 */

/** A seeded generator of numbers in [0, 1) and small integers. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A generator for a sub-stream (e.g. one per client), independent of this one's later draws. */
  fork(index: number): Rng {
    return new Rng((this.s ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  }
}

/** The seed: `explicit` if given, else `SEED` from the environment, else a fresh random one. */
export function chooseSeed(explicit?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return explicit >>> 0;
  const raw = env['SEED'];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`SEED must be an integer, got ${JSON.stringify(raw)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
