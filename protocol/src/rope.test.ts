import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from './errors';
import { Rope } from './rope';
import { apply, baseLength, normalize, type TextOp } from './text-op';
import {
  arbEditOn,
  arbLongText,
  arbOpChainFrom,
  arbText,
  propertyParams,
  type DocAndOpChain,
} from './test-support/generators';

/** Documented in rope.ts: chunks grow up to this many code units before they are split. */
const MAX_CHUNK = 8192;

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}
function isLow(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}

/** Short texts most of the time; sometimes 20k–100k code units, so that the rope has many chunks. */
function arbStartText(): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: arbText(200), weight: 3 }, { arbitrary: arbLongText(20_000, 100_000), weight: 1 });
}

/** Offsets to probe, as raw numbers reduced modulo the current length (see `probe`). */
const arbProbes = fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 });

/** Maps a raw number to -1..len+1 (so that out-of-range offsets are probed too). */
function probe(raw: number, len: number): number {
  return (raw % (len + 3)) - 1;
}

/** Checks every observable of the rope against the string `model`. */
function assertRopeIs(rope: Rope, model: string, probes: readonly (readonly [number, number])[]): void {
  assert.equal(rope.length, model.length);
  assert.ok(rope.toString() === model, 'toString differs from the model');
  const chunks = rope.chunkList();
  assert.ok(chunks.join('') === model, 'chunkList().join("") differs from the model');
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    // rope.ts: chunks grow up to MAX_CHUNK code units before they are split.
    assert.ok(chunk.length <= MAX_CHUNK, `chunk ${i} has ${chunk.length} code units`);
    // The model is well-formed, so a chunk split a pair exactly when it starts with a low or ends with a high surrogate.
    assert.ok(!isLow(chunk.charCodeAt(0)), `chunk ${i} starts with the second half of a surrogate pair`);
    assert.ok(!isHigh(chunk.charCodeAt(chunk.length - 1)), `chunk ${i} ends with the first half of a surrogate pair`);
  }
  for (const [x, y] of probes) {
    const i = probe(x, model.length);
    const got = rope.charCodeAt(i);
    const want = model.charCodeAt(i);
    assert.ok(Object.is(got, want), `charCodeAt(${i}) = ${got}, expected ${want}`);
    const s = Math.max(0, probe(x, model.length));
    const e = Math.max(0, probe(y, model.length));
    assert.ok(rope.slice(s, e) === model.slice(s, e), `slice(${s}, ${e}) differs`);
  }
  assert.ok(rope.slice() === model);
  assert.ok(rope.slice(0) === model);
}

function expectBaseMismatch(e: unknown): true {
  assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
  assert.equal(e.code, ErrorCode.OP_BASE_LENGTH_MISMATCH);
  return true;
}

