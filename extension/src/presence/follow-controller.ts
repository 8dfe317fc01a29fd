/**
 * Follow mode (architecture.md §4.5): Follow Participant / Stop Following for one session. The
 * followed participant's active file is opened and their visible range (else caret) kept in view;
 * typing or switching files ourselves stops following, as does their leaving. Viewers follow the
 * owner by themselves while `collab.followOwnerAsViewer` is on. A status bar item says whom we follow.
 * The rules are in follow-state.ts.
 */
import * as vscode from 'vscode';
import type { SessionModel } from '../session/session-model';
import { CommandId } from '../commands';
import { TrailingThrottle } from '../util/throttle';
import { RENDER_THROTTLE_MS, resolveRange, ServerTextHistory } from './cursor-model';
import { followHint, followPlan, FollowState, type StopReason } from './follow-state';

/** A typed character's selection change follows its document change within this (ms). */
const TYPING_WINDOW_MS = 100;

/** Reads `collab.followOwnerAsViewer`. */
function followOwnerSetting(): boolean {
  return vscode.workspace.getConfiguration('collab').get<boolean>('followOwnerAsViewer', true);
}

/** Follow mode for one session. */
export class FollowController implements vscode.Disposable {
  private readonly state = new FollowState();
  private readonly item = vscode.window.createStatusBarItem('collab.following', vscode.StatusBarAlignment.Left, 99);
  private readonly throttle = new TrailingThrottle(RENDER_THROTTLE_MS);
  private readonly histories = new Map<string, ServerTextHistory>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  private lastDocChange: { uri: string; at: number } | undefined;

  /** Whom we follow changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly model: SessionModel) {
    this.item.name = 'Collab Following';
    this.item.command = CommandId.StopFollowing;
    this.item.tooltip = 'Collab: click to stop following';
    this.disposables.push(
      this.item,
      this.throttle,
      this.changeEmitter,
      model.onDidChangeParticipants(() => {
        if (this.state.participantsChanged(model.participants)) this.stopped('left');
        this.maybeAutoFollow();
        this.schedule();
      }),
      model.onDidChangeRole((role) => {
        const was = this.state.following;
        this.state.roleChanged(role);
        if (was && !this.state.following) this.updateUi();
        this.maybeAutoFollow();
      }),
      model.onDidChangeCursors(({ fileId }) => {
        const binding = model.bindingOf(fileId);
        if (binding) this.history(fileId).record(binding.state.version, binding.state.serverText);
        const followed = this.followed();
        if (followed && followed.activeFileId === fileId) this.schedule();
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        const fileId = model.fileIdOf(e.document.uri);
        const binding = fileId ? model.bindingOf(fileId) : undefined;
        if (fileId && binding) this.history(fileId).record(binding.state.version, binding.state.serverText);
        if (vscode.window.activeTextEditor?.document === e.document) this.lastDocChange = { uri: e.document.uri.toString(), at: Date.now() };
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        // Typing: a keyboard selection change right after a change of that document (remote ops
        // applied by the binding come with no selection change kind).
        if (e.kind !== vscode.TextEditorSelectionChangeKind.Keyboard || e.textEditor !== vscode.window.activeTextEditor) return;
        const last = this.lastDocChange;
        if (last && last.uri === e.textEditor.document.uri.toString() && Date.now() - last.at < TYPING_WINDOW_MS && this.state.typed()) this.stopped('typed');
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('collab.followOwnerAsViewer')) return;
        if (!followOwnerSetting() && this.state.automatic && this.state.stop('ended')) this.updateUi();
        this.maybeAutoFollow();
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        const fileId = editor ? model.fileIdOf(editor.document.uri) : undefined;
        if (this.state.activeFileChanged(fileId, this.followed()?.activeFileId)) this.stopped('switched-file');
      }),
    );
    this.maybeAutoFollow();
  }

  /** The followed participant's user id. */
  get following(): string | undefined {
    return this.state.following;
  }

