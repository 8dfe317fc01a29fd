/**
 * A mutable text held in chunks, so that a keystroke costs the same on a 1 KB and a 10 MB document.
 *
 * The server keeps each open file's head text in one. Applying an operation touches only the chunks
 * its edits fall in; chunk lengths sit in a Fenwick (binary indexed) tree, so finding the chunk of an
 * offset and updating a length are O(log chunks). The tree is rebuilt only when chunks are split or
 * merged, which happens about once per kilobyte of growth or shrinkage at one place.
 *
 * Chunks are small (1–2 KB) on purpose: an edit rebuilds its chunk as a V8 cons string, and the next
 * `charCodeAt` on it (the surrogate check of the following op) flattens it, copying the whole chunk.
 * That copy, not the O(log n) lookup, is what a keystroke costs; see docs/benchmarks.md.
 */
import { ErrorCode, ProtocolError } from './errors';
import { isHighSurrogate, type TextLike } from './canonical-text';
import { baseLength, replacements, type Replacement, type TextOp } from './text-op';

/** Chunks grow up to this many code units before they are split in two. */
const MAX_CHUNK = 2048;
/** Chunks are cut to about this size when a text is loaded or a chunk is split. */
const TARGET_CHUNK = 1024;


/** A chunked, mutable text with O(log n) random access and edits proportional to their size. */
export class Rope implements TextLike {
  private chunks: string[] = [];
  /** Fenwick tree over chunk lengths, 1-based. */
  private tree: Float64Array = new Float64Array(1);
  private totalLength = 0;

  constructor(text = '') {
    this.load(text);
  }

  /** Length in UTF-16 code units. */
  get length(): number {
    return this.totalLength;
  }

  /** The code unit at `index` (NaN when out of range, like `String.prototype.charCodeAt`). */
  charCodeAt(index: number): number {
    if (index < 0 || index >= this.totalLength) return NaN;
    const [ci, off] = this.locate(index);
    return (this.chunks[ci] as string).charCodeAt(off);
  }

  /** The text between two offsets (as `String.prototype.slice` with non-negative bounds). */
  slice(start = 0, end = this.totalLength): string {
    start = Math.max(0, Math.min(start, this.totalLength));
    end = Math.max(start, Math.min(end, this.totalLength));
    if (start === end) return '';
    const [ci, off] = this.locate(start);
    const parts: string[] = [];
    let need = end - start;
    for (let i = ci, o = off; need > 0; i++, o = 0) {
      const chunk = this.chunks[i] as string;
      const piece = chunk.slice(o, o + need);
      parts.push(piece);
      need -= piece.length;
    }
    return parts.join('');
  }

  /** The chunks in order; their concatenation is the text. */
  chunkList(): readonly string[] {
    return this.chunks;
  }

  /** The whole text as one string (O(n)). */
  toString(): string {
    return this.chunks.join('');
  }

  /**
   * Applies `op` in place. Throws `OP_BASE_LENGTH_MISMATCH` (and changes nothing) when the op does
   * not span the text. Cost: O(edits · (log chunks + chunk size)), independent of the text's length
   * apart from rare re-chunking.
   */
  apply(op: TextOp): void {
    const base = baseLength(op);
    if (base !== this.totalLength) {
      throw new ProtocolError(
        ErrorCode.OP_BASE_LENGTH_MISMATCH,
        `operation base length ${base} differs from text length ${this.totalLength}`,
      );
    }
    const edits = replacements(op);
    // Right to left, so each edit's base offsets stay valid for the ones still to come.
    for (let e = edits.length - 1; e >= 0; e--) this.replace(edits[e] as Replacement);
  }

  /** Replaces the whole text. */
  load(text: string): void {
    this.chunks = cut(text);
    this.rebuildTree();
  }

  /**
   * Applies one edit. The common case (inside one chunk) updates the tree in O(log chunks); when
   * chunks are split, merged or dropped the tree is rebuilt at once, so `locate` is never stale.
   */
  private replace(edit: Replacement): void {
    const { at, remove, insert } = edit;
    if (this.chunks.length === 0) {
      this.load(insert);
      return;
    }
    // An insert at the very end belongs to the last chunk.
    const [ci, off] = at === this.totalLength ? [this.chunks.length - 1, (this.chunks[this.chunks.length - 1] as string).length] : this.locate(at);
    const chunk = this.chunks[ci] as string;
    if (off + remove <= chunk.length) {
      const next = chunk.slice(0, off) + insert + chunk.slice(off + remove);
      if (next.length === 0) {
        this.chunks.splice(ci, 1);
        this.rebuildTree();
      } else if (next.length > MAX_CHUNK) {
        this.chunks.splice(ci, 1, ...cut(next));
        this.rebuildTree();
      } else {
        this.chunks[ci] = next;
        this.addLength(ci, next.length - chunk.length);
      }
      return;
    }
    // The deletion crosses chunk boundaries: merge the affected chunks into one and re-cut it.
    let last = ci;
    let covered = chunk.length - off;
    while (covered < remove) {
      last++;
      covered += (this.chunks[last] as string).length;
    }
    const lastChunk = this.chunks[last] as string;
    const tail = lastChunk.slice(lastChunk.length - (covered - remove));
    this.chunks.splice(ci, last - ci + 1, ...cut(chunk.slice(0, off) + insert + tail));
    this.rebuildTree();
  }

  /** The chunk index and offset within it of text offset `index` (0 <= index < length). */
  private locate(index: number): [number, number] {
    // Fenwick descent: find the largest prefix of chunks whose total length is <= index.
    const n = this.chunks.length;
    let pos = 0;
    let rest = index;
    let step = highestPowerOfTwo(n);
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= n && (this.tree[next] as number) <= rest) {
        pos = next;
        rest -= this.tree[next] as number;
      }
    }
    return [pos, rest];
  }

  /** Adds `delta` to the length of chunk `ci` in the tree. */
  private addLength(ci: number, delta: number): void {
    this.totalLength += delta;
    for (let i = ci + 1; i < this.tree.length; i += i & -i) this.tree[i] = (this.tree[i] as number) + delta;
  }

  /** Recomputes the tree from the chunk lengths (O(chunks)). */
  private rebuildTree(): void {
    const n = this.chunks.length;
    const tree = new Float64Array(n + 1);
    let total = 0;
    for (let i = 1; i <= n; i++) {
      const len = (this.chunks[i - 1] as string).length;
      total += len;
      tree[i] = (tree[i] as number) + len;
      const parent = i + (i & -i);
      if (parent <= n) tree[parent] = (tree[parent] as number) + (tree[i] as number);
    }
    this.tree = tree;
    this.totalLength = total;
  }
}

/** Cuts text into chunks of about TARGET_CHUNK code units, never between the halves of a surrogate pair. */
function cut(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + TARGET_CHUNK);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end++;
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}
