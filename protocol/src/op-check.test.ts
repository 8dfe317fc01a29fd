import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { textHash } from './canonical-text';
import { ErrorCode, type Result } from './errors';
import { checkOpFits, parseOp } from './op-check';
import { Rope } from './rope';
import type { TextOp } from './text-op';
import { arbDocAndTwoOps, arbEditOn, arbText, arbToken, propertyParams } from './test-support/generators';

function expectFail(result: Result<unknown>, code: ErrorCode, what: string): void {
  assert.equal(result.ok, false, `${what}: expected ${code}, but it was accepted`);
  if (!result.ok) assert.equal(result.error.code, code, `${what}: ${result.error.message}`);
}

/** Independent judgement: is `raw` a canonical op whose inserts are canonical text (no \r, no NUL, no lone surrogate)? */
function isValidOp(raw: unknown): boolean {
  if (!Array.isArray(raw)) return false;
  let prev = '';
  for (const c of raw as unknown[]) {
    let kind: string;
    if (typeof c === 'string') {
      // With the u flag, a paired surrogate is one code point; only a lone surrogate matches \p{Cs}.
      if (c === '' || c.includes('\r') || c.includes('\0') || /\p{Cs}/u.test(c)) return false;
      kind = 'insert';
    } else if (typeof c === 'number' && Number.isSafeInteger(c) && c !== 0) {
      kind = c > 0 ? 'retain' : 'delete';
    } else {
      return false;
    }
    if (kind === prev || (kind === 'insert' && prev === 'delete')) return false;
    prev = kind;
  }
  return true;
}

