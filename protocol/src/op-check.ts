/**
 * Judging untrusted operations: first their shape (from JSON), then their fit to a text.
 * Both return a `Result`; neither throws on bad input.
 */
import { isHighSurrogate, isLowSurrogate, splitsSurrogatePair, type TextLike } from './canonical-text';
import { ErrorCode, fail, ok, type Result } from './errors';
import { DEFAULT_LIMITS, type Limits } from './limits';
import type { TextOp } from './text-op';

type OpLimits = Pick<Limits, 'maxOpComponents' | 'maxOpInsertLength'>;

/**
 * Checks that a decoded JSON value is a canonical operation within the limits: an array of
 * non-zero safe integers and non-empty, well-formed, `\r`-free strings, with no two adjacent
 * components of one kind and no insert right after a delete.
 */
export function parseOp(raw: unknown, limits: OpLimits = DEFAULT_LIMITS): Result<TextOp> {
  if (!Array.isArray(raw)) return fail(ErrorCode.INVALID_OP, 'an operation is an array of components');
  if (raw.length > limits.maxOpComponents) {
    return fail(ErrorCode.OP_TOO_LARGE, `operation has ${raw.length} components; the limit is ${limits.maxOpComponents}`);
  }
  let inserted = 0;
  let prevKind = 0; // 1 retain, 2 insert, 3 delete
  for (let i = 0; i < raw.length; i++) {
    const c: unknown = raw[i];
    let kind: number;
    if (typeof c === 'string') {
      if (c.length === 0) return fail(ErrorCode.INVALID_OP, `component ${i} is an empty insert`);
      const problem = insertProblem(c);
      if (problem) return fail(ErrorCode.INVALID_TEXT, `component ${i}: ${problem}`);
      inserted += c.length;
      kind = 2;
    } else if (typeof c === 'number' && Number.isSafeInteger(c) && c !== 0) {
      kind = c > 0 ? 1 : 3;
    } else {
      return fail(ErrorCode.INVALID_OP, `component ${i} is neither a non-zero integer nor a string`);
    }
    if (kind === prevKind) return fail(ErrorCode.INVALID_OP, `component ${i} repeats the kind of the one before (not canonical)`);
    if (kind === 2 && prevKind === 3) return fail(ErrorCode.INVALID_OP, `component ${i} inserts right after a delete (not canonical)`);
    prevKind = kind;
  }
  if (inserted > limits.maxOpInsertLength) {
    return fail(ErrorCode.OP_TOO_LARGE, `operation inserts ${inserted} code units; the limit is ${limits.maxOpInsertLength}`);
  }
  return ok(raw as TextOp);
}

/** Why an insert is not canonical text, or undefined when it is. */
function insertProblem(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u === 13) return 'insert contains \\r (canonical text uses \\n only)';
    if (u === 0) return 'insert contains NUL (U+0000), which text storage cannot hold';
    if (u < 0xd800 || u > 0xdfff) continue;
    if (isHighSurrogate(u) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    return `insert has a lone surrogate at ${i}`;
  }
  return undefined;
}

/**
 * Checks that a well-shaped operation fits `text`: its base length equals the text's length, no
 * component boundary splits a surrogate pair, and the result stays within `maxDocumentLength`.
 * Cost is proportional to the number of components, not to the text's length.
 */
export function checkOpFits(
  op: TextOp,
  text: TextLike,
  limits: Pick<Limits, 'maxDocumentLength'> = DEFAULT_LIMITS,
): Result<void> {
  let pos = 0;
  let target = 0;
  for (const c of op) {
    if (splitsSurrogatePair(text, pos) && pos < text.length) {
      return fail(ErrorCode.INVALID_TEXT, `an edit boundary at offset ${pos} splits a surrogate pair`);
    }
    if (typeof c === 'string') {
      target += c.length;
      continue;
    }
    const n = Math.abs(c);
    if (pos + n > text.length) break;
    if (c > 0) target += n;
    pos += n;
  }
  let base = 0;
  for (const c of op) if (typeof c === 'number') base += Math.abs(c);
  if (base !== text.length) {
    return fail(ErrorCode.OP_BASE_LENGTH_MISMATCH, `operation base length ${base} differs from document length ${text.length}`);
  }
  if (target > limits.maxDocumentLength) {
    return fail(ErrorCode.DOCUMENT_TOO_LARGE, `the document would have ${target} code units; the limit is ${limits.maxDocumentLength}`);
  }
  return ok(undefined);
}
