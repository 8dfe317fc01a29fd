/**
 * The heart of the extension, without VS Code: keeps one editor document and the protocol's sync
 * state in step.
 *
 * Three texts matter (all canonical, `\n` line breaks):
 *  - `editorText`: what the editor holds, as of the last change event we processed;
 *  - the model text, `localText(sync)`: the server's text plus our unacknowledged edits;
 *  - between them, `toEditor`: remote ops already in the model but not yet in the editor.
 * Invariant: `apply(compose(toEditor), editorText) === localText(sync)`.
 *
 * Remote ops reach the editor through `planFlush` → the adapter's `workspace.applyEdit` → the change
 * event that edit causes (the echo), which is recognised by its resulting text, not by its shape
 * (VS Code may re-shape our edit). A change that is not the echo is the user typing: it is rebased
 * over whatever remote text the editor does not show yet, and handed to the sync state machine.
 */
import {
  apply,
  compose,
  diffOp,
  isNoop,
  OpBuilder,
  replaceOp,
  replacements,
  step,
  toCanonicalText,
  transform,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
  type TextOp,
  localText,
} from '@collab/protocol';
import { LineIndex, type LinePosition } from './line-index';

/** One change of an event as canonical offsets `[start, end)` of the text before the event. */
interface Span {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** A range as VS Code has it. */
export interface EditorRange {
  readonly start: LinePosition;
  readonly end: LinePosition;
}

/** One entry of `TextDocumentChangeEvent.contentChanges` (text in the document's EOL). */
export interface EditorChange {
  readonly range: EditorRange;
  readonly text: string;
}

/** An edit for `WorkspaceEdit.replace`, in the document's coordinates and EOL. */
export interface EditorEdit {
  readonly range: EditorRange;
  readonly text: string;
}

/** A batch of remote changes to apply to the editor with one `applyEdit`. */
export interface PlannedFlush {
  readonly edits: readonly EditorEdit[];
  /** The editor's canonical text once the edit has applied (how its echo is recognised). */
  readonly expected: string;
}

/**
 * What a change event turned out to be. `deferred`: held until the running applyEdit's result tells
 * whether the change before it was our echo (see `FlushState`).
 */
export type ChangeKind = 'echo' | 'edit' | 'empty' | 'deferred';

/**
 * One applyEdit at a time, from `planFlush` until `flushSettled`. VS Code delivers an edit's echo
 * before applyEdit's promise resolves, so the echo alone does not end a flush: a second applyEdit
 * started in between would have the first one's result taken for its own.
 */
type FlushState =
  | { readonly kind: 'idle' }
  /**
   * An applyEdit is running for the first `count` entries of `toEditor`. `applied` is set when its
   * result (true) came back before its echo.
   */
  | {
      readonly kind: 'inflight';
      readonly count: number;
      readonly expected: string;
      readonly applied: boolean;
    }
  /**
   * A change that looks like its echo has been processed; its result has not come back yet. Until it
   * does, that change may still turn out to be the user typing exactly the planned text (then the
   * result is `false`), so what we undid on taking it for the echo is kept, and later changes wait in
   * `queued` (they are expressed over the text the candidate left, whichever it was).
   */
  | {
      readonly kind: 'echoed';
      readonly candidate: { readonly changes: readonly EditorChange[]; readonly editorBefore: string; readonly removed: readonly TextOp[] };
      readonly queued: (readonly EditorChange[])[];
    }
  /** The user typed while it ran: it must fail (VS Code checks the version), and is then re-planned. */
  | { readonly kind: 'invalidated' };

/** One document bound to one file's sync state. */
export class DocumentBinding {
  private sync: SyncState;
  private editor: string;
  private toEditor: TextOp[] = [];
  private flushState: FlushState = { kind: 'idle' };
  /** Set when the editor and the model can no longer be reconciled by ops: replace the text. */
  private needsReplace = false;

  constructor(
    sync: SyncState,
    /** The document's line break, used for text we put into the editor. */
    private eol: '\n' | '\r\n',
    /** The editor's text when binding starts (canonical); defaults to the model text. */
    editorText?: string,
  ) {
    this.sync = sync;
    this.editor = editorText ?? localText(sync);
    const model = localText(sync);
    // A document that differs from the model at bind time is brought to the model by one edit.
    if (this.editor !== model) this.toEditor.push(diffOp(this.editor, model));
  }

  /** The sync state (read-only view). */
  get state(): SyncState {
    return this.sync;
  }

  /** The editor text as last seen (canonical). */
  get editorText(): string {
    return this.editor;
  }

  /** The model text: server text plus our unacknowledged edits. */
  get modelText(): string {
    return localText(this.sync);
  }

  /** Change events held until the running applyEdit's result is in (`editorText` lags them). */
  get deferredChanges(): number {
    return this.flushState.kind === 'echoed' ? this.flushState.queued.length : 0;
  }

