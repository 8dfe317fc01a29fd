/**
 * The text operation: the unit of change that clients and server exchange.
 *
 * An operation walks the whole document from start to end. Its components are, in order:
 *   - a positive integer `n`: retain (keep) the next `n` UTF-16 code units;
 *   - a non-empty string `s`: insert `s` here;
 *   - a negative integer `-n`: delete the next `n` code units.
 * The sum of retains and deletes is the operation's *base length*: it must equal the length of the
 * text it is applied to. The JSON wire form is the component array itself, e.g. `[5, "hi", -3, 10]`.
 *
 * Text is canonical: line breaks are `\n` only, offsets count UTF-16 code units (as VS Code and
 * JavaScript strings do). Canonical form of an operation: no zero counts, no empty inserts, no two
 * adjacent components of the same kind, and an insert never directly follows a delete (the insert is
 * placed first; both orders mean the same edit). Every function here returns canonical operations.
 */
import { ErrorCode, ProtocolError } from './errors';

/** One component: retain `n > 0`, insert a non-empty string, or delete `-n` (a negative integer). */
export type Component = number | string;

/** A text operation over the whole document, in canonical form. */
export type TextOp = readonly Component[];

/** Which of two concurrent operations wins a tie (inserts at the same offset). */
export type Side = 'left' | 'right';

/** True for a retain component. */
export function isRetain(c: Component): c is number {
  return typeof c === 'number' && c > 0;
}

/** True for an insert component. */
export function isInsert(c: Component): c is string {
  return typeof c === 'string';
}

/** True for a delete component (a negative count). */
export function isDelete(c: Component): c is number {
  return typeof c === 'number' && c < 0;
}

/** The length of text the operation applies to. */
export function baseLength(op: TextOp): number {
  let n = 0;
  for (const c of op) if (typeof c === 'number') n += Math.abs(c);
  return n;
}

/** The length of text the operation produces. */
export function targetLength(op: TextOp): number {
  let n = 0;
  for (const c of op) n += typeof c === 'string' ? c.length : c > 0 ? c : 0;
  return n;
}

/** True when the operation changes nothing (only retains, or empty). */
export function isNoop(op: TextOp): boolean {
  for (const c of op) if (typeof c === 'string' || c < 0) return false;
  return true;
}

/**
 * Accumulates components into a canonical operation.
 *
 * @example
 * new OpBuilder().retain(5).insert('hi').delete(3).retain(10).build() // [5, 'hi', -3, 10]
 */
export class OpBuilder {
  private readonly parts: Component[] = [];

  /** Keeps the next `n` code units (no-op for `n === 0`). */
  retain(n: number): this {
    if (n === 0) return this;
    const last = this.parts.length - 1;
    const prev = this.parts[last];
    if (typeof prev === 'number' && prev > 0) this.parts[last] = prev + n;
    else this.parts.push(n);
    return this;
  }

  /** Inserts `s` here (no-op for the empty string). */
  insert(s: string): this {
    if (s === '') return this;
    const parts = this.parts;
    const last = parts.length - 1;
    const prev = parts[last];
    if (typeof prev === 'string') {
      parts[last] = prev + s;
    } else if (typeof prev === 'number' && prev < 0) {
      // Canonical order puts the insert before an adjacent delete.
      const beforeDelete = parts[last - 1];
      if (typeof beforeDelete === 'string') parts[last - 1] = beforeDelete + s;
      else parts.splice(last, 0, s);
    } else {
      parts.push(s);
    }
    return this;
  }

  /** Deletes the next `n` code units (`n` is a positive count; no-op for `n === 0`). */
  delete(n: number): this {
    if (n === 0) return this;
    const last = this.parts.length - 1;
    const prev = this.parts[last];
    if (typeof prev === 'number' && prev < 0) this.parts[last] = prev - n;
    else this.parts.push(-n);
    return this;
  }

  /** The operation built so far. */
  build(): TextOp {
    return this.parts;
  }
}

/** Builds the canonical form of any component list (zero counts and empty inserts are dropped). */
export function normalize(components: readonly Component[]): TextOp {
  const b = new OpBuilder();
  for (const c of components) {
    if (typeof c === 'string') b.insert(c);
    else if (c > 0) b.retain(c);
    else if (c < 0) b.delete(-c);
  }
  return b.build();
}

/**
 * The operation that replaces `deleteCount` code units at `offset` with `text`, on a document of
 * length `length`.
 */
export function replaceOp(length: number, offset: number, deleteCount: number, text: string): TextOp {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(deleteCount) || offset < 0 || deleteCount < 0 || offset + deleteCount > length) {
    throw new ProtocolError(ErrorCode.INVALID_OP, `replace [${offset}, ${offset + deleteCount}) is outside 0..${length}`);
  }
  return new OpBuilder()
    .retain(offset)
    .insert(text)
    .delete(deleteCount)
    .retain(length - offset - deleteCount)
    .build();
}

