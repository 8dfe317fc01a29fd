/**
 * A simulated VS Code text document, for testing `DocumentBinding` without VS Code.
 *
 * It reproduces the behaviour the binding depends on (architecture.md §5), taken from VS Code's
 * implementation rather than from its API documentation:
 *  - the text is held in the document's own EOL (`\n` or `\r\n`); positions are (line, UTF-16
 *    character) and do not depend on the EOL; inserted text is re-joined with the document's EOL;
 *  - `version` grows by one with every change event; an edit made only of empty replacements (or,
 *    re-shaped `minimal`, only of replacements by identical text) emits nothing and keeps the
 *    version, as `TextModel` does;
 *  - a change event lists its replacements bottom-to-top (sorted descending by end, then start,
 *    later-added first on equal ranges, as `PieceTreeTextBuffer._sortOpsDescending` does), so each
 *    one is valid in the text left by the ones before it; two inserts at one position therefore end
 *    up in the order they were given; overlapping ranges are refused;
 *  - every change goes onto a linear undo stack (our own `applyEdit`s included, as with
 *    `BulkTextEdits`); undo and redo emit the inverse replacements with reason Undo (1) / Redo (2);
 *  - `applyEdit(edits, versionAtPlanTime)` is asynchronous: it waits until the test completes it,
 *    then fails as a whole (resolves false) if the version moved since planning, else applies all
 *    edits at once and emits ONE change event, optionally re-shaped the way
 *    `computeMoreMinimalEdits` does (same resulting text, different ranges), before it resolves.
 *
 * Edits whose range boundary falls between the halves of a surrogate pair throw: VS Code would
 * silently widen such a range (`TextModel.validateRange`), changing the text, so a test must never
 * produce one (and a binding must never ask for one).
 */
import type { EditorChange, EditorEdit, EditorRange } from '../document-binding';
import type { LinePosition } from '../line-index';

/** A document's line break. */
export type Eol = '\n' | '\r\n';

/** `vscode.TextDocumentChangeReason`. */
export const ChangeReason = { Undo: 1, Redo: 2 } as const;

/** One entry of `contentChanges`, with the offsets VS Code adds (document offsets, EOL counted). */
export interface FakeContentChange extends EditorChange {
  readonly rangeOffset: number;
  readonly rangeLength: number;
}

/** What caused a change (not part of VS Code's event: for the tests' own assertions). */
export type ChangeSource = 'user' | 'undo' | 'redo' | 'applyEdit';

/** A `TextDocumentChangeEvent`, plus the version after it and its source. */
export interface FakeChangeEvent {
  readonly contentChanges: readonly FakeContentChange[];
  readonly reason: (typeof ChangeReason)[keyof typeof ChangeReason] | undefined;
  readonly version: number;
  readonly source: ChangeSource;
}

/**
 * How the change event of an `applyEdit` is shaped:
 *  - `asGiven`: the edits as sent;
 *  - `minimal`: each edit reduced to a character diff of the text it replaces (several changes per
 *    edit; an edit that changes nothing disappears), as `computeMoreMinimalEdits` does;
 *  - `whole`: one change covering everything between the common prefix and suffix of the texts;
 *  - `split`: each edit as a deletion plus its insert cut into two inserts at the same position.
 */
export type Reshape = 'asGiven' | 'minimal' | 'whole' | 'split';

/** All reshapes, for random choice. */
export const RESHAPES: readonly Reshape[] = ['asGiven', 'minimal', 'whole', 'split'];

/** A replacement in canonical offsets, as the tests prefer to write edits. */
export interface CanonicalReplacement {
  /** Canonical offset (`\n` counts one) where the replaced text starts. */
  readonly offset: number;
  /** Canonical code units replaced (default 0: a pure insert). */
  readonly length?: number;
  /** The new text (any line breaks; they become the document's EOL). */
  readonly text: string;
}

/** A replacement in document offsets, text already in the document's EOL. */
interface Replacement {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /** Order of addition: breaks ties between equal ranges. */
  readonly index: number;
}

/** A replacement in canonical offsets with canonical text (reshaping works on these). */
interface CanonicalEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

interface PendingApplyEdit {
  readonly edits: readonly EditorEdit[];
  readonly versionAtPlanTime: number;
  readonly resolve: (applied: boolean) => void;
}

