/**
 * Maps between a document's own text, whose line breaks may be `\r\n` (or a lone `\r`), and the
 * canonical text of the protocol, whose line breaks are `\n` only. Offsets on both sides are UTF-16
 * code units, so surrogate pairs (emoji) count as two on both sides and need no special handling.
 *
 * Each `\r\n` in the document is one `\n` in canonical text; a lone `\r` is one `\n` too, as in
 * `toCanonicalText`. A document offset between `\r` and `\n` maps to the canonical offset of that line
 * break (the offset just before it). Text without `\r` maps to itself.
 *
 * Each call scans the text before the offset (`indexOf` jumps over runs without `\r\n`).
 */
import { toCanonicalText } from '@collab/protocol';

/** The canonical text of a document's text: every `\r\n` and lone `\r` becomes `\n`. */
export function toCanonical(text: string): string {
  return toCanonicalText(text);
}

/**
 * The canonical offset of `docOffset` (0 to `docText.length`) in `docText`.
 * @throws RangeError if `docOffset` is not an integer in range.
 */
export function canonicalOffsetOf(docText: string, docOffset: number): number {
  checkOffset(docOffset, docText.length, 'document offset');
  let crlfBefore = 0;
  // Every `\r\n` whose `\r` lies before the offset counts one unit less; this includes the pair the
  // offset splits, which maps the offset to the start of its line break.
  for (let i = docText.indexOf('\r\n'); i !== -1 && i < docOffset; i = docText.indexOf('\r\n', i + 2)) {
    crlfBefore++;
  }
  return docOffset - crlfBefore;
}

/**
 * The document offset of `canonicalOffset` (0 to `toCanonical(docText).length`). A canonical offset at
 * a line break maps to the offset before the `\r`, never between `\r` and `\n`.
 * @throws RangeError if `canonicalOffset` is not an integer in range.
 */
export function documentOffsetOf(docText: string, canonicalOffset: number): number {
  if (!Number.isInteger(canonicalOffset) || canonicalOffset < 0) {
    throw outOfRange('canonical offset', canonicalOffset, toCanonical(docText).length);
  }
  let crlfBefore = 0;
  // A pair at document index i starts at canonical offset i - crlfBefore.
  for (let i = docText.indexOf('\r\n'); i !== -1 && i - crlfBefore < canonicalOffset; i = docText.indexOf('\r\n', i + 2)) {
    crlfBefore++;
  }
  const docOffset = canonicalOffset + crlfBefore;
  // Past the last pair, canonical and document offsets differ by the number of pairs, so an offset
  // past the canonical end lands past the document end.
  if (docOffset > docText.length) throw outOfRange('canonical offset', canonicalOffset, toCanonical(docText).length);
  return docOffset;
}

function checkOffset(offset: number, max: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset > max) throw outOfRange(what, offset, max);
}

function outOfRange(what: string, offset: number, max: number): RangeError {
  return new RangeError(`${what} ${offset} is outside 0..${max}`);
}