  /** True when remote changes wait to be written into the editor. */
  get hasPendingEditorChanges(): boolean {
    return this.toEditor.length > 0;
  }

  /** The remote ops the editor does not show yet, composed into one op over `editorText`; null when none. */
  get pendingEditorOp(): TextOp | null {
    return this.toEditor.length > 0 ? this.toEditor.reduce((a, b) => compose(a, b)) : null;
  }

  /** True when the editor must be repaired by replacing its whole text with `modelText`. */
  get needsFullReplace(): boolean {
    return this.needsReplace;
  }

  /** Changes the EOL used for text written into the editor (the user switched CRLF/LF). */
  setEol(eol: '\n' | '\r\n'): void {
    this.eol = eol;
  }

  /**
   * Handles a `TextDocumentChangeEvent`'s `contentChanges`, applied in array order (each range is
   * valid in the text left by the ones before it). Returns the effects for the transport.
   */
  onEditorChange(changes: readonly EditorChange[]): { kind: ChangeKind; effects: SyncEffect[] } {
    if (changes.length === 0) return { kind: 'empty', effects: [] };
    const flush = this.flushState;
    if (flush.kind === 'echoed') {
      flush.queued.push(changes);
      return { kind: 'deferred', effects: [] };
    }
    const { op, after } = this.changesToOp(changes);
    if (flush.kind === 'inflight' && after === flush.expected) {
      // Our own applyEdit coming back: the editor now shows those remote ops. The flush ends when
      // applyEdit's result is in too; a `false` then means this was the user typing the same text.
      const editorBefore = this.editor;
      const removed = this.toEditor.splice(0, flush.count);
      this.editor = after;
      this.flushState = flush.applied ? { kind: 'idle' } : { kind: 'echoed', candidate: { changes, editorBefore, removed }, queued: [] };
      return { kind: 'echo', effects: [] };
    }
    if (isNoop(op)) {
      this.editor = after;
      return { kind: 'empty', effects: [] };
    }
    // The user typed. The editor lacks the ops in `toEditor`, so rebase the edit over them (they
    // were sequenced first: they keep ties) and rebase them over the edit.
    let local = op;
    if (this.toEditor.length > 0) {
      const pending = this.toEditor.reduce((a, b) => compose(a, b));
      local = transform(op, pending, 'right');
      const rest = transform(pending, op, 'left');
      this.toEditor = isNoop(rest) ? [] : [rest];
    }
    if (flush.kind === 'inflight') {
      if (flush.applied) {
        // The edit applied, yet the next change is not its echo: VS Code changed the text in some
        // other way than planned, so the editor no longer lacks exactly `toEditor`.
        this.flushState = { kind: 'idle' };
        this.needsReplace = true;
      } else {
        this.flushState = { kind: 'invalidated' };
      }
    }
    this.editor = after;
    const effects = this.feed({ type: 'local', op: local });
    return { kind: 'edit', effects };
  }

  /** Feeds a sync event (ack, remote op, reconnect, ...); returns the effects for the transport. */
  onSyncEvent(event: SyncEvent): SyncEffect[] {
    return this.feed(event);
  }

  /**
   * The edit that brings the editor up to the model, or null when there is nothing to write or an
   * edit is already running (until `flushSettled`, even when its echo came first). Call
   * `flushSettled` with applyEdit's result.
   */
  planFlush(): PlannedFlush | null {
    if (this.flushState.kind !== 'idle' || this.toEditor.length === 0) return null;
    const op = this.toEditor.reduce((a, b) => compose(a, b));
    const count = this.toEditor.length;
    const expected = apply(op, this.editor);
    if (expected === this.editor) {
      // Nothing to write (a remote delete of text our own pending edit deleted too, an insert a
      // rollback removed again). VS Code emits no change event for an edit that changes nothing,
      // so its echo would never come: the editor already shows the model.
      this.toEditor = [];
      return null;
    }
    const edits = this.opToEdits(op);
    this.flushState = { kind: 'inflight', count, expected, applied: false };
    return { edits, expected };
  }