/** Edits larger than this (code units squared) skip the character diff, like VS Code's `_diffLimit`. */
const DIFF_LIMIT = 250_000;

function isHigh(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** True when offset `i` of `text` lies between the halves of a surrogate pair. */
function splitsPair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i));
}

/** `\r\n` (and lone `\r`) to `\n`. */
export function canonicalOf(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

/** A simulated `vscode.TextDocument` plus the parts of the editor the binding talks to. */
export class FakeDocument {
  private raw: string;
  private versionId = 1;
  private readonly listeners: Array<(e: FakeChangeEvent) => void> = [];
  private readonly undoStack: Replacement[][] = [];
  private readonly redoStack: Replacement[][] = [];
  private readonly pending: PendingApplyEdit[] = [];
  private readonly heldResults: Array<() => void> = [];

  /** Opens a document holding `text` (any line breaks), stored with `eol`. */
  constructor(
    text: string,
    readonly eol: Eol = '\n',
  ) {
    this.raw = this.withEol(text);
  }

  /** The document's text, in its own EOL (`getText()`). */
  getText(): string {
    return this.raw;
  }

  /** The text with `\n` line breaks, as the protocol holds it. */
  canonicalText(): string {
    return canonicalOf(this.raw);
  }

  /** The version: grows by one with every change event. */
  get version(): number {
    return this.versionId;
  }

  /** Number of lines. */
  get lineCount(): number {
    return this.raw.split(this.eol).length;
  }

  /** Subscribes to change events (`workspace.onDidChangeTextDocument` for this document). */
  onDidChange(listener: (e: FakeChangeEvent) => void): { dispose(): void } {
    this.listeners.push(listener);
    return {
      dispose: () => {
        const i = this.listeners.indexOf(listener);
        if (i !== -1) this.listeners.splice(i, 1);
      },
    };
  }

  /** The position of a canonical offset (each line break counts one unit, whatever the EOL). */
  positionAt(canonicalOffset: number): LinePosition {
    const text = this.canonicalText();
    if (!Number.isInteger(canonicalOffset) || canonicalOffset < 0 || canonicalOffset > text.length) {
      throw new RangeError(`canonical offset ${canonicalOffset} is outside 0..${text.length}`);
    }
    const before = text.slice(0, canonicalOffset);
    const line = before.split('\n').length - 1;
    return { line, character: canonicalOffset - (before.lastIndexOf('\n') + 1) };
  }

  /** The canonical offset of a position (clamped to the document, as VS Code validates positions). */
  offsetAt(pos: LinePosition): number {
    return canonicalOf(this.raw.slice(0, this.documentOffsetAt(pos))).length;
  }

  /** The range of canonical offsets `[start, end)`. */
  rangeOf(start: number, end: number): EditorRange {
    return { start: this.positionAt(start), end: this.positionAt(end) };
  }

  // ---------------------------------------------------------------------------------------------
  // The user
  // ---------------------------------------------------------------------------------------------

  /**
   * The user edits: one cursor or several at once (multi-cursor typing, a multi-range paste, an
   * extension's `TextEditor.edit`). Ranges refer to the document before the edit; touching ranges
   * are fine, overlapping ones throw. Returns the event emitted, or null when nothing changed.
   */
  edit(edits: readonly EditorEdit[]): FakeChangeEvent | null {
    this.redoStack.length = 0;
    return this.commit(this.toReplacements(edits), 'user', undefined, this.undoStack);
  }

  /** `edit` with ranges given as canonical offsets. */
  replace(replacements: readonly CanonicalReplacement[]): FakeChangeEvent | null {
    return this.edit(
      replacements.map((r) => ({ range: this.rangeOf(r.offset, r.offset + (r.length ?? 0)), text: r.text })),
    );
  }

  /** Types `text` at a canonical offset (one cursor). */
  type(offset: number, text: string): FakeChangeEvent | null {
    return this.replace([{ offset, text }]);
  }

  /** Deletes `length` canonical units at a canonical offset (one cursor). */
  delete(offset: number, length: number): FakeChangeEvent | null {
    return this.replace([{ offset, length, text: '' }]);
  }

  /** Ctrl+Z: undoes the most recent change on the undo stack (ours included); false when empty. */
  undo(): FakeChangeEvent | null {
    const inverse = this.undoStack.pop();
    if (!inverse) return null;
    return this.commit(inverse, 'undo', ChangeReason.Undo, this.redoStack);
  }

  /** Ctrl+Y: redoes the most recently undone change; null when there is none. */
  redo(): FakeChangeEvent | null {
    const again = this.redoStack.pop();
    if (!again) return null;
    return this.commit(again, 'redo', ChangeReason.Redo, this.undoStack);
  }

  /** True when `undo` has something to undo. */
  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // workspace.applyEdit
  // ---------------------------------------------------------------------------------------------

  /**
   * `workspace.applyEdit` with text edits for this document. `versionAtPlanTime` is the version the
   * edits were computed against (the extension host stamps the edit with the version it knows).
   * Nothing happens until the test calls `completeApplyEdit`.
   */
  applyEdit(edits: readonly EditorEdit[], versionAtPlanTime: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.pending.push({ edits: edits.map((e) => ({ range: e.range, text: e.text })), versionAtPlanTime, resolve });
    });
  }

  /** Number of `applyEdit` calls not yet completed. */
  get pendingApplyEdits(): number {
    return this.pending.length;
  }

  /** Number of completed `applyEdit`s whose promise is held back (`holdResult`). */
  get heldApplyEditResults(): number {
    return this.heldResults.length;
  }

  /**
   * Completes the oldest pending `applyEdit` (VS Code runs them in order): fails it if the version
   * moved since it was planned, else applies it and emits its change event (shaped by `reshape`).
   * The promise resolves after the event (as the extension host sees it); with `holdResult` it is
   * held until `releaseResults`, to let a test act between the echo and the result.
   * Returns whether the edit applied.
   */
  completeApplyEdit(options: { reshape?: Reshape; holdResult?: boolean } = {}): boolean {
    const job = this.pending.shift();
    if (!job) throw new Error('no applyEdit is pending');
    let applied = false;
    if (job.versionAtPlanTime === this.versionId) {
      this.redoStack.length = 0;
      const replacements = this.reshape(job.edits, options.reshape ?? 'asGiven');
      this.commit(replacements, 'applyEdit', undefined, this.undoStack);
      applied = true;
    }
    if (options.holdResult) this.heldResults.push(() => job.resolve(applied));
    else job.resolve(applied);
    return applied;
  }

  /** Resolves the held `applyEdit` promises, oldest first. */
  releaseResults(): void {
    for (const release of this.heldResults.splice(0)) release();
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private withEol(text: string): string {
    const canonical = canonicalOf(text);
    return this.eol === '\n' ? canonical : canonical.replace(/\n/g, '\r\n');
  }

  /** Start offsets (in the stored text) of every line. */
  private lineStarts(text: string = this.raw): number[] {
    const starts = [0];
    for (let i = text.indexOf(this.eol); i !== -1; i = text.indexOf(this.eol, i + this.eol.length)) {
      starts.push(i + this.eol.length);
    }
    return starts;
  }

  /** Document offset of a position, clamped like `TextModel.validatePosition`. */
  private documentOffsetAt(pos: LinePosition, text: string = this.raw): number {
    const starts = this.lineStarts(text);
    const line = Math.max(0, Math.min(pos.line, starts.length - 1));
    const start = starts[line] as number;
    const next = starts[line + 1];
    const lineEnd = next === undefined ? text.length : next - this.eol.length;
    return start + Math.max(0, Math.min(pos.character, lineEnd - start));
  }

  private positionOfDocumentOffset(offset: number, starts: readonly number[]): LinePosition {
    let line = 0;
    while (line + 1 < starts.length && (starts[line + 1] as number) <= offset) line++;
    return { line, character: offset - (starts[line] as number) };
  }

  private toReplacements(edits: readonly EditorEdit[]): Replacement[] {
    return edits.map((e, index) => {
      const start = this.documentOffsetAt(e.range.start);
      const end = Math.max(start, this.documentOffsetAt(e.range.end));
      return { start, end, text: this.withEol(e.text), index };
    });
  }

  /** Canonical-offset replacements to document ones (ranges via positions, text in the EOL). */
  private fromCanonical(edits: readonly CanonicalEdit[]): Replacement[] {
    return edits.map((e, index) => {
      const start = this.documentOffsetAt(this.positionAt(e.start));
      const end = this.documentOffsetAt(this.positionAt(e.end));
      return { start, end, text: this.withEol(e.text), index };
    });
  }

  /**
   * Applies replacements (ranges in the current text) as one change: validates them, emits them
   * descending, bumps the version and pushes their inverse onto `stack`. Null when nothing changed.
   */
  private commit(
    replacements: readonly Replacement[],
    source: ChangeSource,
    reason: FakeChangeEvent['reason'],
    stack: Replacement[][],
  ): FakeChangeEvent | null {
    const before = this.raw;
    for (const r of replacements) {
      if (splitsPair(before, r.start) || splitsPair(before, r.end)) {
        throw new Error(`edit [${r.start}, ${r.end}) splits a surrogate pair (VS Code would widen it)`);
      }
    }
    // `_sortOpsAscending`: by end, then start, then order of addition; touching is fine.
    const ascending = replacements
      .filter((r) => r.start !== r.end || r.text !== '')
      .sort((a, b) => a.end - b.end || a.start - b.start || a.index - b.index);
    for (let i = 1; i < ascending.length; i++) {
      if ((ascending[i] as Replacement).start < (ascending[i - 1] as Replacement).end) {
        throw new Error('Overlapping ranges are not allowed!');
      }
    }
    if (ascending.length === 0) return null;

    // The inverse, in the coordinates of the text after this change.
    const inverse: Replacement[] = [];
    let delta = 0;
    ascending.forEach((r, index) => {
      const start = r.start + delta;
      inverse.push({ start, end: start + r.text.length, text: before.slice(r.start, r.end), index });
      delta += r.text.length - (r.end - r.start);
    });

    // `_doApplyEdits`: bottom to top, each range valid in the pre-edit text and, being descending,
    // in the text left by the entries before it.
    const starts = this.lineStarts(before);
    const descending = [...ascending].reverse();
    let text = before;
    const contentChanges: FakeContentChange[] = descending.map((r) => {
      text = text.slice(0, r.start) + r.text + text.slice(r.end);
      return {
        range: { start: this.positionOfDocumentOffset(r.start, starts), end: this.positionOfDocumentOffset(r.end, starts) },
        rangeOffset: r.start,
        rangeLength: r.end - r.start,
        text: r.text,
      };
    });
    this.raw = text;
    this.versionId++;
    stack.push(inverse);
    const event: FakeChangeEvent = { contentChanges, reason, version: this.versionId, source };
    for (const listener of [...this.listeners]) listener(event);
    return event;
  }

  /** The replacements an `applyEdit` event carries: the edits, or a re-shaping with the same result. */
  private reshape(edits: readonly EditorEdit[], how: Reshape): Replacement[] {
    const given = this.toReplacements(edits);
    if (how === 'asGiven') return given;
    const text = this.canonicalText();
    // The edits in canonical terms, in order of addition (ties keep that order).
    const canonical = given
      .map((r): CanonicalEdit & { readonly index: number } => ({
        start: canonicalOf(this.raw.slice(0, r.start)).length,
        end: canonicalOf(this.raw.slice(0, r.end)).length,
        text: canonicalOf(r.text),
        index: r.index,
      }))
      .sort((a, b) => a.end - b.end || a.start - b.start || a.index - b.index);
    let target = '';
    let pos = 0;
    for (const e of canonical) {
      target += text.slice(pos, e.start) + e.text;
      pos = e.end;
    }
    target += text.slice(pos);

    let shaped: CanonicalEdit[];
    if (how === 'whole') {
      shaped = [wholeDiff(text, target)].filter((e) => e.start !== e.end || e.text !== '');
    } else if (how === 'minimal') {
      shaped = canonical.flatMap((e) => minimalEdits(text.slice(e.start, e.end), e.text, e.start));
    } else {
      shaped = canonical.flatMap((e) => {
        const pieces: CanonicalEdit[] = [];
        const cut = codePointCut(e.text);
        if (cut > 0) {
          pieces.push({ start: e.start, end: e.start, text: e.text.slice(0, cut) });
          pieces.push({ start: e.start, end: e.start, text: e.text.slice(cut) });
        } else if (e.text !== '') {
          pieces.push({ start: e.start, end: e.start, text: e.text });
        }
        if (e.end > e.start) pieces.push({ start: e.start, end: e.end, text: '' });
        return pieces;
      });
    }
    const result = this.fromCanonical(shaped);
    // The re-shaping must not change the outcome (VS Code's contract for computeMoreMinimalEdits).
    let check = text;
    for (const e of [...shaped].map((s, i) => ({ ...s, i })).sort((a, b) => b.end - a.end || b.start - a.start || b.i - a.i)) {
      check = check.slice(0, e.start) + e.text + check.slice(e.end);
    }
    if (check !== target) throw new Error(`reshape ${how} changed the result`);
    return result;
  }
}

