import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { checkOpFits } from './op-check';
import { isCanonicalText, isWellFormedUtf16, splitsSurrogatePair, toCanonicalText } from './canonical-text';
import { ErrorCode, ProtocolError } from './errors';
import { Rope } from './rope';
import {
  apply,
  baseLength,
  compose,
  invert,
  isNoop,
  normalize,
  OpBuilder,
  replaceOp,
  replacements,
  targetLength,
  transform,
  transformPosition,
  transformSelection,
  type Component,
  type TextOp,
} from './text-op';
import {
  arbDocAndOpChain,
  arbDocAndTwoOps,
  arbEditOn,
  arbRawText,
  arbText,
  arbToken,
  propertyParams,
} from './test-support/generators';

// ---------------------------------------------------------------------------------------------
// Independent models (none of them uses the library's apply/transform)
// ---------------------------------------------------------------------------------------------

/** True when `op` is in canonical form (see text-op.ts). */
function isCanonical(op: readonly unknown[]): boolean {
  let prev: 'retain' | 'insert' | 'delete' | undefined;
  for (const c of op) {
    let kind: 'retain' | 'insert' | 'delete';
    if (typeof c === 'string') {
      if (c.length === 0) return false;
      kind = 'insert';
    } else if (typeof c === 'number') {
      if (!Number.isSafeInteger(c) || c === 0 || Object.is(c, -0)) return false;
      kind = c > 0 ? 'retain' : 'delete';
    } else {
      return false;
    }
    if (kind === prev) return false;
    if (kind === 'insert' && prev === 'delete') return false;
    prev = kind;
  }
  return true;
}

/** Converts any component list (canonical or not) to replacements in base-text coordinates. */
function toEdits(op: readonly Component[]): { pos: number; del: number; ins: string }[] {
  const edits: { pos: number; del: number; ins: string }[] = [];
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'string') edits.push({ pos, del: 0, ins: c });
    else if (c > 0) pos += c;
    else if (c < 0) {
      edits.push({ pos, del: -c, ins: '' });
      pos -= c;
    }
  }
  return edits;
}

/** Applies an op by splicing an array of code units, last edit first. */
function modelApply(op: readonly Component[], text: string): string {
  const units = text.split('');
  const edits = toEdits(op);
  for (let i = edits.length - 1; i >= 0; i--) {
    const e = edits[i]!;
    units.splice(e.pos, e.del, ...e.ins.split(''));
  }
  return units.join('');
}

/** Sum of retains and deletes, computed independently. */
function modelBase(op: readonly Component[]): number {
  return op.reduce<number>((n, c) => (typeof c === 'number' ? n + Math.abs(c) : n), 0);
}

/**
 * Applies `op` to an array of character ids: original characters keep their index as id, inserted
 * code units get fresh negative ids. Also records how many code units are inserted at each base offset.
 */
function applyToIds(op: TextOp, length: number): { ids: number[]; insertedAt: Map<number, number> } {
  const ids: number[] = [];
  const insertedAt = new Map<number, number>();
  let pos = 0;
  let fresh = -1;
  for (const c of op) {
    if (typeof c === 'string') {
      for (let i = 0; i < c.length; i++) ids.push(fresh--);
      insertedAt.set(pos, (insertedAt.get(pos) ?? 0) + c.length);
    } else if (c > 0) {
      for (let i = 0; i < c; i++) ids.push(pos + i);
      pos += c;
    } else {
      pos -= c;
    }
  }
  assert.equal(pos, length);
  return { ids, insertedAt };
}

function expectCode(code: ErrorCode): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  };
}

