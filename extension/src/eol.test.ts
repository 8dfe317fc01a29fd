import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { canonicalOffsetOf, documentOffsetOf, toCanonical } from './eol';

/** Reference mapping, one code unit at a time: canonical offset of every document offset 0..length. */
function referenceMap(docText: string): number[] {
  const map = [0];
  let c = 0;
  for (let d = 0; d < docText.length; d++) {
    if (docText[d] === '\r' && docText[d + 1] === '\n') {
      map.push(c); // between \r and \n: the start of the line break
      d++;
    }
    c++;
    map.push(c);
  }
  return map;
}

function allCanonical(docText: string): number[] {
  return Array.from({ length: docText.length + 1 }, (_, d) => canonicalOffsetOf(docText, d));
}

function allDocument(docText: string): number[] {
  return Array.from({ length: toCanonical(docText).length + 1 }, (_, c) => documentOffsetOf(docText, c));
}

/** Texts built from line breaks of every kind, ASCII, BMP and astral characters (emoji, ZWJ sequences). */
const docTextArb = fc
  .array(fc.constantFrom('a', 'b', 'é', '\r', '\n', '\r\n', '\r\n', '😀', '👩‍💻', '\u200d', ' '), { maxLength: 40 })
  .map((parts) => parts.join(''));

describe('extension eol: toCanonical', () => {
  it('turns CRLF and lone CR into LF and leaves LF text alone', () => {
    assert.equal(toCanonical('a\r\nb\rc\nd'), 'a\nb\nc\nd');
    assert.equal(toCanonical('\r\r\n'), '\n\n');
    assert.equal(toCanonical(''), '');
    const lf = 'line 1\nline 2 😀\n';
    assert.equal(toCanonical(lf), lf);
  });
});

describe('extension eol: offset mapping', () => {
  it('maps LF-only text to itself, emoji included', () => {
    const text = 'a😀\nb👩‍💻\n';
    const identity = Array.from({ length: text.length + 1 }, (_, i) => i);
    assert.deepEqual(allCanonical(text), identity);
    assert.deepEqual(allDocument(text), identity);
  });

  it('maps a CRLF document', () => {
    const text = 'a\r\nb';
    assert.deepEqual(allCanonical(text), [0, 1, 1, 2, 3]);
    assert.deepEqual(allDocument(text), [0, 1, 3, 4]);
  });

  it('maps an offset between \\r and \\n to the canonical offset of that line break', () => {
    const text = 'ab\r\ncd';
    assert.equal(canonicalOffsetOf(text, 2), 2); // before \r
    assert.equal(canonicalOffsetOf(text, 3), 2); // between \r and \n
    assert.equal(canonicalOffsetOf(text, 4), 3); // after \n
    assert.equal(documentOffsetOf(text, 2), 2); // never between \r and \n
  });

  it('counts emoji as two code units on both sides of a CRLF', () => {
    const text = '😀\r\n😀\r\n';
    assert.equal(toCanonical(text), '😀\n😀\n');
    assert.deepEqual(allCanonical(text), [0, 1, 2, 2, 3, 4, 5, 5, 6]);
    assert.deepEqual(allDocument(text), [0, 1, 2, 4, 5, 6, 8]);
    assert.equal(canonicalOffsetOf(text, text.length), toCanonical(text).length);
  });

  it('handles leading, trailing and consecutive CRLF, lone CR and the empty text', () => {
    assert.deepEqual(allCanonical('\r\n\r\n'), [0, 0, 1, 1, 2]);
    assert.deepEqual(allDocument('\r\n\r\n'), [0, 2, 4]);
    assert.deepEqual(allCanonical('a\rb'), [0, 1, 2, 3]);
    assert.deepEqual(allCanonical('\r\r\n'), [0, 1, 1, 2]);
    assert.deepEqual(allDocument('\r\r\n'), [0, 1, 3]);
    assert.deepEqual(allCanonical(''), [0]);
    assert.deepEqual(allDocument(''), [0]);
  });

  it('rejects offsets out of range or not integers', () => {
    const text = 'a\r\nb'; // canonical length 3
    for (const bad of [-1, 5, 1.5, NaN, Infinity]) {
      assert.throws(() => canonicalOffsetOf(text, bad), RangeError, `document offset ${bad}`);
    }
    for (const bad of [-1, 4, 0.5, NaN, Infinity]) {
      assert.throws(() => documentOffsetOf(text, bad), RangeError, `canonical offset ${bad}`);
    }
    assert.throws(() => documentOffsetOf('', 1), RangeError);
  });

  it('agrees with a reference mapping on random texts', () => {
    fc.assert(
      fc.property(docTextArb, (text) => {
        const map = referenceMap(text);
        assert.deepEqual(allCanonical(text), map);
        const firstDocOffset = Array.from({ length: toCanonical(text).length + 1 }, (_, c) => map.indexOf(c));
        assert.deepEqual(allDocument(text), firstDocOffset);
      }),
    );
  });

  it('round-trips canonical offsets and agrees with toCanonical on prefixes', () => {
    fc.assert(
      fc.property(docTextArb, (text) => {
        const canonical = toCanonical(text);
        for (let c = 0; c <= canonical.length; c++) {
          const d = documentOffsetOf(text, c);
          assert.equal(canonicalOffsetOf(text, d), c);
          assert.equal(toCanonical(text.slice(0, d)).length, c);
          assert.ok(!(text[d - 1] === '\r' && text[d] === '\n'), 'never between \\r and \\n');
        }
        for (let d = 0; d <= text.length; d++) {
          const splitsCrlf = text[d - 1] === '\r' && text[d] === '\n';
          if (!splitsCrlf) assert.equal(canonicalOffsetOf(text, d), toCanonical(text.slice(0, d)).length);
        }
      }),
    );
  });
});
