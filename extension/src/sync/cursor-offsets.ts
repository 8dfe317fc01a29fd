/**
 * Cursor positions between the editor and the protocol. A `cursor:update` carries offsets in the
 * server's text at the sync state's `version` (PROTOCOL.md §10), while the editor shows
 *
 *   editor text ──(remote ops not yet written: pendingEditorOp)──▶ model text
 *   model text  ──(inverse of our unacknowledged edits)──────────▶ server text at `version`
 *
 * so a caret is mapped through both. The reverse direction maps a remote cursor at our `version`
 * to editor positions. Pure.
 */
import { apply, compose, invert, transformSelection, type Selection, type SyncState, type TextOp } from '@collab/protocol';
import { LineIndex, type LinePosition } from '../binding/line-index';

/** What the mapping reads from a `DocumentBinding`. */
export interface BindingView {
  readonly editorText: string;
  readonly pendingEditorOp: TextOp | null;
  readonly state: SyncState;
}

/** A selection in editor positions (`vscode.Selection` fits). */
export interface EditorSelection {
  readonly anchor: LinePosition;
  readonly head: LinePosition;
}

/** Our unacknowledged edits (in flight, then buffered) as one op over the server text, or null. */
function localPending(state: SyncState): TextOp | null {
  if (state.inflight && state.buffer) return compose(state.inflight.op, state.buffer);
  return state.inflight?.op ?? state.buffer ?? null;
}

/** Editor selections as server-text offsets at `view.state.version`. */
export function selectionsToServer(view: BindingView, selections: readonly EditorSelection[]): Selection[] {
  const index = new LineIndex(view.editorText);
  const toModel = view.pendingEditorOp;
  const pending = localPending(view.state);
  const toServer = pending ? invert(pending, view.state.serverText) : null;
  return selections.map((s) => {
    let sel: Selection = { anchor: index.offsetAt(s.anchor), head: index.offsetAt(s.head) };
    if (toModel) sel = transformSelection(sel, toModel);
    if (toServer) sel = transformSelection(sel, toServer);
    return sel;
  });
}

/** An editor range as a server-text offset range at `view.state.version` (for `visible`). */
export function rangeToServer(view: BindingView, range: { start: LinePosition; end: LinePosition }): { start: number; end: number } {
  const [sel] = selectionsToServer(view, [{ anchor: range.start, head: range.end }]);
  const a = sel?.anchor ?? 0;
  const b = sel?.head ?? 0;
  return { start: Math.min(a, b), end: Math.max(a, b) };
}

/**
 * Server-text selections at `view.state.version` (a `RemoteCursor` of that version) as editor
 * positions; undefined when the cursor refers to another version (map it through the ops in
 * between, or wait for the next update).
 */
export function selectionsFromServer(view: BindingView, version: number, selections: readonly Selection[]): EditorSelection[] | undefined {
  if (version !== view.state.version) return undefined;
  const pending = localPending(view.state);
  const model = pending ? apply(pending, view.state.serverText) : view.state.serverText;
  const toEditor = view.pendingEditorOp ? invert(view.pendingEditorOp, view.editorText) : null;
  const index = new LineIndex(view.editorText);
  const clamp = (n: number, max: number) => Math.max(0, Math.min(n, max));
  return selections.map((s) => {
    let sel: Selection = { anchor: clamp(s.anchor, view.state.serverText.length), head: clamp(s.head, view.state.serverText.length) };
    if (pending) sel = transformSelection(sel, pending);
    sel = { anchor: clamp(sel.anchor, model.length), head: clamp(sel.head, model.length) };
    if (toEditor) sel = transformSelection(sel, toEditor);
    return { anchor: index.positionAt(sel.anchor), head: index.positionAt(sel.head) };
  });
}