describe('parseOp', function () {
  this.timeout(120_000);

  it('accepts every generated canonical op, returning it unchanged', () => {
    fc.assert(
      fc.property(arbDocAndTwoOps(), ({ a }) => {
        const copy: unknown = JSON.parse(JSON.stringify(a));
        const r = parseOp(copy);
        assert.ok(r.ok, JSON.stringify({ a, r }));
        assert.deepEqual(r.value, a);
      }),
      propertyParams(),
    );
  });

  it('accepts exactly the canonical, well-formed component arrays (random near-miss arrays)', () => {
    const component = fc.oneof(
      { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 4 },
      { arbitrary: arbToken(), weight: 4 },
      { arbitrary: fc.constantFrom<unknown>('', '\r', 'a\r\nb', '\0', 'a\0b', '\ud83d', '\ude00', 'x\ud83d', '\ude00\ud83d'), weight: 1 },
      { arbitrary: fc.constantFrom<unknown>(1.5, -0.5, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), -0), weight: 1 },
      { arbitrary: fc.constantFrom<unknown>(null, undefined, true, false, {}, [], [1], { 0: 1 }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(component, { maxLength: 6 }), (raw) => {
        const r = parseOp(raw);
        assert.equal(r.ok, isValidOp(raw), JSON.stringify(raw));
        if (!r.ok) assert.ok(r.error.code === ErrorCode.INVALID_OP || r.error.code === ErrorCode.INVALID_TEXT, r.error.code);
      }),
      propertyParams(),
    );
  });

  it('accepts hand-written canonical ops', () => {
    for (const op of [[], [5], ['x'], [-3], [5, 'hi', -3, 10], ['😀', -1], [1, 'e\u0301', 1], ['👨‍👩‍👧']]) {
      const r = parseOp(op);
      assert.ok(r.ok, JSON.stringify(op));
      assert.deepEqual(r.value, op);
    }
  });

  it('rejects a non-array with INVALID_OP', () => {
    for (const raw of ['x', '', 5, 0, null, undefined, true, {}, { length: 1, 0: 1 }, new Set([1])]) {
      expectFail(parseOp(raw), ErrorCode.INVALID_OP, String(raw));
    }
  });

  it('rejects components that are not non-zero safe integers or strings with INVALID_OP', () => {
    const bad: unknown[] = [0, -0, 1.5, -1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), null, undefined, {}, [], [1], true, false];
    for (const c of bad) {
      expectFail(parseOp([c]), ErrorCode.INVALID_OP, `[${String(c)}]`);
      expectFail(parseOp([1, 'x', c]), ErrorCode.INVALID_OP, `[1, 'x', ${String(c)}]`);
    }
    // A sparse array has a hole (undefined).
    expectFail(parseOp([1, , 'x']), ErrorCode.INVALID_OP, 'sparse array');
  });

  it('rejects an empty insert with INVALID_OP', () => {
    expectFail(parseOp(['']), ErrorCode.INVALID_OP, "['']");
    expectFail(parseOp([1, '', 1]), ErrorCode.INVALID_OP, "[1, '', 1]");
  });

  it('rejects adjacent components of the same kind with INVALID_OP', () => {
    expectFail(parseOp([1, 2]), ErrorCode.INVALID_OP, '[1, 2]');
    expectFail(parseOp(['a', 'b']), ErrorCode.INVALID_OP, "['a', 'b']");
    expectFail(parseOp([-1, -2]), ErrorCode.INVALID_OP, '[-1, -2]');
    expectFail(parseOp([3, 'a', -1, -1, 2]), ErrorCode.INVALID_OP, '[3, a, -1, -1, 2]');
  });

  it('rejects an insert right after a delete with INVALID_OP', () => {
    expectFail(parseOp([-1, 'x']), ErrorCode.INVALID_OP, "[-1, 'x']");
    expectFail(parseOp([2, -1, 'x', 3]), ErrorCode.INVALID_OP, "[2, -1, 'x', 3]");
  });

  it('rejects \\r in an insert with INVALID_TEXT', () => {
    for (const s of ['\r', 'a\rb', 'a\r\nb', '\n\r']) expectFail(parseOp([1, s]), ErrorCode.INVALID_TEXT, JSON.stringify(s));
  });

  it('rejects NUL in an insert with INVALID_TEXT', () => {
    for (const s of ['\0', 'a\0', '\0b', '😀\0']) expectFail(parseOp([1, s]), ErrorCode.INVALID_TEXT, JSON.stringify(s));
  });

  it('rejects lone surrogates in an insert with INVALID_TEXT', () => {
    for (const s of ['\ud83d', '\ude00', 'a\ud83d', '\ude00a', '\ude00\ud83d', '😀\ud83d', 'x\ud83dy']) {
      expectFail(parseOp([s]), ErrorCode.INVALID_TEXT, JSON.stringify(s));
    }
    assert.ok(parseOp(['\ud83d\ude00']).ok);
  });

  it('rejects too many components and too long inserts with OP_TOO_LARGE', () => {
    const limits = { maxOpComponents: 3, maxOpInsertLength: 4 };
    assert.ok(parseOp([1, 'a', 1], limits).ok);
    expectFail(parseOp([1, 'a', 1, 'b'], limits), ErrorCode.OP_TOO_LARGE, '4 components');
    assert.ok(parseOp(['abcd'], limits).ok);
    expectFail(parseOp(['abcde'], limits), ErrorCode.OP_TOO_LARGE, '5 inserted');
    expectFail(parseOp(['ab', 1, 'cde'], limits), ErrorCode.OP_TOO_LARGE, '5 inserted in two inserts');
    // Inserted length counts UTF-16 code units.
    assert.ok(parseOp(['😀😀'], limits).ok);
    expectFail(parseOp(['😀😀a'], limits), ErrorCode.OP_TOO_LARGE, 'three emoji units');
  });
});

