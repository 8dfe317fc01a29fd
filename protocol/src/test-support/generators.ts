/**
 * Seeded fast-check arbitraries shared by the protocol's property tests.
 *
 * Texts are built from an alphabet that mixes ASCII letters, spaces, line breaks, astral emoji
 * (surrogate pairs, skin-tone modifiers, ZWJ sequences), combining marks and CJK. Operations are
 * generated together with the text they produce, computed here by plain string slicing (never with
 * the library's `apply`), so that tests can use that text as an independent expectation.
 *
 * Every property run prints its seed once per process; replay a failure with `SEED=<n>`, and change
 * the number of runs with `PROPERTY_RUNS=<n>`.
 */
import fc from 'fast-check';
import { OpBuilder, type TextOp } from '../text-op';

// ---------------------------------------------------------------------------------------------
// Run parameters
// ---------------------------------------------------------------------------------------------

let chosenSeed: number | undefined;

function readSeed(): number {
  if (chosenSeed !== undefined) return chosenSeed;
  const fromEnv = process.env['SEED'];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    const parsed = Number(fromEnv);
    if (!Number.isSafeInteger(parsed)) throw new Error(`SEED must be an integer, got ${JSON.stringify(fromEnv)}`);
    chosenSeed = parsed | 0;
  } else {
    chosenSeed = (Math.random() * 0x1_0000_0000) | 0;
  }
  console.log('property seed', chosenSeed);
  return chosenSeed;
}

/**
 * Parameters for `fc.assert`: `numRuns` is `defaultRuns` (10,000 unless a test lowers it for a
 * stated reason) or `PROPERTY_RUNS` when set; `seed` is `SEED` when set, else random (printed once).
 */
export function propertyParams(defaultRuns = 10_000): { numRuns: number; seed: number } {
  const runsEnv = process.env['PROPERTY_RUNS'];
  let numRuns = defaultRuns;
  if (runsEnv !== undefined && runsEnv.trim() !== '') {
    const parsed = Number(runsEnv);
    if (!Number.isSafeInteger(parsed) || parsed <= 0) {
      throw new Error(`PROPERTY_RUNS must be a positive integer, got ${JSON.stringify(runsEnv)}`);
    }
    numRuns = parsed;
  }
  return { numRuns, seed: readSeed() };
}

// ---------------------------------------------------------------------------------------------
// Alphabet and texts
// ---------------------------------------------------------------------------------------------

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
/** Astral characters: every one is (or contains) a surrogate pair. */
export const EMOJI: readonly string[] = ['😀', '👍🏽', '👨‍👩‍👧', '🎉'];
/** Letters followed by combining marks (one grapheme, two code points). */
export const COMBINING: readonly string[] = ['e\u0301', 'a\u0308'];
/** CJK (BMP, one code unit per character). */
export const CJK: readonly string[] = ['漢字', 'かな', '漢'];

/** One token of canonical text: a letter, a space, `\n`, an emoji, a combining sequence or CJK. */
export function arbToken(): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...LETTERS), weight: 8 },
    { arbitrary: fc.constantFrom(' ', '\n'), weight: 3 },
    { arbitrary: fc.constantFrom(...EMOJI), weight: 2 },
    { arbitrary: fc.constantFrom(...COMBINING), weight: 1 },
    { arbitrary: fc.constantFrom(...CJK), weight: 1 },
  );
}

/** A token of raw (not yet canonical) text: a canonical token, `\r\n` or a lone `\r`. */
function arbRawToken(): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: arbToken(), weight: 6 }, { arbitrary: fc.constantFrom('\r\n', '\r', '\r\r', '\n\r'), weight: 2 });
}

/** Concatenates tokens while the total stays within `maxLen` code units (tokens are never cut). */
function joinWithin(tokens: readonly string[], maxLen: number): string {
  let out = '';
  for (const t of tokens) if (out.length + t.length <= maxLen) out += t;
  return out;
}

/** Canonical text of at most `maxLen` UTF-16 code units: no `\r`, no lone surrogate. */
export function arbText(maxLen: number): fc.Arbitrary<string> {
  return fc.array(arbToken(), { maxLength: maxLen, size: 'max' }).map((tokens) => joinWithin(tokens, maxLen));
}

/** Like `arbText`, but also with `\r\n` and lone `\r`: input for `toCanonicalText`. */
export function arbRawText(maxLen: number): fc.Arbitrary<string> {
  return fc.array(arbRawToken(), { maxLength: maxLen, size: 'max' }).map((tokens) => joinWithin(tokens, maxLen));
}

