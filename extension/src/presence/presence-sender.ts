/**
 * Sends our own presence: `cursor:update` when the selections or the visible range of a bound
 * document change (throttled per file, ~50 ms trailing, offsets in the server text at the binding's
 * `state.version`), and `presence:update` with the active file when the active editor changes.
 */
import * as vscode from 'vscode';
import type { CollabSession } from '../session/collab-session';
import type { DocumentRouter } from '../sync/document-router';
import { rangeToServer, selectionsToServer } from '../sync/cursor-offsets';
import { TrailingThrottle } from '../util/throttle';

/** How often at most one file's cursor is sent (ms). */
export const CURSOR_THROTTLE_MS = 50;

/** Sends our cursors and active file to a session. */
export class PresenceSender implements vscode.Disposable {
  private readonly throttle = new TrailingThrottle(CURSOR_THROTTLE_MS);
  private readonly disposables: vscode.Disposable[] = [];
  private lastActive: string | null | undefined;

  constructor(
    private readonly session: CollabSession,
    private readonly router: DocumentRouter,
  ) {
    this.disposables.push(
      this.throttle,
      vscode.window.onDidChangeTextEditorSelection((e) => this.scheduleCursor(e.textEditor)),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.scheduleCursor(e.textEditor)),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        this.sendPresence(editor);
        if (editor) this.scheduleCursor(editor);
      }),
    );
    this.disposables.push(
      { dispose: session.onDidResume(() => this.refresh()).dispose },
      router.onDidAttach((document) => {
        // The active editor's document may be bound only now (a host's file being shared).
        if (vscode.window.activeTextEditor?.document === document) this.refresh();
      }),
    );
    this.refresh();
  }

  /** Sends the current presence and cursor again (after joining or a reconnection, or a document was bound). */
  refresh(): void {
    this.lastActive = undefined;
    const editor = vscode.window.activeTextEditor;
    this.sendPresence(editor);
    if (editor) this.scheduleCursor(editor);
  }

  /** Stops sending. */
  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private sendPresence(editor: vscode.TextEditor | undefined): void {
    const fileId = editor ? (this.router.fileOf(editor.document.uri)?.fileId ?? null) : null;
    if (fileId === this.lastActive) return;
    this.lastActive = fileId;
    this.session.sendPresence(fileId);
  }

  private scheduleCursor(editor: vscode.TextEditor): void {
    const file = this.router.fileOf(editor.document.uri);
    if (!file) return;
    this.throttle.schedule(file.fileId, () => {
      // Read everything at send time: the binding's version and texts then match the selections.
      if (this.router.fileOf(editor.document.uri) !== file || editor.document.isClosed) return;
      const binding = file.binding;
      const selections = selectionsToServer(binding, editor.selections.map((s) => ({ anchor: s.anchor, head: s.active })));
      const visible = editor.visibleRanges[0];
      this.session.sendCursor(file.fileId, binding.state.version, selections, visible ? rangeToServer(binding, visible) : undefined);
    });
  }
}