describe('checkOpFits', function () {
  this.timeout(120_000);

  it('accepts every op from arbOpOn(text), on a string and on a Rope', () => {
    fc.assert(
      fc.property(
        arbText(60).chain((text) => arbEditOn(text).map((g) => ({ text, op: g.op }))),
        ({ text, op }) => {
          const r = checkOpFits(op, text);
          assert.ok(r.ok, JSON.stringify({ text, op, r }));
          assert.ok(checkOpFits(op, new Rope(text)).ok);
        },
      ),
      propertyParams(),
    );
  });

  it('rejects any edit boundary between the halves of a surrogate pair with INVALID_TEXT', () => {
    const arbCase = arbText(40)
      .map((text) => {
        const mids: number[] = [];
        for (let i = 1; i < text.length; i++) {
          const hi = text.charCodeAt(i - 1);
          const lo = text.charCodeAt(i);
          if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) mids.push(i);
        }
        return { text, mids };
      })
      .filter(({ mids }) => mids.length > 0)
      .chain(({ text, mids }) => fc.tuple(fc.constant(text), fc.constantFrom(...mids), fc.nat({ max: text.length })));
    fc.assert(
      fc.property(arbCase, ([text, mid, other]) => {
        const len = text.length;
        const ops: TextOp[] = [
          [mid, 'x', len - mid], // insert mid-pair
          [mid, -(len - mid)], // retain ending mid-pair, delete starting mid-pair to the end
          [-mid, len - mid], // delete ending mid-pair
          ['y', -mid, len - mid], // replace ending mid-pair
        ];
        if (other < mid) ops.push(other === 0 ? [-mid, len - mid] : [other, -(mid - other), len - mid]);
        if (other > mid) ops.push(other === len ? [mid, -(len - mid)] : [mid, -(other - mid), len - other]);
        for (const op of ops) {
          expectFail(checkOpFits(op, text), ErrorCode.INVALID_TEXT, JSON.stringify({ text, op }));
          expectFail(checkOpFits(op, new Rope(text)), ErrorCode.INVALID_TEXT, JSON.stringify({ text, op, rope: true }));
        }
      }),
      propertyParams(),
    );
  });

  it('rejects a base length mismatch with OP_BASE_LENGTH_MISMATCH', () => {
    expectFail(checkOpFits([3], 'ab'), ErrorCode.OP_BASE_LENGTH_MISMATCH, '[3] on ab');
    expectFail(checkOpFits([1], 'ab'), ErrorCode.OP_BASE_LENGTH_MISMATCH, '[1] on ab');
    expectFail(checkOpFits([1, -2], 'ab'), ErrorCode.OP_BASE_LENGTH_MISMATCH, '[1, -2] on ab');
    expectFail(checkOpFits(['x'], 'a'), ErrorCode.OP_BASE_LENGTH_MISMATCH, "['x'] on a");
    expectFail(checkOpFits([], 'a'), ErrorCode.OP_BASE_LENGTH_MISMATCH, '[] on a');
    expectFail(checkOpFits([1], ''), ErrorCode.OP_BASE_LENGTH_MISMATCH, '[1] on empty');
    assert.ok(checkOpFits([], '').ok);
    assert.ok(checkOpFits(['x'], '').ok);
  });

  it('rejects boundaries splitting a surrogate pair with INVALID_TEXT (examples)', () => {
    const text = 'a😀b'; // 😀 is at 1..3
    expectFail(checkOpFits([2, -1, 1], text), ErrorCode.INVALID_TEXT, 'retain ending mid-pair');
    expectFail(checkOpFits([2, -2], text), ErrorCode.INVALID_TEXT, 'delete starting mid-pair');
    expectFail(checkOpFits([1, -1, 2], text), ErrorCode.INVALID_TEXT, 'delete ending mid-pair');
    expectFail(checkOpFits([2, 'x', 2], text), ErrorCode.INVALID_TEXT, 'insert mid-pair');
    expectFail(checkOpFits([2, 'x', -2], text), ErrorCode.INVALID_TEXT, 'insert and delete mid-pair');
    expectFail(checkOpFits([-1, 1], '😀'), ErrorCode.INVALID_TEXT, 'delete the high half at the start');
    expectFail(checkOpFits([1, -1], '😀'), ErrorCode.INVALID_TEXT, 'delete the low half at the end');
    expectFail(checkOpFits([1, 'x', 1], '😀'), ErrorCode.INVALID_TEXT, 'insert mid-pair of a one-emoji text');
    expectFail(checkOpFits([3, 'x', 1], '👍🏽'), ErrorCode.INVALID_TEXT, 'insert mid-pair of the skin-tone modifier');
    // Boundaries between two pairs are fine, including between a base emoji and its modifier.
    assert.ok(checkOpFits([1, -2, 1], text).ok);
    assert.ok(checkOpFits([3, 'x', 1], text).ok);
    assert.ok(checkOpFits([2, 'x', 2], '👍🏽').ok);
    assert.ok(checkOpFits(['x', -2], '😀').ok);
    assert.ok(checkOpFits([2, 'x'], '😀').ok);
  });

  it('rejects an op that would make the document too large with DOCUMENT_TOO_LARGE', () => {
    const limits = { maxDocumentLength: 5 };
    assert.ok(checkOpFits([3, 'xy'], 'abc', limits).ok);
    expectFail(checkOpFits([3, 'xyz'], 'abc', limits), ErrorCode.DOCUMENT_TOO_LARGE, '6 > 5');
    expectFail(checkOpFits(['abcdef'], '', limits), ErrorCode.DOCUMENT_TOO_LARGE, 'insert into empty');
    // A document already over the limit may still shrink.
    assert.ok(checkOpFits([2, -5], 'abcdefg', limits).ok);
    expectFail(checkOpFits([1, 'x', -1, 5], 'abcdefg', limits), ErrorCode.DOCUMENT_TOO_LARGE, 'over the limit and not shrinking');
  });
});