  /**
   * applyEdit finished. `false` (the document changed meanwhile, or VS Code refused) re-plans from
   * the current state. `true` on an edit the user's typing should have invalidated means the texts
   * can no longer be reconciled by ops: `needsFullReplace` is set. Returns transport effects to
   * carry out (non-empty when a change taken for the echo turns out to have been the user's typing).
   */
  flushSettled(applied: boolean): SyncEffect[] {
    const state = this.flushState;
    if (state.kind === 'idle') return []; // `editorReplaced` ended it
    if (state.kind === 'echoed') {
      // The usual order: echo, then result. `false` means the edit did not apply (VS Code checks the
      // version right before applying; see document-port.ts), so the change taken for its echo was
      // the user typing exactly the planned text, e.g. both users typing the same character at the
      // same place. Undo taking it for the echo and read it as typing: both keystrokes are kept.
      this.flushState = { kind: 'idle' };
      const effects: SyncEffect[] = [];
      if (!applied) {
        this.editor = state.candidate.editorBefore;
        this.toEditor = [...state.candidate.removed, ...this.toEditor];
        effects.push(...this.onEditorChange(state.candidate.changes).effects);
      }
      // Changes that came after it, in order, now that nothing of ours is in flight.
      for (const changes of state.queued) effects.push(...this.onEditorChange(changes).effects);
      return effects;
    }
    if (!applied) {
      this.flushState = { kind: 'idle' };
      return [];
    }
    if (state.kind === 'invalidated') {
      this.flushState = { kind: 'idle' };
      this.needsReplace = true;
      return [];
    }
    // Applied, echo not seen yet: it comes as a change event and is matched then.
    this.flushState = { ...state, applied: true };
    return [];
  }

  /**
   * After the adapter replaced the editor's whole text with `modelText` (repair), or re-read it:
   * the editor now holds `text` and nothing is pending towards it.
   */
  editorReplaced(text: string): void {
    this.editor = text;
    const model = this.modelText;
    this.toEditor = text === model ? [] : [diffOp(text, model)];
    this.flushState = { kind: 'idle' };
    this.needsReplace = false;
  }

  /** Checks the invariant; true when it holds. */
  checkInvariant(): boolean {
    const pending = this.toEditor.length ? this.toEditor.reduce((a, b) => compose(a, b)) : null;
    return (pending ? apply(pending, this.editor) : this.editor) === this.modelText;
  }

  private feed(event: SyncEvent): SyncEffect[] {
    const { state, effects } = step(this.sync, event);
    this.sync = state;
    const out: SyncEffect[] = [];
    for (const effect of effects) {
      // An op that changes nothing (a remote edit our own pending edit already made) needs no flush.
      if (effect.type === 'apply') {
        if (!isNoop(effect.op)) this.toEditor.push(effect.op);
      } else {
        out.push(effect);
      }
    }
    return out;
  }

  /** Turns VS Code's changes (in array order) into one op over `editorText`. */
  private changesToOp(changes: readonly EditorChange[]): { op: TextOp; after: string } {
    return this.bottomUpChangesToOp(changes) ?? this.sequentialChangesToOp(changes);
  }

  /**
   * The shape VS Code gives a multi-cursor edit: changes bottom to top, none overlapping the one
   * listed before it (research: architecture.md §5.1). Every range is then valid in the text before
   * the event, so one line index serves them all and the op is built in one pass, instead of a line
   * index and a compose per change (a 50-caret keystroke on a large file). Undefined for any other
   * shape, or a position VS Code would have had to clamp; the sequential reading then applies.
   */
  private bottomUpChangesToOp(changes: readonly EditorChange[]): { op: TextOp; after: string } | undefined {
    if (changes.length < 2) return undefined;
    const index = new LineIndex(this.editor);
    const spans: Span[] = [];
    let limit = this.editor.length;
    for (const change of changes) {
      const start = index.exactOffsetAt(change.range.start);
      const end = index.exactOffsetAt(change.range.end);
      if (start === undefined || end === undefined || start > end || end > limit) return undefined;
      spans.push({ start, end, text: toCanonicalText(change.text) });
      limit = start;
    }
    // Top to bottom; two inserts at one offset end up in reverse array order, as applied in order.
    const b = new OpBuilder();
    let pos = 0;
    for (let i = spans.length - 1; i >= 0; i--) {
      const span = spans[i] as Span;
      b.retain(span.start - pos).insert(span.text).delete(span.end - span.start);
      pos = span.end;
    }
    const op = b.retain(this.editor.length - pos).build();
    return { op, after: apply(op, this.editor) };
  }

  /** Any changes, each applied to the text the ones before it left. */
  private sequentialChangesToOp(changes: readonly EditorChange[]): { op: TextOp; after: string } {
    let text = this.editor;
    let op: TextOp | null = null;
    for (const change of changes) {
      const index = new LineIndex(text);
      const start = index.offsetAt(change.range.start);
      const end = Math.max(start, index.offsetAt(change.range.end));
      const piece = replaceOp(text.length, start, end - start, toCanonicalText(change.text));
      text = apply(piece, text);
      op = op ? compose(op, piece) : piece;
    }
    return { op: op ?? [this.editor.length].filter((n) => n > 0), after: text };
  }

  /** The replacements of `op` (over `editorText`) as editor edits, in the document's EOL. */
  private opToEdits(op: TextOp): EditorEdit[] {
    const index = new LineIndex(this.editor);
    return replacements(op).map(({ at, remove, insert }) => ({
      range: { start: index.positionAt(at), end: index.positionAt(at + remove) },
      text: this.eol === '\n' ? insert : insert.replace(/\n/g, this.eol),
    }));
  }
}