describe('Rope properties', function () {
  this.timeout(120_000);

  it('matches the string model after every op of random op sequences (short and 20k–100k texts)', () => {
    const arbScenario = fc
      .tuple(arbStartText(), fc.integer({ min: 1, max: 6 }))
      .chain(([text, n]) => arbOpChainFrom(text, n, { bigInserts: true }))
      .chain((chain) => fc.array(arbProbes, { minLength: chain.ops.length, maxLength: chain.ops.length }).map((probes) => ({ chain, probes })));
    let chunkCountChanges = 0;
    let multiChunkRuns = 0;
    const params = propertyParams();
    fc.assert(
      fc.property(arbScenario, ({ chain, probes }: { chain: DocAndOpChain; probes: (readonly [number, number])[][] }) => {
        const rope = new Rope(chain.text);
        let model = chain.text;
        assertRopeIs(rope, model, probes[0] ?? []);
        if (rope.chunkList().length > 1) multiChunkRuns++;
        chain.ops.forEach((op, i) => {
          const before = rope.chunkList().length;
          rope.apply(op);
          model = apply(op, model);
          assert.ok(model === chain.texts[i], 'string apply differs from the generator');
          assertRopeIs(rope, model, probes[i] ?? []);
          if (rope.chunkList().length !== before) chunkCountChanges++;
        });
      }),
      params,
    );
    if (params.numRuns >= 1000) {
      // Guard against a generator that never makes the rope split or merge chunks.
      assert.ok(multiChunkRuns > 0 && chunkCountChanges > 0, `multi-chunk runs ${multiChunkRuns}, chunk count changes ${chunkCountChanges}`);
    }
  });

  it('a rope built from any text reads back the same', () => {
    fc.assert(
      fc.property(arbStartText(), arbProbes, (text, probes) => {
        assertRopeIs(new Rope(text), text, probes);
        const r = new Rope('something else');
        r.load(text);
        assertRopeIs(r, text, probes);
      }),
      propertyParams(),
    );
  });

  it('apply with a wrong base length throws OP_BASE_LENGTH_MISMATCH and leaves the rope unchanged', () => {
    const arbWrong = arbStartText().chain((text) =>
      fc
        .tuple(arbEditOn(text, { bigInserts: true }), fc.integer({ min: 1, max: 5 }), fc.constantFrom('retain', 'delete', 'shorten', 'insert'))
        .map(([g, k, how]) => {
          let wrong: TextOp;
          if (how === 'retain') wrong = normalize([...g.op, k]);
          else if (how === 'delete') wrong = normalize([...g.op, -k]);
          else if (how === 'insert') wrong = normalize([...g.op, 'x', k]);
          else {
            // Drop the last retain or delete (or, for an op without one, add a retain).
            const idx = g.op.map((c) => typeof c === 'number').lastIndexOf(true);
            wrong = idx === -1 ? normalize([...g.op, k]) : normalize(g.op.filter((_, i) => i !== idx));
          }
          return { text, good: g.op, after: g.after, wrong };
        }),
    );
    fc.assert(
      fc.property(arbWrong, ({ text, good, after, wrong }) => {
        fc.pre(baseLength(wrong) !== text.length);
        const rope = new Rope(text);
        const chunksBefore = [...rope.chunkList()];
        assert.throws(() => rope.apply(wrong), expectBaseMismatch);
        assert.equal(rope.length, text.length);
        assert.ok(rope.toString() === text);
        assert.deepEqual([...rope.chunkList()], chunksBefore);
        // The rope still works afterwards.
        rope.apply(good);
        assert.ok(rope.toString() === after);
        assert.equal(rope.length, after.length);
      }),
      propertyParams(),
    );
  });
});

describe('Rope examples', () => {
  it('empty rope', () => {
    const r = new Rope();
    assertRopeIs(r, '', [[0, 0]]);
    assert.ok(Number.isNaN(r.charCodeAt(0)));
    r.apply(['abc']);
    assertRopeIs(r, 'abc', [[1, 2]]);
    r.apply([-3]);
    assertRopeIs(r, '', [[0, 0]]);
    assert.equal(r.chunkList().length, 0);
    r.apply(['x']);
    assertRopeIs(r, 'x', [[0, 1]]);
  });

  it('never splits emoji across chunks, on load and when chunks split', () => {
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const text = prefix + '😀'.repeat(10_000);
      const r = new Rope(text);
      assertRopeIs(r, text, [[4095, 4097], [8191, 8193]]);
      // Grow one chunk past the split size with an insert of emoji at an odd offset.
      const ins = 'b' + '👍🏽'.repeat(3000);
      const op: TextOp = [prefix.length + 2, ins, text.length - prefix.length - 2];
      r.apply(op);
      assertRopeIs(r, apply(op, text), [[4095, 4097], [8191, 8193]]);
    }
  });

  it('a delete across many chunks merges them', () => {
    const text = 'x😀y'.repeat(30_000);
    const r = new Rope(text);
    const chunks = r.chunkList().length;
    const op: TextOp = [1, 'new', -(text.length - 5), 4];
    r.apply(op);
    assertRopeIs(r, apply(op, text), [[0, 3]]);
    assert.ok(r.chunkList().length < chunks);
  });

  it('wrong base length on an empty rope throws', () => {
    const r = new Rope();
    assert.throws(() => r.apply([1]), expectBaseMismatch);
    assert.throws(() => r.apply([-1]), expectBaseMismatch);
    assert.equal(r.length, 0);
    assert.equal(r.toString(), '');
  });
});