/**
 * A long canonical text (about `minLen`..`maxLen` code units) built by repeating a short random
 * text, with a short random prefix so that chunk cut points land at varied offsets (including right
 * after a high surrogate).
 */
export function arbLongText(minLen = 20_000, maxLen = 100_000): fc.Arbitrary<string> {
  return fc
    .record({
      prefix: arbText(3),
      unit: arbText(40).filter((t) => t.length > 0),
      target: fc.integer({ min: minLen, max: maxLen }),
    })
    .map(({ prefix, unit, target }) => {
      const reps = Math.max(1, Math.ceil((target - prefix.length) / unit.length));
      return prefix + unit.repeat(reps);
    });
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}
function isLow(u: number): boolean {
  return u >= 0xdc00 && u <= 0xdfff;
}
/** True when offset `o` falls between the two halves of a surrogate pair of `text`. */
function midPair(text: string, o: number): boolean {
  return o > 0 && o < text.length && isHigh(text.charCodeAt(o - 1)) && isLow(text.charCodeAt(o));
}
/** The code point boundary at or before `o`. */
function snapBack(text: string, o: number): number {
  return midPair(text, o) ? o - 1 : o;
}
/** The code point boundary at or after `o`. */
function snapForward(text: string, o: number): number {
  return midPair(text, o) ? o + 1 : o;
}
/** Length in code units of the code point starting at `o` (which must be a boundary < length). */
function codePointLength(text: string, o: number): number {
  return isHigh(text.charCodeAt(o)) && o + 1 < text.length && isLow(text.charCodeAt(o + 1)) ? 2 : 1;
}

/** One replacement in base-text code units: at `at`, delete `del` units and insert `ins`. */
export interface RawEdit {
  readonly at: number;
  readonly del: number;
  readonly ins: string;
}

/** An operation together with the text it produces (computed by string slicing, not by `apply`). */
export interface GeneratedOp {
  readonly op: TextOp;
  readonly after: string;
}

/**
 * Turns loosely specified edits into a canonical op on `text` with OpBuilder: edits are sorted, made
 * disjoint, clamped to the text, and their ends moved to code point boundaries.
 */
export function opFromEdits(text: string, edits: readonly RawEdit[]): GeneratedOp {
  const sorted = [...edits].sort((x, y) => x.at - y.at);
  const len = text.length;
  const b = new OpBuilder();
  const pieces: string[] = [];
  let cur = 0; // always a code point boundary
  for (const e of sorted) {
    const at = snapBack(text, Math.max(cur, Math.min(e.at, len)));
    const end = snapForward(text, Math.min(len, at + Math.max(0, e.del)));
    b.retain(at - cur).insert(e.ins).delete(end - at);
    pieces.push(text.slice(cur, at), e.ins);
    cur = end;
  }
  b.retain(len - cur);
  pieces.push(text.slice(cur));
  return { op: b.build(), after: pieces.join('') };
}

/** Options for `arbEditOn` / `arbOpOn`. */
export interface OpOptions {
  /** Also generate large pastes (thousands of code units), to make a rope split chunks. */
  readonly bigInserts?: boolean;
}

/** Text to insert: usually short, sometimes empty, optionally a big paste. */
function arbInsert(options: OpOptions): fc.Arbitrary<string> {
  const small = fc.oneof(
    { arbitrary: arbToken(), weight: 3 },
    { arbitrary: arbText(12), weight: 3 },
  );
  if (!options.bigInserts) return small;
  const big = fc
    .tuple(arbText(24).filter((t) => t.length > 0), fc.integer({ min: 100, max: 12_000 }))
    .map(([unit, target]) => unit.repeat(Math.max(1, Math.floor(target / unit.length))));
  return fc.oneof({ arbitrary: small, weight: 4 }, { arbitrary: big, weight: 1 });
}

/**
 * A random canonical operation valid on `text`, together with the text it produces. Its boundaries
 * never split a surrogate pair. A mix of: a single keystroke, a single deleted character, several
 * carets doing the same edit, several independent edits, a whole-text replace, and a no-op.
 */