const LONG = 120_000;

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('text-op properties', function () {
  this.timeout(LONG);

  it('generated ops are canonical, valid on their text, and never split a surrogate pair', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, afterA }) => {
        assert.ok(isCanonical(a), JSON.stringify(a));
        assert.equal(baseLength(a), text.length);
        assert.ok(checkOpFits(a, text).ok);
        assert.ok(isCanonicalText(afterA));
      }),
      propertyParams(),
    );
  });

  it('replacements, applied from last to first at their base offsets, equal apply', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, afterA }) => {
        let out = text;
        const parts = replacements(a);
        for (let i = 1; i < parts.length; i++) assert.ok(parts[i - 1]!.at + parts[i - 1]!.remove < parts[i]!.at + 1, 'ascending, disjoint');
        for (const r of [...parts].reverse()) out = out.slice(0, r.at) + r.insert + out.slice(r.at + r.remove);
        assert.equal(out, afterA);
        assert.ok(parts.every((r) => r.remove > 0 || r.insert !== ''), 'no empty replacement');
      }),
      propertyParams(),
    );
  });

  it('apply equals an independent splice model, and base/target lengths are right', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, afterA }) => {
        const expected = modelApply(a, text);
        assert.equal(expected, afterA);
        assert.equal(apply(a, text), expected);
        assert.equal(baseLength(a), modelBase(a));
        assert.equal(baseLength(a), text.length);
        assert.equal(targetLength(a), expected.length);
      }),
      propertyParams(),
    );
  });

  it('TP1 holds for both side assignments (a left / b right, and a right / b left)', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, b, afterA, afterB }) => {
        assert.equal(apply(a, text), afterA);
        assert.equal(apply(b, text), afterB);
        const aLeft = transform(a, b, 'left');
        const bRight = transform(b, a, 'right');
        const one = apply(aLeft, afterB);
        assert.equal(one, apply(bRight, afterA), 'a left / b right');
        const aRight = transform(a, b, 'right');
        const bLeft = transform(b, a, 'left');
        const two = apply(aRight, afterB);
        assert.equal(two, apply(bLeft, afterA), 'a right / b left');
        // Both sides keep every inserted string and agree on length.
        assert.equal(one.length, two.length);
      }),
      propertyParams(),
    );
  });

  it('transform output is canonical, fits, never splits a surrogate pair, and has the right lengths', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, b, afterA, afterB }) => {
        for (const side of ['left', 'right'] as const) {
          const a2 = transform(a, b, side);
          const b2 = transform(b, a, side === 'left' ? 'right' : 'left');
          assert.ok(isCanonical(a2), JSON.stringify(a2));
          assert.ok(isCanonical(b2), JSON.stringify(b2));
          assert.equal(baseLength(a2), afterB.length);
          assert.equal(baseLength(b2), afterA.length);
          const r1 = checkOpFits(a2, afterB);
          assert.ok(r1.ok, JSON.stringify({ text, a, b, side, a2, r1 }));
          const r2 = checkOpFits(b2, afterA);
          assert.ok(r2.ok, JSON.stringify({ text, a, b, side, b2, r2 }));
          const result = modelApply(a2, afterB);
          assert.ok(isWellFormedUtf16(result));
          assert.equal(targetLength(a2), result.length);
          assert.equal(targetLength(b2), result.length);
        }
      }),
      propertyParams(),
    );
  });

  it('compose equals sequential apply, is canonical and has the right lengths', () => {
    fc.assert(
      fc.property(arbDocAndOpChain(2), ({ text, ops, texts }) => {
        const [a, b] = ops as [TextOp, TextOp];
        const c = compose(a, b);
        assert.ok(isCanonical(c), JSON.stringify(c));
        assert.equal(baseLength(c), text.length);
        assert.equal(targetLength(c), texts[1]!.length);
        assert.equal(apply(c, text), apply(b, apply(a, text)));
        assert.equal(modelApply(c, text), texts[1]);
      }),
      propertyParams(),
    );
  });

  it('compose of a chain of 5 ops equals applying them one by one', () => {
    fc.assert(
      fc.property(arbDocAndOpChain(5), ({ text, ops, texts }) => {
        let sequential = text;
        for (const op of ops) sequential = apply(op, sequential);
        assert.equal(sequential, texts[4]);
        const composed = ops.reduce((acc, op) => compose(acc, op));
        assert.ok(isCanonical(composed));
        assert.equal(apply(composed, text), sequential);
        // Composing from the right gives the same effect.
        const fromRight = ops.reduceRight((acc, op) => compose(op, acc));
        assert.equal(apply(fromRight, text), sequential);
      }),
      propertyParams(),
    );
  });

  it('invert undoes the op, is canonical and has the right lengths', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a, afterA }) => {
        const inv = invert(a, text);
        assert.ok(isCanonical(inv), JSON.stringify(inv));
        assert.equal(baseLength(inv), afterA.length);
        assert.equal(targetLength(inv), text.length);
        assert.equal(apply(inv, apply(a, text)), text);
        assert.equal(modelApply(inv, afterA), text);
        assert.ok(checkOpFits(inv, afterA).ok);
      }),
      propertyParams(),
    );
  });

  it('invert reads a rope as it reads the string, and applied to the rope restores it', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ text, a }) => {
        const rope = new Rope(text);
        const inv = invert(a, rope);
        assert.deepEqual(inv, invert(a, text));
        rope.apply(a);
        rope.apply(inv);
        assert.equal(rope.toString(), text);
      }),
      propertyParams(),
    );
  });

  it('normalize makes any component list canonical without changing its effect', () => {
    const rawComponent = fc.oneof(
      fc.integer({ min: -4, max: 4 }),
      fc.constant(''),
      arbToken(),
      arbText(5),
    );
    fc.assert(
      fc.property(fc.array(rawComponent, { maxLength: 12 }), (raw) => {
        const base = modelBase(raw);
        const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(base / 26) + 1).slice(0, base);
        const n = normalize(raw);
        assert.ok(isCanonical(n), JSON.stringify({ raw, n }));
        assert.equal(baseLength(n), base);
        assert.equal(apply(n, text), modelApply(raw, text));
        // Canonical input is left as it is.
        assert.deepEqual(normalize(n), n);
      }),
      propertyParams(),
    );
  });

  it('replaceOp is canonical and replaces the given range', () => {
    fc.assert(
      fc.property(
        arbText(30).chain((text) =>
          fc
            .tuple(fc.nat({ max: text.length }), fc.nat({ max: text.length }), arbText(6))
            .map(([x, y, ins]) => ({ text, offset: Math.min(x, y), del: Math.abs(x - y), ins })),
        ),
        ({ text, offset, del, ins }) => {
          const op = replaceOp(text.length, offset, del, ins);
          assert.ok(isCanonical(op), JSON.stringify(op));
          assert.equal(baseLength(op), text.length);
          assert.equal(apply(op, text), text.slice(0, offset) + ins + text.slice(offset + del));
          assert.equal(isNoop(op), del === 0 && ins === '');
        },
      ),
      propertyParams(),
    );
  });

  it('isNoop is true exactly for ops without inserts and deletes', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ a }) => {
        assert.equal(isNoop(a), a.every((c) => typeof c === 'number' && c > 0));
      }),
      propertyParams(),
    );
  });

  it('transformPosition follows the character it was in front of (checked at every offset)', () => {
    fc.assert(
      fc.property(
        arbText(40).chain((text) => arbEditOn(text).map((g) => ({ text, ...g }))),
        ({ text, op, after }) => {
          const { ids, insertedAt } = applyToIds(op, text.length);
          assert.equal(ids.length, after.length);
          const newIndex = new Map<number, number>();
          ids.forEach((id, i) => {
            if (id >= 0) newIndex.set(id, i);
          });
          let insertedBefore = 0; // code units inserted at base offsets < pos
          let survivorsBefore = 0; // original characters < pos that survive
          for (let pos = 0; pos <= text.length; pos++) {
            // Default: the position follows the next surviving original character.
            let expected = after.length;
            for (let q = pos; q < text.length; q++) {
              const at = newIndex.get(q);
              if (at !== undefined) {
                expected = at;
                break;
              }
            }
            const got = transformPosition(pos, op);
            assert.equal(got, expected, JSON.stringify({ text, op, pos }));
            // The same, as a count; and with stickLeft an insert exactly at pos stays after it.
            const here = insertedAt.get(pos) ?? 0;
            assert.equal(got, survivorsBefore + insertedBefore + here);
            assert.equal(transformPosition(pos, op, true), survivorsBefore + insertedBefore, JSON.stringify({ text, op, pos }));
            insertedBefore += here;
            if (newIndex.has(pos)) survivorsBefore++;
          }
          // Beyond the end clamps to the end.
          assert.equal(transformPosition(text.length + 5, op), after.length);
        },
      ),
      propertyParams(),
    );
  });

  it('transformSelection keeps anchor/head order, keeps collapsed selections collapsed, and keeps surviving selected text inside', () => {
    fc.assert(
      fc.property(
        arbText(40).chain((text) =>
          fc
            .tuple(arbEditOn(text), fc.nat({ max: text.length }), fc.nat({ max: text.length }), fc.boolean())
            .map(([g, anchor, head, collapse]) => ({ text, ...g, anchor, head: collapse ? anchor : head })),
        ),
        ({ text, op, after, anchor, head }) => {
          const sel = transformSelection({ anchor, head }, op);
          for (const p of [sel.anchor, sel.head]) assert.ok(p >= 0 && p <= after.length);
          if (anchor === head) {
            assert.equal(sel.anchor, sel.head);
            assert.equal(sel.head, transformPosition(head, op));
            return;
          }
          if (anchor < head) assert.ok(sel.anchor <= sel.head, JSON.stringify({ text, op, anchor, head, sel }));
          else assert.ok(sel.anchor >= sel.head, JSON.stringify({ text, op, anchor, head, sel }));
          const lo = Math.min(anchor, head);
          const hi = Math.max(anchor, head);
          const newLo = Math.min(sel.anchor, sel.head);
          const newHi = Math.max(sel.anchor, sel.head);
          const { ids } = applyToIds(op, text.length);
          ids.forEach((id, i) => {
            if (id < 0) return;
            const inside = id >= lo && id < hi;
            assert.equal(i >= newLo && i < newHi, inside, JSON.stringify({ text, op, anchor, head, sel, id }));
          });
        },
      ),
      propertyParams(),
    );
  });

  it('toCanonicalText removes every \\r, keeps the line structure, and is idempotent', () => {
    fc.assert(
      fc.property(arbRawText(60), (raw) => {
        const out = toCanonicalText(raw);
        assert.ok(!out.includes('\r'));
        assert.ok(isCanonicalText(out));
        const lines = raw.split(/\r\n|\r|\n/);
        assert.equal(out.split('\n').length, lines.length);
        assert.equal(out, lines.join('\n'));
        assert.equal(toCanonicalText(out), out);
        if (!raw.includes('\r')) assert.equal(out, raw);
      }),
      propertyParams(),
    );
  });
});