/** Where to cut a text into two non-empty pieces without splitting a pair (0 when it cannot be cut). */
function codePointCut(text: string): number {
  let cut = Math.floor(text.length / 2);
  if (splitsPair(text, cut)) cut--;
  return cut > 0 && cut < text.length ? cut : 0;
}

/** One replacement from `from` to `to` between their common prefix and suffix (pair-safe). */
function wholeDiff(from: string, to: string): CanonicalEdit {
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++;
  while (splitsPair(from, prefix) || splitsPair(to, prefix)) prefix--;
  let suffix = 0;
  while (suffix < max - prefix && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) suffix++;
  while (splitsPair(from, from.length - suffix) || splitsPair(to, to.length - suffix)) suffix--;
  return { start: prefix, end: from.length - suffix, text: to.slice(prefix, to.length - suffix) };
}

/**
 * `computeMoreMinimalEdits` for one edit: a character diff (longest common subsequence) between the
 * replaced text and the new text, as replacements at `base`; hunk boundaries are moved off
 * surrogate pairs (VS Code's raw diff can split them, which corrupts the text: microsoft/vscode
 * #248268; a faithful fake keeps the result text intact).
 */
function minimalEdits(original: string, modified: string, base: number): CanonicalEdit[] {
  if (original === modified) return [];
  const n = original.length;
  const m = modified.length;
  if (n * m > DIFF_LIMIT) return [{ start: base, end: base + n, text: modified }];
  // lcs[i][j]: length of the LCS of original[i..] and modified[j..].
  const lcs: Uint16Array[] = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint16Array;
    const below = lcs[i + 1] as Uint16Array;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = original.charCodeAt(i) === modified.charCodeAt(j) ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  // Hunks: maximal runs of unmatched units, as [os, oe) → [ms, me).
  const hunks: Array<{ os: number; oe: number; ms: number; me: number }> = [];
  let i = 0;
  let j = 0;
  let open: { os: number; oe: number; ms: number; me: number } | null = null;
  while (i < n || j < m) {
    if (i < n && j < m && original.charCodeAt(i) === modified.charCodeAt(j) && (lcs[i] as Uint16Array)[j] === ((lcs[i + 1] as Uint16Array)[j + 1] as number) + 1) {
      if (open) hunks.push(open);
      open = null;
      i++;
      j++;
      continue;
    }
    open ??= { os: i, oe: i, ms: j, me: j };
    if (j < m && (i === n || ((lcs[i] as Uint16Array)[j + 1] as number) >= ((lcs[i + 1] as Uint16Array)[j] as number))) {
      j++;
      open.me = j;
    } else {
      i++;
      open.oe = i;
    }
  }
  if (open) hunks.push(open);
  // Move boundaries off surrogate pairs (both sides move together: the units around a hunk match),
  // then merge hunks that came to overlap or touch.
  const merged: Array<{ os: number; oe: number; ms: number; me: number }> = [];
  for (const h of hunks) {
    while (splitsPair(original, h.os) || splitsPair(modified, h.ms)) {
      h.os--;
      h.ms--;
    }
    while (splitsPair(original, h.oe) || splitsPair(modified, h.me)) {
      h.oe++;
      h.me++;
    }
    const last = merged[merged.length - 1];
    if (last && h.os <= last.oe) {
      last.oe = Math.max(last.oe, h.oe);
      last.me = Math.max(last.me, h.me);
    } else {
      merged.push(h);
    }
  }
  return merged.map((h) => ({ start: base + h.os, end: base + h.oe, text: modified.slice(h.ms, h.me) }));
}
