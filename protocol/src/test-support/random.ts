/**
 * A small seeded PRNG for the simulations, so a failing session can be replayed with `SEED=`.
 */

/** A deterministic random source (mulberry32). */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A generator for a sub-stream (e.g. one per client), independent of this one's later draws. */
  fork(index: number): Random {
    return new Random((this.state ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** The seed to use: `SEED` from the environment, or a fresh random one. */
export function seedFromEnv(): number {
  const raw = process.env['SEED'];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`SEED must be an integer, got ${raw}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

/** A positive integer from the environment, or the default. */
export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

const ALPHABET = ['a', 'b', 'c', 'x', ' ', '\n', 'é', 'e\u0301', '😀', '👍🏽', '漢', 'か', '\t'];

/** A short random string of canonical text (ASCII, newlines, emoji, combining marks, CJK). */
export function randomText(rng: Random, maxPieces: number): string {
  let s = '';
  const n = rng.int(maxPieces + 1);
  for (let i = 0; i < n; i++) s += rng.pick(ALPHABET);
  return s;
}

/** Offsets in `text` that do not fall between the halves of a surrogate pair. */
export function codePointBoundary(text: string, offset: number): number {
  if (offset > 0 && offset < text.length) {
    const u = text.charCodeAt(offset);
    if (u >= 0xdc00 && u <= 0xdfff) return offset - 1;
  }
  return offset;
}
