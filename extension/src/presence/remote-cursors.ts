/**
 * Draws the remote participants' cursors and selections in the editors of a session's files
 * (OCT-style, architecture.md §4.4): per participant, decoration types created once (selection
 * background, caret bar, name tag above the caret, or below it on the first line) in the
 * participant's colour; the name tag shows only while they are active (~2 s). Cursors are mapped
 * from their version to our binding's state (cursor-model.ts) on every cursor update and every
 * document change, throttled. The types of a participant are disposed when they leave, and all of
 * them when the session ends.
 */
import * as vscode from 'vscode';
import type { Participant, RemoteCursor } from '@collab/protocol';
import type { SessionModel } from '../session/session-model';
import type { EditorSelection } from '../sync/cursor-offsets';
import { TrailingThrottle } from '../util/throttle';
import { ActivityClock, colorSpec, cssColor, RENDER_THROTTLE_MS, renderCursors, ServerTextHistory, type ColorSpec } from './cursor-model';

interface PeerTypes {
  readonly color: string;
  readonly selection: vscode.TextEditorDecorationType;
  readonly caret: vscode.TextEditorDecorationType;
  readonly tag: vscode.TextEditorDecorationType;
  readonly tagBelow: vscode.TextEditorDecorationType;
}

function createTypes(p: Participant, spec: ColorSpec): PeerTypes {
  const color = cssColor(spec);
  const ruler = spec.kind === 'theme' ? new vscode.ThemeColor(spec.id) : spec.value;
  const closed = vscode.DecorationRangeBehavior.ClosedClosed;
  const tag = (where: string) =>
    vscode.window.createTextEditorDecorationType({
      rangeBehavior: closed,
      before: {
        contentText: p.username,
        backgroundColor: color,
        color: 'var(--vscode-editor-background)',
        fontWeight: 'bold',
        textDecoration: `none; position: absolute; ${where}: -1.1em; z-index: 10; padding: 0 3px; border-radius: 2px; font-size: 0.85em; white-space: nowrap; pointer-events: none;`,
      },
    });
  return {
    color: p.color,
    selection: vscode.window.createTextEditorDecorationType({ rangeBehavior: closed, backgroundColor: cssColor(spec, 0.25), overviewRulerColor: ruler, overviewRulerLane: vscode.OverviewRulerLane.Center }),
    caret: vscode.window.createTextEditorDecorationType({
      rangeBehavior: closed,
      before: {
        contentText: '\u200b',
        textDecoration: `none; position: absolute; display: inline-block; height: 1.2em; border-left: 2px solid ${color}; z-index: 5; pointer-events: none;`,
      },
    }),
    tag: tag('top'),
    tagBelow: tag('bottom'),
  };
}

function disposeTypes(t: PeerTypes): void {
  t.selection.dispose();
  t.caret.dispose();
  t.tag.dispose();
  t.tagBelow.dispose();
}

const pos = (p: { line: number; character: number }) => new vscode.Position(p.line, p.character);

/** Remote cursor decorations for one session. */
export class RemoteCursors implements vscode.Disposable {
  private readonly types = new Map<string, PeerTypes>();
  private readonly histories = new Map<string, ServerTextHistory>();
  private readonly seen = new Map<string, RemoteCursor>();
  private readonly activity = new ActivityClock(() => Date.now());
  private readonly throttle = new TrailingThrottle(RENDER_THROTTLE_MS);
  private readonly disposables: vscode.Disposable[] = [];
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private disposed = false;

