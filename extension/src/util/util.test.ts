import { strict as assert } from 'node:assert';
import { Emitter } from './emitter';
import { TrailingThrottle } from './throttle';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('utilities', () => {
  it('throttle: runs only the latest action per key, once per interval', async () => {
    const runs: string[] = [];
    const t = new TrailingThrottle(20);
    t.schedule('a', () => runs.push('a1'));
    t.schedule('a', () => runs.push('a2'));
    t.schedule('b', () => runs.push('b1'));
    assert.equal(runs.length, 0);
    await sleep(40);
    assert.deepEqual(runs.sort(), ['a2', 'b1']);
    t.schedule('a', () => runs.push('a3'));
    t.cancel('a');
    t.schedule('b', () => runs.push('b2'));
    t.dispose();
    await sleep(40);
    assert.deepEqual(runs.sort(), ['a2', 'b1']);
  });

  it('emitter: fires in order, survives a throwing listener, unsubscribes', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    const original = console.error;
    console.error = () => undefined;
    try {
      e.event(() => {
        throw new Error('boom');
      });
      const sub = e.event((n) => seen.push(n));
      const bag: { dispose(): void }[] = [];
      e.event(function (this: { k: number }, n: number) {
        seen.push(n * this.k);
      }, { k: 10 }, bag);
      e.fire(1);
      sub.dispose();
      e.fire(2);
      bag.forEach((d) => d.dispose());
      e.fire(3);
      e.dispose();
      e.event((n) => seen.push(n));
      e.fire(4);
    } finally {
      console.error = original;
    }
    assert.deepEqual(seen, [1, 10, 20]);
  });
});