describe('canonical-text properties', function () {
  this.timeout(LONG);

  /** Strings of arbitrary code units, rich in surrogates (paired, lone, reversed), \r and NUL. */
  const arbUnits = fc
    .array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.constantFrom(0x00, 0x0a, 0x0d, 0xd83d, 0xde00, 0xdbff, 0xdc00, 0xd800, 0xdfff),
        fc.integer({ min: 0, max: 0xffff }),
      ),
      { maxLength: 12 },
    )
    .map((units) => String.fromCharCode(...units));

  it('isWellFormedUtf16, isCanonicalText and splitsSurrogatePair agree with independent checks', () => {
    fc.assert(
      fc.property(arbUnits, (s) => {
        // With the u flag a paired surrogate is one code point; only a lone surrogate matches \p{Cs}.
        const wellFormed = !/\p{Cs}/u.test(s);
        assert.equal(isWellFormedUtf16(s), wellFormed, JSON.stringify(s));
        assert.equal(isCanonicalText(s), wellFormed && !s.includes('\r') && !s.includes('\0'));
        for (let o = -1; o <= s.length + 1; o++) {
          const hi = s.charCodeAt(o - 1);
          const lo = s.charCodeAt(o);
          const expected = hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
          assert.equal(splitsSurrogatePair(s, o), expected, JSON.stringify({ s, o }));
        }
      }),
      propertyParams(),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

describe('text-op examples', () => {
  it('apply refuses a base length mismatch with OP_BASE_LENGTH_MISMATCH', () => {
    assert.throws(() => apply([3], 'ab'), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.throws(() => apply([1], 'ab'), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.throws(() => apply(['x'], 'a'), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.throws(() => apply([1, -2], 'ab'), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.equal(apply([], ''), '');
    assert.equal(apply(['x'], ''), 'x');
  });

  it('compose and transform refuse mismatched lengths with OP_BASE_LENGTH_MISMATCH', () => {
    assert.throws(() => compose([2], [3]), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.throws(() => compose([1, 'x'], [1]), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
    assert.throws(() => transform([2], [3], 'left'), expectCode(ErrorCode.OP_BASE_LENGTH_MISMATCH));
  });

  it('apply on hand-written ops', () => {
    assert.equal(apply([5, 'hi', -3, 2], 'helloabc!!'), 'hellohi!!');
    assert.equal(apply(['😀', -1], 'x'), '😀');
    assert.equal(apply([-3], 'abc'), '');
    assert.equal(apply([1, 'e\u0301', 1], 'ab'), 'ae\u0301b');
  });

  it('two inserts at the same offset: side decides the order', () => {
    const s = 'ab';
    const a: TextOp = [1, 'X', 1];
    const b: TextOp = [1, 'Y', 1];
    assert.deepEqual(transform(a, b, 'left'), [1, 'X', 2]);
    assert.deepEqual(transform(b, a, 'right'), [2, 'Y', 1]);
    assert.equal(apply(transform(a, b, 'left'), apply(b, s)), 'aXYb');
    assert.equal(apply(transform(b, a, 'right'), apply(a, s)), 'aXYb');
    assert.deepEqual(transform(a, b, 'right'), [2, 'X', 1]);
    assert.deepEqual(transform(b, a, 'left'), [1, 'Y', 2]);
    assert.equal(apply(transform(a, b, 'right'), apply(b, s)), 'aYXb');
    assert.equal(apply(transform(b, a, 'left'), apply(a, s)), 'aYXb');
  });

  it('two inserts at the start and at the end of the text', () => {
    assert.equal(apply(transform(['X'], ['Y'], 'left'), 'Y'), 'XY');
    assert.equal(apply(transform(['Y'], ['X'], 'right'), 'X'), 'XY');
    assert.deepEqual(transform([2, 'X'], [2, '😀'], 'right'), [4, 'X']);
    assert.deepEqual(transform([2, 'X'], [2, '😀'], 'left'), [2, 'X', 2]);
  });

  it('an insert inside a concurrently deleted range survives', () => {
    const s = 'abcd';
    const a: TextOp = [2, 'X', 2]; // insert between b and c
    const b: TextOp = [1, -2, 1]; // delete bc
    assert.deepEqual(transform(a, b, 'left'), [1, 'X', 1]);
    assert.deepEqual(transform(b, a, 'right'), [1, -1, 1, -1, 1]);
    assert.equal(apply(transform(a, b, 'left'), apply(b, s)), 'aXd');
    assert.equal(apply(transform(b, a, 'right'), apply(a, s)), 'aXd');
    assert.deepEqual(transform(a, b, 'right'), [1, 'X', 1]);
    assert.deepEqual(transform(b, a, 'left'), [1, -1, 1, -1, 1]);
  });

  it('overlapping deletes remove the shared text once', () => {
    const s = 'abcdef';
    const a: TextOp = [1, -3, 2]; // delete bcd
    const b: TextOp = [2, -3, 1]; // delete cde
    assert.deepEqual(transform(a, b, 'left'), [1, -1, 1]);
    assert.deepEqual(transform(b, a, 'right'), [1, -1, 1]);
    assert.equal(apply(transform(a, b, 'left'), apply(b, s)), 'af');
    assert.equal(apply(transform(b, a, 'right'), apply(a, s)), 'af');
    // Identical deletes become no-ops.
    assert.deepEqual(transform([1, -2, 3], [1, -2, 3], 'left'), [4]);
    // A delete containing the other.
    assert.deepEqual(transform([-6], [2, -2, 2], 'left'), [-4]);
    assert.deepEqual(transform([2, -2, 2], [-6], 'right'), []);
  });

  it('replace/replace of the same range keeps both inserts, ordered by side', () => {
    const s = 'q';
    const a: TextOp = ['x', -1];
    const b: TextOp = ['y', -1];
    assert.equal(apply(transform(a, b, 'left'), apply(b, s)), 'xy');
    assert.equal(apply(transform(b, a, 'right'), apply(a, s)), 'xy');
  });

  it('isNoop', () => {
    assert.equal(isNoop([]), true);
    assert.equal(isNoop([5]), true);
    assert.equal(isNoop(['x']), false);
    assert.equal(isNoop([-1]), false);
    assert.equal(isNoop([1, 'x', 1]), false);
    assert.equal(isNoop([1, -1, 1]), false);
  });

  it('replaceOp', () => {
    assert.deepEqual(replaceOp(10, 5, 3, 'hi'), [5, 'hi', -3, 2]);
    assert.deepEqual(replaceOp(3, 0, 0, 'x'), ['x', 3]);
    assert.deepEqual(replaceOp(3, 3, 0, 'x'), [3, 'x']);
    assert.deepEqual(replaceOp(3, 0, 3, ''), [-3]);
    assert.deepEqual(replaceOp(3, 1, 0, ''), [3]);
    assert.deepEqual(replaceOp(0, 0, 0, ''), []);
    assert.throws(() => replaceOp(3, 2, 2, 'x'), expectCode(ErrorCode.INVALID_OP));
    assert.throws(() => replaceOp(3, -1, 0, 'x'), expectCode(ErrorCode.INVALID_OP));
    assert.throws(() => replaceOp(3, 0, -1, 'x'), expectCode(ErrorCode.INVALID_OP));
    assert.throws(() => replaceOp(3, NaN, 0, 'x'), expectCode(ErrorCode.INVALID_OP));
    assert.throws(() => replaceOp(3, 1.5, 0, 'x'), expectCode(ErrorCode.INVALID_OP));
    assert.throws(() => replaceOp(3, 1, 0.5, 'x'), expectCode(ErrorCode.INVALID_OP));
  });

  it('normalize', () => {
    assert.deepEqual(normalize([]), []);
    assert.deepEqual(normalize([0, '', 0]), []);
    assert.deepEqual(normalize([1, 2, 'a', 'b', -1, -2]), [3, 'ab', -3]);
    assert.deepEqual(normalize([-2, 'x', 1]), ['x', -2, 1]);
    assert.deepEqual(normalize(['a', -1, 'b', -1, 2]), ['ab', -2, 2]);
    assert.deepEqual(normalize([1, -1, 0, 'x', 1]), [1, 'x', -1, 1]);
    assert.deepEqual(normalize([-1, '', -1]), [-2]);
  });

  it('OpBuilder puts an insert before an adjacent delete', () => {
    assert.deepEqual(new OpBuilder().retain(5).insert('hi').delete(3).retain(10).build(), [5, 'hi', -3, 10]);
    assert.deepEqual(new OpBuilder().delete(2).insert('x').build(), ['x', -2]);
    assert.deepEqual(new OpBuilder().retain(1).delete(2).insert('x').insert('y').delete(1).build(), [1, 'xy', -3]);
    assert.deepEqual(new OpBuilder().retain(0).insert('').delete(0).build(), []);
  });

  it('invert on hand-written ops', () => {
    assert.deepEqual(invert([5, 'hi', -3, 2], 'helloabc!!'), [5, 'abc', -2, 2]);
    assert.deepEqual(invert(['x', -2], 'ab'), ['ab', -1]);
  });

  it('transformPosition and transformSelection on hand-written ops', () => {
    const op: TextOp = [2, 'XY', 3]; // insert at 2 in a text of length 5
    assert.equal(transformPosition(1, op), 1);
    assert.equal(transformPosition(2, op), 4);
    assert.equal(transformPosition(2, op, true), 2);
    assert.equal(transformPosition(3, op), 5);
    assert.equal(transformPosition(5, op), 7);
    const del: TextOp = [1, -3, 1]; // delete 1..4 of a text of length 5
    assert.equal(transformPosition(0, del), 0);
    assert.equal(transformPosition(2, del), 1);
    assert.equal(transformPosition(4, del), 1);
    assert.equal(transformPosition(5, del), 2);
    // The selected text keeps inserts at its edges outside itself.
    assert.deepEqual(transformSelection({ anchor: 2, head: 4 }, [2, 'A', 2, 'B', 1]), { anchor: 3, head: 5 });
    assert.deepEqual(transformSelection({ anchor: 4, head: 2 }, [2, 'A', 2, 'B', 1]), { anchor: 5, head: 3 });
    assert.deepEqual(transformSelection({ anchor: 2, head: 2 }, [2, 'A', 3]), { anchor: 3, head: 3 });
    // A selection whose text is deleted collapses.
    assert.deepEqual(transformSelection({ anchor: 1, head: 4 }, del), { anchor: 1, head: 1 });
  });

  it('toCanonicalText examples', () => {
    assert.equal(toCanonicalText('a\r\nb\rc\nd'), 'a\nb\nc\nd');
    assert.equal(toCanonicalText('\r\r\n'), '\n\n');
    assert.equal(toCanonicalText('\n\r'), '\n\n');
    assert.equal(toCanonicalText('plain'), 'plain');
    assert.equal(toCanonicalText(''), '');
  });
});
