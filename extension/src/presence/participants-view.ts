/**
 * The "Participants" tree view (activity bar container "Collab"): everyone in the session with
 * role, online state and current file. Rows carry `userId`, so the participant commands (Follow,
 * Change Role, Remove) take them as their argument. Rows come from participant-items.ts.
 */
import * as vscode from 'vscode';
import type { SessionModel } from '../session/session-model';
import { colorSpec } from './cursor-model';
import { participantItems, type ParticipantItem } from './participant-items';

/** The view's id in package.json. */
export const PARTICIPANTS_VIEW_ID = 'collab.participants';

/** Data for the Participants view; follows the current session. */
export class ParticipantsView implements vscode.TreeDataProvider<ParticipantItem>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private model: SessionModel | undefined;
  private following: () => string | undefined = () => undefined;
  private modelSubscriptions: vscode.Disposable[] = [];
  private readonly view: vscode.TreeView<ParticipantItem>;

  constructor() {
    this.view = vscode.window.createTreeView(PARTICIPANTS_VIEW_ID, { treeDataProvider: this, showCollapseAll: false });
  }

  /** Shows `model`'s participants (or the "not in a session" message). */
  setSession(model: SessionModel | undefined, following: () => string | undefined): void {
    for (const d of this.modelSubscriptions.splice(0)) d.dispose();
    this.model = model;
    this.following = following;
    this.view.message = model ? undefined : 'Not in a Collab session. Start or join one to see its participants.';
    if (model) {
      const refresh = () => this.refresh();
      this.modelSubscriptions.push(model.onDidChangeParticipants(refresh), model.onDidChangeRole(refresh), model.onDidChangeFiles(refresh), model.onDidChangeStatus(refresh));
    }
    this.refresh();
  }

  /** Re-reads the rows. */
  refresh(): void {
    this.changeEmitter.fire();
  }

  getChildren(element?: ParticipantItem): ParticipantItem[] {
    const m = this.model;
    if (element || !m) return [];
    return participantItems(m.participants, m.files, m.self.userId, m.role, this.following());
  }

  getTreeItem(item: ParticipantItem): vscode.TreeItem {
    const t = new vscode.TreeItem(item.label, vscode.TreeItemCollapsibleState.None);
    t.id = item.userId;
    t.description = item.description;
    t.tooltip = item.tooltip;
    t.contextValue = item.contextValue;
    const p = this.model?.participant(item.userId);
    const spec = p ? colorSpec(p.color, this.model?.participants.indexOf(p) ?? 0) : undefined;
    const color = item.online && spec?.kind === 'theme' ? new vscode.ThemeColor(spec.id) : undefined;
    t.iconPath = new vscode.ThemeIcon(item.following ? 'eye' : item.online ? 'account' : 'circle-slash', color);
    return t;
  }

  dispose(): void {
    for (const d of this.modelSubscriptions.splice(0)) d.dispose();
    this.view.dispose();
    this.changeEmitter.dispose();
  }
}