describe('textHash', function () {
  this.timeout(120_000);

  const HEX14 = /^[0-9a-f]{14}$/;

  it('is equal for equal texts, whether passed whole or as chunks', () => {
    const arbSplit = arbText(80).chain((text) =>
      fc.array(fc.nat({ max: text.length }), { maxLength: 6 }).map((cuts) => ({ text, cuts: [...cuts].sort((x, y) => x - y) })),
    );
    fc.assert(
      fc.property(arbSplit, ({ text, cuts }) => {
        const h = textHash(text);
        assert.match(h, HEX14);
        // A different string object with the same content.
        assert.equal(textHash((' ' + text).slice(1)), h);
        // Chunks cut anywhere (even between the halves of a pair, and empty chunks).
        const chunks: string[] = [];
        let prev = 0;
        for (const c of [...cuts, text.length]) {
          chunks.push(text.slice(prev, c));
          prev = c;
        }
        assert.equal(chunks.join(''), text);
        assert.equal(textHash(chunks), h);
        assert.equal(
          textHash(
            (function* () {
              yield* chunks;
            })(),
          ),
          h,
        );
      }),
      propertyParams(),
    );
  });

  it('is cyrb53 (seed 0) as 14 hex digits: the published reference values', () => {
    // Values from the reference cyrb53 implementation (github.com/bryc/code, jshash/experimental/cyrb53.js).
    const reference: [string, number][] = [
      ['a', 7929297801672961],
      ['b', 8684336938537663],
      ['revenge', 4051478007546757],
      ['revenue', 8309097637345594],
    ];
    for (const [text, value] of reference) assert.equal(textHash(text), value.toString(16).padStart(14, '0'), text);
  });

  it('is equal for a rope chunk list and the whole text', () => {
    const text = 'x😀y\n'.repeat(5000);
    const rope = new Rope(text);
    assert.ok(rope.chunkList().length > 1);
    assert.equal(textHash(rope.chunkList()), textHash(text));
  });

  it('differs for different texts', () => {
    fc.assert(
      fc.property(arbText(30), arbText(30), (x, y) => {
        fc.pre(x !== y);
        assert.notEqual(textHash(x), textHash(y), JSON.stringify({ x, y }));
      }),
      propertyParams(),
    );
    const sample = ['', ' ', '\n', 'a', 'b', 'A', 'ab', 'ba', 'aa', 'a\n', '\na', '😀', '\ud83d\ude01', 'e\u0301', 'é', '漢字', '字漢', 'abc', 'abd'];
    const hashes = new Set(sample.map((t) => textHash(t)));
    assert.equal(hashes.size, sample.length);
    for (const h of hashes) assert.match(h, HEX14);
  });
});
