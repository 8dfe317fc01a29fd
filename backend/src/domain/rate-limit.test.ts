import { strict as assert } from 'node:assert';
import { KeyedRateLimiter, TokenBucket } from './rate-limit';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('domain: rate limits', () => {
  describe('TokenBucket', () => {
    it('allows a burst of `capacity`, then refuses with the time until the next token', () => {
      const clock = fakeClock();
      const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2 }, clock.now);
      for (let i = 0; i < 3; i++) assert.deepEqual(bucket.tryTake(), { ok: true });
      assert.deepEqual(bucket.tryTake(), { ok: false, retryAfterMs: 500 });
      clock.advance(499);
      assert.equal(bucket.tryTake().ok, false);
      clock.advance(1);
      assert.deepEqual(bucket.tryTake(), { ok: true });
    });

    it('refills continuously up to capacity and no further', () => {
      const clock = fakeClock();
      const bucket = new TokenBucket({ capacity: 4, refillPerSecond: 1 }, clock.now);
      assert.ok(bucket.tryTake(4).ok);
      clock.advance(2500);
      assert.equal(bucket.available(), 2.5);
      clock.advance(60_000);
      assert.equal(bucket.available(), 4);
      assert.ok(bucket.isFull());
    });

    it('takes nothing when refusing, and never allows more than capacity at once', () => {
      const clock = fakeClock();
      const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, clock.now);
      assert.ok(bucket.tryTake().ok);
      const refused = bucket.tryTake(2);
      assert.ok(!refused.ok);
      assert.equal(refused.retryAfterMs, 1000);
      assert.equal(bucket.available(), 1);
      assert.equal(bucket.waitFor(3), Number.POSITIVE_INFINITY);
    });

    it('refunds up to capacity', () => {
      const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, fakeClock().now);
      bucket.tryTake(2);
      bucket.refund(5);
      assert.equal(bucket.available(), 2);
    });

    it('does not mint tokens when the clock goes backwards', () => {
      const clock = fakeClock();
      const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, clock.now);
      bucket.tryTake(2);
      clock.advance(-10_000);
      assert.equal(bucket.available(), 0);
      clock.advance(10_000);
      assert.equal(bucket.available(), 0, 'time already counted is not counted twice');
      clock.advance(1000);
      assert.equal(bucket.available(), 1);
    });

    it('refuses a non-positive capacity or rate', () => {
      assert.throws(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 }));
      assert.throws(() => new TokenBucket({ capacity: 1, refillPerSecond: 0 }));
    });
  });

  describe('KeyedRateLimiter', () => {
    it('keeps one independent bucket per key', () => {
      const clock = fakeClock();
      const limiter = new KeyedRateLimiter({ capacity: 2, refillPerSecond: 1, now: clock.now });
      assert.ok(limiter.tryTake('a').ok);
      assert.ok(limiter.tryTake('a').ok);
      assert.ok(!limiter.tryTake('a').ok);
      assert.ok(limiter.tryTake('b').ok);
      assert.equal(limiter.waitFor('a'), 1000);
      assert.equal(limiter.waitFor('never-seen'), 0);
      limiter.reset('a');
      assert.ok(limiter.tryTake('a').ok);
    });

    it('forgets a key whose bucket is full again after a refund', () => {
      const limiter = new KeyedRateLimiter({ capacity: 2, refillPerSecond: 1, now: fakeClock().now });
      limiter.tryTake('a');
      assert.equal(limiter.size, 1);
      limiter.refund('a');
      assert.equal(limiter.size, 0);
    });

    it('bounds memory: drops full buckets first, then the oldest', () => {
      const clock = fakeClock();
      const limiter = new KeyedRateLimiter({ capacity: 1, refillPerSecond: 1, now: clock.now, maxKeys: 3 });
      limiter.tryTake('a');
      limiter.tryTake('b');
      limiter.tryTake('c');
      limiter.tryTake('d');
      assert.equal(limiter.size, 3);
      assert.ok(limiter.tryTake('a').ok, "the oldest key, 'a', was dropped");
      clock.advance(5000);
      limiter.tryTake('e');
      assert.equal(limiter.size, 1, 'every refilled bucket was dropped');
    });
  });
});