export function arbEditOn(text: string, options: OpOptions = {}): fc.Arbitrary<GeneratedOp> {
  const len = text.length;
  const offset = fc.nat({ max: len });
  const ins = arbInsert(options);

  const keystroke = fc.tuple(offset, arbToken()).map(([at, t]) => opFromEdits(text, [{ at, del: 0, ins: t }]));

  const anyDelCount = fc.oneof({ arbitrary: fc.nat({ max: 3 }), weight: 3 }, { arbitrary: fc.nat({ max: len }), weight: 1 });
  const edits = fc
    .array(fc.record({ at: offset, del: anyDelCount, ins: fc.oneof(fc.constant(''), ins) }), { minLength: 1, maxLength: 6 })
    .map((es) => opFromEdits(text, es));

  const multiCaret = fc
    .tuple(
      fc.uniqueArray(offset, { minLength: Math.min(2, len + 1), maxLength: Math.min(6, len + 1) }),
      fc.constantFrom<'type' | 'backspace' | 'replace'>('type', 'backspace', 'replace'),
      arbToken(),
    )
    .map(([carets, action, t]) =>
      opFromEdits(
        text,
        carets.map((c) => {
          const at = snapBack(text, c);
          const del = action === 'type' || at >= len ? 0 : codePointLength(text, at);
          return { at, del, ins: action === 'backspace' ? '' : t };
        }),
      ),
    );

  const wholeReplace = ins.map((t) => opFromEdits(text, [{ at: 0, del: len, ins: t }]));
  const noop = fc.constant(opFromEdits(text, []));

  const choices: { arbitrary: fc.Arbitrary<GeneratedOp>; weight: number }[] = [
    { arbitrary: keystroke, weight: 3 },
    { arbitrary: edits, weight: 5 },
    { arbitrary: multiCaret, weight: 2 },
    { arbitrary: wholeReplace, weight: 1 },
    { arbitrary: noop, weight: 1 },
  ];
  if (len > 0) {
    const singleDelete = fc.nat({ max: len - 1 }).map((o) => {
      const at = snapBack(text, o);
      return opFromEdits(text, [{ at, del: codePointLength(text, at), ins: '' }]);
    });
    choices.push({ arbitrary: singleDelete, weight: 3 });
  }
  return fc.oneof(...choices);
}

/** A random canonical operation valid on `text` (see `arbEditOn`). */
export function arbOpOn(text: string, options: OpOptions = {}): fc.Arbitrary<TextOp> {
  return arbEditOn(text, options).map((g) => g.op);
}

/** A document and two concurrent operations on it. */
export interface DocAndTwoOps {
  readonly text: string;
  readonly a: TextOp;
  readonly b: TextOp;
  /** `a` applied to `text` (computed independently of `apply`). */
  readonly afterA: string;
  /** `b` applied to `text` (computed independently of `apply`). */
  readonly afterB: string;
}

/** A text of at most `maxLen` code units and two operations on it. */
export function arbDocAndTwoOps(maxLen = 40): fc.Arbitrary<DocAndTwoOps> {
  return arbText(maxLen).chain((text) =>
    fc.tuple(arbEditOn(text), arbEditOn(text)).map(([a, b]) => ({ text, a: a.op, b: b.op, afterA: a.after, afterB: b.after })),
  );
}

/** A document, a chain of `n` operations each applying to the result of the previous one, and the texts. */
export interface DocAndOpChain {
  readonly text: string;
  readonly ops: readonly TextOp[];
  /** `texts[i]` is the text after `ops[0..i]`; computed independently of `apply`. */
  readonly texts: readonly string[];
}

/** A chain of exactly `n` sequential operations starting from `start` texts. */
export function arbOpChainFrom(start: string, n: number, options: OpOptions = {}): fc.Arbitrary<DocAndOpChain> {
  const step = (text: string, left: number): fc.Arbitrary<{ ops: TextOp[]; texts: string[] }> => {
    if (left === 0) return fc.constant({ ops: [], texts: [] });
    return arbEditOn(text, options).chain((g) =>
      step(g.after, left - 1).map((rest) => ({ ops: [g.op, ...rest.ops], texts: [g.after, ...rest.texts] })),
    );
  };
  return step(start, n).map(({ ops, texts }) => ({ text: start, ops, texts }));
}

/** A text of at most `maxLen` code units and a chain of `n` sequential operations from it. */
export function arbDocAndOpChain(n: number, maxLen = 40): fc.Arbitrary<DocAndOpChain> {
  return arbText(maxLen).chain((text) => arbOpChainFrom(text, n));
}