  constructor(private readonly model: SessionModel) {
    this.disposables.push(
      this.throttle,
      model.onDidChangeCursors(({ fileId }) => {
        this.noteActivity(fileId);
        this.record(fileId);
        this.schedule(fileId);
      }),
      model.onDidChangeParticipants(() => {
        this.pruneParticipants();
        this.scheduleAll();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        const fileId = model.fileIdOf(e.document.uri);
        if (!fileId) return;
        this.record(fileId);
        this.schedule(fileId);
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.scheduleAll()),
    );
    this.scheduleAll();
  }

  /** Removes every decoration. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const t of this.types.values()) disposeTypes(t);
    this.types.clear();
  }

  private noteActivity(fileId: string): void {
    const current = new Set<string>();
    for (const c of this.model.cursors(fileId)) {
      current.add(c.clientId);
      if (this.seen.get(c.clientId) !== c) {
        this.seen.set(c.clientId, c);
        this.activity.touch(c.clientId);
      }
    }
    for (const [clientId, c] of this.seen) {
      if (c.fileId === fileId && !current.has(clientId)) {
        this.seen.delete(clientId);
        this.activity.forget(clientId);
      }
    }
  }

  private history(fileId: string): ServerTextHistory {
    let h = this.histories.get(fileId);
    if (!h) this.histories.set(fileId, (h = new ServerTextHistory()));
    return h;
  }

  private record(fileId: string): void {
    const binding = this.model.bindingOf(fileId);
    if (binding) this.history(fileId).record(binding.state.version, binding.state.serverText);
  }

  private pruneParticipants(): void {
    for (const [userId, t] of this.types) {
      const p = this.model.participant(userId);
      if (!p || !p.online || p.color !== t.color) {
        disposeTypes(t);
        this.types.delete(userId);
      }
    }
  }

  private typesOf(userId: string): PeerTypes | undefined {
    let t = this.types.get(userId);
    if (t) return t;
    const p = this.model.participant(userId);
    if (!p) return undefined;
    t = createTypes(p, colorSpec(p.color, this.model.participants.indexOf(p)));
    this.types.set(userId, t);
    return t;
  }

  private schedule(fileId: string): void {
    if (!this.disposed) this.throttle.schedule(fileId, () => this.render(fileId));
  }

  private scheduleAll(): void {
    const files = new Set<string>();
    for (const editor of vscode.window.visibleTextEditors) {
      const fileId = this.model.fileIdOf(editor.document.uri);
      if (fileId) files.add(fileId);
    }
    for (const fileId of files) this.schedule(fileId);
  }

  private render(fileId: string): void {
    if (this.disposed) return;
    const editors = vscode.window.visibleTextEditors.filter((e) => this.model.fileIdOf(e.document.uri) === fileId);
    if (editors.length === 0) return;
    const binding = this.model.bindingOf(fileId);
    const rendered = binding ? renderCursors(binding, this.history(fileId), this.model.cursors(fileId), binding.state.clientId, this.activity) : [];
    const byUser = new Map<string, { selections: vscode.Range[]; carets: vscode.Range[]; tags: vscode.Range[]; tagsBelow: vscode.Range[] }>();
    for (const r of rendered) {
      if (!this.typesOf(r.userId)) continue;
      let entry = byUser.get(r.userId);
      if (!entry) byUser.set(r.userId, (entry = { selections: [], carets: [], tags: [], tagsBelow: [] }));
      r.selections.forEach((s: EditorSelection, i) => {
        const head = pos(s.head);
        const range = new vscode.Range(pos(s.anchor), head);
        if (!range.isEmpty) entry.selections.push(range);
        entry.carets.push(new vscode.Range(head, head));
        if (i === 0 && r.showName) (head.line === 0 ? entry.tagsBelow : entry.tags).push(new vscode.Range(head, head));
      });
    }
    for (const editor of editors) {
      const lines = editor.document.lineCount;
      const valid = (ranges: vscode.Range[]) => ranges.filter((r) => r.end.line < lines).map((r) => editor.document.validateRange(r));
      for (const [userId, t] of this.types) {
        const e = byUser.get(userId);
        editor.setDecorations(t.selection, e ? valid(e.selections) : []);
        editor.setDecorations(t.caret, e ? valid(e.carets) : []);
        editor.setDecorations(t.tag, e ? valid(e.tags) : []);
        editor.setDecorations(t.tagBelow, e ? valid(e.tagsBelow) : []);
      }
    }
    this.scheduleExpiry();
  }

  /** Re-renders when the next name tag should disappear. */
  private scheduleExpiry(): void {
    if (this.expiryTimer) return;
    const next = this.activity.nextExpiry();
    if (next === undefined) return;
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = undefined;
      this.scheduleAll();
    }, next + 10);
  }
}
