/** Other nodes' interest in files, as announced (`file-interest.ts`), on a hand-driven clock. */
import { strict as assert } from 'node:assert';
import { RemoteInterest } from './file-interest';

describe('file interest: what the other nodes announced', () => {
  const options = { announceMs: 100, ttlMs: 300, graceMs: 150 };
  let t = 0;
  const now = () => t;
  const fresh = () => {
    t = 1000;
    const interest = new RemoteInterest(options, now);
    t += options.graceMs; // past the grace
    return interest;
  };

  it('wants every file while it may not know (start, and after forget), then only announced ones', () => {
    t = 1000;
    const interest = new RemoteInterest(options, now);
    assert.ok(interest.wanted('f'), 'at start: everything');
    t += options.graceMs;
    assert.ok(!interest.wanted('f'), 'grace over, nobody announced f');
    interest.forget();
    assert.ok(interest.wanted('f'), 'after forget: everything again');
    t += options.graceMs;
    assert.ok(!interest.wanted('f'));
  });

  it('on, off, and a node’s whole list replacing what it announced before', () => {
    const interest = fresh();
    interest.apply('n1', 'on', ['a', 'b']);
    interest.apply('n2', 'on', ['b']);
    assert.deepEqual(['a', 'b', 'c'].map((f) => interest.wanted(f)), [true, true, false]);
    interest.apply('n1', 'off', ['b']);
    assert.ok(interest.wanted('b'), 'n2 still reads b');
    interest.apply('n2', 'all', ['c']);
    assert.deepEqual(['a', 'b', 'c'].map((f) => interest.wanted(f)), [true, false, true], "n2's list drops b and adds c; n1's a stays");
    assert.equal(interest.size, 2);
  });

  it('an announcement not repeated within the TTL expires (a node that died, an off that was lost)', () => {
    const interest = fresh();
    interest.apply('n1', 'on', ['a']);
    interest.apply('n2', 'on', ['b']);
    t += options.ttlMs - 1;
    interest.apply('n2', 'all', ['b']);
    assert.ok(interest.wanted('a'));
    t += 1;
    assert.ok(!interest.wanted('a'), "n1's a expired");
    assert.ok(interest.wanted('b'), "n2's b was renewed");
    t += options.ttlMs;
    interest.sweep();
    assert.equal(interest.size, 0, 'swept');
  });
});
