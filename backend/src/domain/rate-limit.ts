/**
 * Token-bucket rate limiting with an injectable clock: one `TokenBucket`, and a `KeyedRateLimiter`
 * holding one bucket per key (a username, an IP address, a socket id). Pure in-memory state of one
 * server node; with several nodes each enforces its own limits.
 */

/** Slack for floating-point refill arithmetic (12 s at 5/min must yield one whole token). */
const EPSILON = 1e-9;

/** Milliseconds since some fixed origin (`Date.now` by default; tests pass a fake). */
export type Clock = () => number;

/** The outcome of taking tokens: allowed, or refused with how long until enough have refilled. */
export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

/** The shape of a bucket: its size (burst) and refill rate. */
export interface BucketSpec {
  /** Most tokens the bucket holds (the burst). */
  readonly capacity: number;
  /** Tokens added per second (the sustained rate). */
  readonly refillPerSecond: number;
}

/** A token bucket: holds up to `capacity` tokens, refilled continuously at `refillPerSecond`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly spec: BucketSpec,
    private readonly now: Clock = Date.now,
  ) {
    if (!(spec.capacity > 0) || !(spec.refillPerSecond > 0)) {
      throw new Error(`a token bucket needs a positive capacity and refill rate, got ${spec.capacity} and ${spec.refillPerSecond}`);
    }
    this.tokens = spec.capacity;
    this.updatedAt = now();
  }

  /** The tokens available now (fractional while refilling). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** True when the bucket is full, i.e. indistinguishable from a fresh one. */
  isFull(): boolean {
    return this.available() >= this.spec.capacity - EPSILON;
  }

  /** Takes `n` tokens if available; otherwise takes nothing and says when `n` will be. */
  tryTake(n = 1): TakeResult {
    this.refill();
    if (this.tokens >= n - EPSILON) {
      this.tokens = Math.max(0, this.tokens - n);
      return { ok: true };
    }
    return { ok: false, retryAfterMs: this.waitFor(n) };
  }

  /** Gives back `n` tokens (never beyond capacity), e.g. when a pessimistically charged attempt succeeded. */
  refund(n = 1): void {
    this.refill();
    this.tokens = Math.min(this.spec.capacity, this.tokens + n);
  }

  /** Milliseconds until `n` tokens are available (0 if they already are). */
  waitFor(n = 1): number {
    this.refill();
    if (n > this.spec.capacity) return Number.POSITIVE_INFINITY;
    const missing = n - this.tokens;
    return missing <= EPSILON ? 0 : Math.ceil((missing / this.spec.refillPerSecond) * 1000);
  }

  private refill(): void {
    const t = this.now();
    // A clock that goes backwards refills nothing (and never removes tokens).
    const elapsed = Math.max(0, t - this.updatedAt);
    this.tokens = Math.min(this.spec.capacity, this.tokens + (elapsed / 1000) * this.spec.refillPerSecond);
    this.updatedAt = Math.max(t, this.updatedAt);
  }
}

/** Options of a `KeyedRateLimiter`. */
export interface KeyedRateLimiterOptions extends BucketSpec {
  readonly now?: Clock;
  /**
   * Most keys tracked at once (memory bound). Beyond it, full buckets are dropped first, then the
   * least recently created ones. @default 10_000
   */
  readonly maxKeys?: number;
}

/** One token bucket per key, created on first use and forgotten once full again. */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: Clock;
  private readonly maxKeys: number;

  constructor(private readonly options: KeyedRateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 10_000;
    // Validates the spec once, up front.
    new TokenBucket(options, this.now);
  }

  /** Takes `n` tokens from `key`'s bucket (see `TokenBucket.tryTake`). */
  tryTake(key: string, n = 1): TakeResult {
    return this.bucket(key).tryTake(n);
  }

  /** Gives `n` tokens back to `key`'s bucket. */
  refund(key: string, n = 1): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    bucket.refund(n);
    if (bucket.isFull()) this.buckets.delete(key);
  }

  /** Milliseconds until `key` has `n` tokens (0 if it has them now). */
  waitFor(key: string, n = 1): number {
    return this.buckets.get(key)?.waitFor(n) ?? 0;
  }

  /** Forgets `key` (its bucket is full again). */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  /** How many keys are tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private bucket(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evict();
      bucket = new TokenBucket(this.options, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Drops full buckets (no information lost); if none, the oldest one (weakens its limit, bounds memory). */
  private evict(): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.isFull()) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (!oldest.done) this.buckets.delete(oldest.value);
    }
  }
}
