/**
 * The status bar item (connecting / live / reconnecting / offline / read-only, with the number of
 * participants online) and its click menu: session actions while in a session, start/join
 * otherwise.
 */
import * as vscode from 'vscode';
import { CommandId, InternalCommandId } from '../commands';
import type { SessionManager } from '../session/session-manager';
import { statusView } from './status-text';

/** Keeps the status bar item in step with the session. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('collab.status', vscode.StatusBarAlignment.Left, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly manager: SessionManager) {
    this.item.name = 'Collab';
    this.item.command = InternalCommandId.StatusMenu;
    this.disposables.push(
      this.item,
      manager.onDidChangeStatus(() => this.update()),
      manager.onDidChangeSession(() => this.update()),
      vscode.commands.registerCommand(InternalCommandId.StatusMenu, () => this.menu()),
    );
    this.update();
    this.item.show();
  }

  /** Re-renders the item. */
  update(): void {
    const active = this.manager.current;
    const view = active
      ? statusView({
          phase: active.status,
          roomId: active.roomId,
          role: active.role,
          online: active.session.state.onlineCount,
          total: active.session.state.participantCount,
          needsSignIn: active.needsSignIn,
        })
      : statusView({ phase: 'idle' });
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  }

  /** Disposes the item. */
  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private async menu(): Promise<void> {
    const active = this.manager.current;
    type Item = vscode.QuickPickItem & { run: () => unknown };
    const items: Item[] = [];
    const command = (label: string, id: string, description?: string): Item => ({ label, description, run: () => vscode.commands.executeCommand(id) });
    if (active) {
      if (active.needsSignIn) items.push({ label: '$(account) Sign In Again', description: 'resume syncing', run: () => this.manager.signInAgain() });
      else if (active.status === 'offline' || active.status === 'reconnecting') items.push({ label: '$(refresh) Reconnect Now', run: () => this.manager.reconnect() });
      items.push(command('$(copy) Copy Room ID', CommandId.CopyRoomId, active.roomId));
      if (active.host) items.push(command('$(file-add) Share File…', CommandId.ShareFile), command('$(file-directory) Share Folder…', CommandId.ShareFolder));
      if (active.role === 'owner') items.push(command('$(person) Change Participant Role…', CommandId.ChangeParticipantRole), command('$(person-remove) Remove Participant…', CommandId.RemoveParticipant));
      items.push(command('$(sign-out) Leave Session', CommandId.LeaveSession));
      if (active.role === 'owner') items.push(command('$(trash) End Session', CommandId.EndSession, 'deletes the room for everyone'));
    } else {
      items.push(command('$(broadcast) Start Session', CommandId.StartSession), command('$(plug) Join Session…', CommandId.JoinSession));
      items.push(command('$(account) Sign In…', CommandId.SignIn), command('$(person-add) Sign Up…', CommandId.SignUp));
    }
    items.push(command('$(output) Show Log', CommandId.ShowLog));
    const picked = await vscode.window.showQuickPick(items, { title: active ? `Collab · room ${active.roomId}` : 'Collab' });
    await picked?.run();
  }
}