/** Applies `op` to `text`; throws `OP_BASE_LENGTH_MISMATCH` when the op does not span the text. */
export function apply(op: TextOp, text: string): string {
  // One pass: `pos` ends at the op's base length, checked before the result is returned. Plain
  // concatenation lets V8 build a rope, flattened once by the next read: cheaper than join().
  let out = '';
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i] as Component;
    if (typeof c === 'string') {
      out += c;
    } else if (c > 0) {
      out += text.slice(pos, pos + c);
      pos += c;
    } else {
      pos -= c;
    }
  }
  if (pos !== text.length) {
    throw new ProtocolError(
      ErrorCode.OP_BASE_LENGTH_MISMATCH,
      `operation base length ${pos} differs from text length ${text.length}`,
    );
  }
  return out;
}

/** One replacement of an operation, in base-text offsets: remove `remove` units at `at`, insert `insert` there. */
export interface Replacement {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}

/**
 * The operation as a list of non-overlapping replacements in ascending base offsets (an insert and
 * the delete right after it form one replacement). Applying them from last to first, each at its
 * base offset, is the same as applying the operation.
 */
export function replacements(op: TextOp): Replacement[] {
  const out: Replacement[] = [];
  let pos = 0;
  for (let i = 0; i < op.length; i++) {
    const c = op[i] as Component;
    if (typeof c === 'number' && c > 0) {
      pos += c;
      continue;
    }
    let insert = '';
    let remove = 0;
    if (typeof c === 'string') {
      insert = c;
      const next = op[i + 1];
      if (typeof next === 'number' && next < 0) {
        remove = -next;
        i++;
      }
    } else {
      remove = -c;
    }
    out.push({ at: pos, remove, insert });
    pos += remove;
  }
  return out;
}

/** Text that can be sliced like a string (a string or a `Rope`). */
export interface SliceableText {
  slice(start: number, end: number): string;
}

/**
 * The operation that undoes `op`, given the text `op` was applied to (a string, or a rope before
 * the op was applied to it). `apply(invert(op, text), apply(op, text)) === text`.
 */
export function invert(op: TextOp, text: SliceableText): TextOp {
  const b = new OpBuilder();
  let pos = 0;
  for (const c of op) {
    if (typeof c === 'string') {
      b.delete(c.length);
    } else if (c > 0) {
      b.retain(c);
      pos += c;
    } else {
      b.insert(text.slice(pos, pos - c));
      pos -= c;
    }
  }
  return b.build();
}

/**
 * Reads an operation's components while letting the caller consume part of one. Used by compose
 * and transform, which walk two operations in lock-step.
 */
class ComponentCursor {
  private index = 0;
  /** How much of the current component has been consumed already. */
  private consumed = 0;

  constructor(private readonly op: TextOp) {}

  /** The remainder of the current component, or undefined at the end. */
  peek(): Component | undefined {
    const c = this.op[this.index];
    if (c === undefined || this.consumed === 0) return c;
    if (typeof c === 'string') return c.slice(this.consumed);
    return c > 0 ? c - this.consumed : c + this.consumed;
  }

  /** Consumes `n` units (code units of an insert, or counts of a retain/delete) of the current component. */
  take(n: number): void {
    const c = this.op[this.index];
    if (c === undefined) return;
    const size = typeof c === 'string' ? c.length : Math.abs(c);
    this.consumed += n;
    if (this.consumed >= size) {
      this.index += 1;
      this.consumed = 0;
    }
  }
}

/** Size of a component: insert length, or retain/delete count. */
function sizeOf(c: Component): number {
  return typeof c === 'string' ? c.length : Math.abs(c);
}

/**
 * The single operation equivalent to applying `a` then `b`:
 * `apply(compose(a, b), s) === apply(b, apply(a, s))`. Requires `targetLength(a) === baseLength(b)`.
 *
 * Compose does not promise that transforming against `compose(a, b)` equals transforming against
 * `a` then `b` when inserts tie (see PROTOCOL.md); the server therefore transforms against history
 * one op at a time, and only a client's own unsent edits are composed.
 */