  /** Follow Participant: `arg` is a user id or a participants view row, else a quick pick. */
  async follow(arg?: unknown): Promise<void> {
    const self = this.model.self.userId;
    let userId = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && typeof (arg as { userId?: unknown }).userId === 'string' ? (arg as { userId: string }).userId : undefined;
    if (!userId) {
      const others = this.model.participants.filter((p) => p.userId !== self && p.online);
      if (others.length === 0) {
        void vscode.window.showInformationMessage('Collab: nobody else is online in this session.');
        return;
      }
      const picked = await vscode.window.showQuickPick(
        others.map((p) => ({ label: p.username, description: `${p.role}${p.userId === this.state.following ? ' · following' : ''}`, userId: p.userId })),
        { title: 'Follow a participant', placeHolder: 'Choose whom to follow' },
      );
      if (!picked) return;
      userId = picked.userId;
    }
    const p = this.model.participant(userId);
    if (!p || !p.online) {
      void vscode.window.showWarningMessage('Collab: that participant is not online.');
      return;
    }
    if (!this.state.start(userId, self)) {
      void vscode.window.showInformationMessage('Collab: you cannot follow yourself.');
      return;
    }
    this.updateUi();
    this.schedule();
  }

  /** Stop Following. */
  stop(): void {
    if (this.state.stop('user')) this.updateUi();
    else void vscode.window.showInformationMessage('Collab: you are not following anyone.');
  }

  dispose(): void {
    this.state.stop('ended');
    for (const d of this.disposables.splice(0)) d.dispose();
    void vscode.commands.executeCommand('setContext', 'collab.following', false);
  }

  private followed() {
    const id = this.state.following;
    return id ? this.model.participant(id) : undefined;
  }

  private history(fileId: string): ServerTextHistory {
    let h = this.histories.get(fileId);
    if (!h) this.histories.set(fileId, (h = new ServerTextHistory()));
    return h;
  }

  private maybeAutoFollow(): void {
    const target = this.state.autoTarget(this.model.role, followOwnerSetting(), this.model.participants, this.model.self.userId);
    if (!target || !this.state.start(target, this.model.self.userId, true)) return;
    this.updateUi();
    this.schedule();
  }

  private stopped(reason: StopReason): void {
    this.updateUi();
    if (reason === 'left') void vscode.window.showInformationMessage('Collab: stopped following (the participant left).');
  }

  private updateUi(): void {
    const p = this.followed();
    if (p) {
      this.item.text = followHint(p.username, this.state.automatic);
      this.item.show();
    } else this.item.hide();
    void vscode.commands.executeCommand('setContext', 'collab.following', p !== undefined);
    this.changeEmitter.fire();
  }

  private schedule(): void {
    if (this.state.following) this.throttle.schedule('follow', () => void this.show());
  }

  /** Shows the followed participant's file and range. */
  private async show(): Promise<void> {
    const p = this.followed();
    if (!p) return;
    const active = vscode.window.activeTextEditor;
    const activeFileId = active ? this.model.fileIdOf(active.document.uri) : undefined;
    const plan = followPlan(p, activeFileId, this.model.cursors(p.activeFileId ?? ''));
    if (!plan) return;
    let editor = active;
    if (plan.open) {
      const uri = this.model.uriOf(plan.fileId);
      if (!uri) return;
      this.state.willOpen(plan.fileId);
      try {
        editor = await vscode.window.showTextDocument(uri, { preview: true, preserveFocus: false });
      } catch {
        return;
      }
      if (this.state.following !== p.userId) return;
    }
    if (!editor || !plan.reveal) return;
    const binding = this.model.bindingOf(plan.fileId);
    if (!binding) return;
    const range = resolveRange(binding, this.history(plan.fileId), plan.reveal.version, plan.reveal);
    if (!range) return;
    const start = new vscode.Position(range.anchor.line, range.anchor.character);
    const end = new vscode.Position(range.head.line, range.head.character);
    const target = editor.document.validateRange(new vscode.Range(start, end));
    const visible = editor.visibleRanges[0];
    if (plan.reveal.kind === 'visible') {
      // Their viewport: put its first line at our top.
      if (visible?.start.line === target.start.line) return;
      editor.revealRange(new vscode.Range(target.start, target.start), vscode.TextEditorRevealType.AtTop);
    } else if (!visible || !visible.contains(target)) {
      editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }
}