export function compose(a: TextOp, b: TextOp): TextOp {
  if (targetLength(a) !== baseLength(b)) {
    throw new ProtocolError(
      ErrorCode.OP_BASE_LENGTH_MISMATCH,
      `cannot compose: first op produces ${targetLength(a)} units, second expects ${baseLength(b)}`,
    );
  }
  const out = new OpBuilder();
  const ia = new ComponentCursor(a);
  const ib = new ComponentCursor(b);
  for (;;) {
    const ca = ia.peek();
    const cb = ib.peek();
    if (ca === undefined && cb === undefined) break;
    // Deletes of `a` touch text `b` never sees: emit them first.
    if (ca !== undefined && isDelete(ca)) {
      out.delete(-ca);
      ia.take(-ca);
      continue;
    }
    // Inserts of `b` consume nothing of `a`'s output.
    if (cb !== undefined && isInsert(cb)) {
      out.insert(cb);
      ib.take(cb.length);
      continue;
    }
    if (ca === undefined || cb === undefined) {
      throw new ProtocolError(ErrorCode.INVALID_OP, 'compose: operations have mismatched lengths');
    }
    const n = Math.min(sizeOf(ca), sizeOf(cb));
    if (isRetain(ca) && isRetain(cb)) out.retain(n);
    else if (isInsert(ca) && isRetain(cb)) out.insert(ca.slice(0, n));
    else if (isRetain(ca) && isDelete(cb)) out.delete(n);
    // insert then delete of the same text: both vanish.
    ia.take(n);
    ib.take(n);
  }
  return out.build();
}

/**
 * Rebases `a` over a concurrent `b` (both apply to the same text): returns `a'`, which applies after
 * `b` and has the effect `a` intended. When both insert at the same offset, `side` decides:
 * `'left'` puts `a`'s insert before `b`'s, `'right'` after.
 *
 * The diamond (TP1) holds:
 * `apply(transform(a, b, 'left'), apply(b, s)) === apply(transform(b, a, 'right'), apply(a, s))`.
 *
 * Convention used by client and server: an operation that the server has already sequenced is
 * always on the left; the operation being rebased onto it is on the right.
 */
export function transform(a: TextOp, b: TextOp, side: Side): TextOp {
  if (baseLength(a) !== baseLength(b)) {
    throw new ProtocolError(
      ErrorCode.OP_BASE_LENGTH_MISMATCH,
      `cannot transform: base lengths ${baseLength(a)} and ${baseLength(b)} differ`,
    );
  }
  const out = new OpBuilder();
  const ia = new ComponentCursor(a);
  const ib = new ComponentCursor(b);
  for (;;) {
    const ca = ia.peek();
    const cb = ib.peek();
    if (ca === undefined && cb === undefined) break;
    const aInserts = ca !== undefined && isInsert(ca);
    const bInserts = cb !== undefined && isInsert(cb);
    if (aInserts && (!bInserts || side === 'left')) {
      out.insert(ca as string);
      ia.take((ca as string).length);
      continue;
    }
    if (bInserts) {
      out.retain((cb as string).length);
      ib.take((cb as string).length);
      continue;
    }
    if (ca === undefined || cb === undefined) {
      throw new ProtocolError(ErrorCode.INVALID_OP, 'transform: operations have mismatched lengths');
    }
    const n = Math.min(sizeOf(ca), sizeOf(cb));
    if (isRetain(ca) && isRetain(cb)) out.retain(n);
    else if (isDelete(ca) && isRetain(cb)) out.delete(n);
    // retain/delete: b already removed the text a kept. delete/delete: removed once by b.
    ia.take(n);
    ib.take(n);
  }
  return out.build();
}

/**
 * Where offset `pos` lands after `op`. An insert exactly at `pos` pushes it right unless `stickLeft`
 * is set: by default a position follows the character to its right, as a caret does when someone
 * types at it. A position inside deleted text moves to where the deletion happened.
 */
export function transformPosition(pos: number, op: TextOp, stickLeft = false): number {
  let oldPos = 0; // offset in the base text
  let newPos = 0; // the same place in the target text
  for (const c of op) {
    if (typeof c === 'string') {
      if (oldPos < pos || (oldPos === pos && !stickLeft)) newPos += c.length;
      continue;
    }
    const n = Math.abs(c);
    if (oldPos + n > pos) {
      // `pos` lies inside this retain (keep the offset within it) or this delete (collapse).
      return c > 0 ? newPos + (pos - oldPos) : newPos;
    }
    oldPos += n;
    if (c > 0) newPos += n;
  }
  // `pos` is at the end of the text (or beyond it, which clamps to the end).
  return newPos;
}

/** A selection as VS Code has it: `anchor` stays put, `head` is where the caret is. */
export interface Selection {
  readonly anchor: number;
  readonly head: number;
}

/** Transforms both ends of a selection through `op` (a collapsed selection stays collapsed). */
export function transformSelection(sel: Selection, op: TextOp): Selection {
  if (sel.anchor === sel.head) {
    const p = transformPosition(sel.head, op);
    return { anchor: p, head: p };
  }
  // The selected text keeps inserts at its edges outside of itself.
  const forward = sel.anchor < sel.head;
  const start = transformPosition(forward ? sel.anchor : sel.head, op, false);
  const end = transformPosition(forward ? sel.head : sel.anchor, op, true);
  const s = Math.min(start, end);
  return forward ? { anchor: s, head: end } : { anchor: end, head: s };
}
