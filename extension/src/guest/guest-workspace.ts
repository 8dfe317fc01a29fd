/**
 * The guest's side of a session: the room as a `collab:` workspace folder, and every `collab:`
 * document of the room bound to its room file (the room's text wins). Leaving closes the room's
 * tabs and removes the folder.
 *
 * The room's folder is a window's folder (`openRoomFolder`): opening it starts a new extension host
 * in that window, which re-joins the room because `SessionManager` remembered it in `globalState`
 * (activation event `onFileSystem:collab`).
 */
import * as vscode from 'vscode';
import type { CollabSession } from '../session/collab-session';
import type { DocumentRouter } from '../sync/document-router';
import type { Logger } from '../util/log';
import { COLLAB_SCHEME, parseCollabPath } from './collab-path';
import { collabUri } from './collab-fs';

/** True when the window has a workspace folder for `roomId`. */
export function hasRoomFolder(roomId: string): boolean {
  return (vscode.workspace.workspaceFolders ?? []).some((f) => f.uri.scheme === COLLAB_SCHEME && parseCollabPath(f.uri.path)?.roomId === roomId);
}

/**
 * Opens the room as the folder of a window: this one (`here`, it has no folder) or a new one. The
 * window's extension host then starts anew and re-joins the room. (Adding the room to an open
 * workspace instead would turn it into an untitled multi-root workspace, which restarts the
 * extension host as well, and in VS Code for the Web sometimes loses the workspace's folders.)
 */
export async function openRoomFolder(roomId: string, here: boolean): Promise<void> {
  await vscode.commands.executeCommand('vscode.openFolder', collabUri(roomId), here ? { forceReuseWindow: true } : { forceNewWindow: true });
}

/**
 * Takes the room's folder out of this window: closes the folder when it is the window's only one,
 * else removes it from the workspace. Either restarts the extension host.
 */
export async function leaveRoomFolder(roomId: string): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const index = folders.findIndex((f) => f.uri.scheme === COLLAB_SCHEME && parseCollabPath(f.uri.path)?.roomId === roomId);
  if (index === -1) return;
  if (folders.length === 1) await vscode.commands.executeCommand('workbench.action.closeFolder');
  else vscode.workspace.updateWorkspaceFolders(index, 1);
}

function toDisposable(d: { dispose(): void }): vscode.Disposable {
  return { dispose: () => d.dispose() };
}

/** Binds the room's `collab:` documents while a guest session runs. */
export class GuestDocuments implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly session: CollabSession,
    private readonly router: DocumentRouter,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => void this.bind(d)),
      toDisposable(
        session.onDidChangeFiles((changes) => {
          for (const change of changes) if (change.kind === 'deleted') this.router.detachFileId(change.file.id);
        }),
      ),
    );
    for (const document of vscode.workspace.textDocuments) void this.bind(document);
  }

  /** Binds a document of this room to its file (no-op for other documents). */
  async bind(document: vscode.TextDocument): Promise<void> {
    if (document.uri.scheme !== COLLAB_SCHEME || this.router.fileOf(document.uri)) return;
    const parsed = parseCollabPath(document.uri.path);
    if (!parsed || parsed.roomId !== this.session.roomId) return;
    const info = this.session.state.fileByPath(parsed.filePath);
    if (!info) return;
    const opened = await this.session.openFile(info.id);
    if (!opened.ok) {
      this.log.warn(`cannot open ${parsed.filePath}: ${opened.error.code} ${opened.error.message}`);
      return;
    }
    if (document.isClosed || this.router.fileOf(document.uri)) return;
    this.router.attach(document, opened.value, 'room');
    this.log.debug(`bound ${parsed.filePath}`);
  }

  /** Saves the room's dirty documents (a no-op write: their text is synced) and closes their tabs. */
  async closeTabs(): Promise<void> {
    for (const document of vscode.workspace.textDocuments) {
      if (document.uri.scheme === COLLAB_SCHEME && document.isDirty && parseCollabPath(document.uri.path)?.roomId === this.session.roomId) {
        try {
          await document.save();
        } catch {
          // Closing below may then ask; the text is in the room either way.
        }
      }
    }
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((tab) => {
      const input = tab.input;
      const uri = input instanceof vscode.TabInputText ? input.uri : input instanceof vscode.TabInputTextDiff ? input.modified : undefined;
      return uri?.scheme === COLLAB_SCHEME && parseCollabPath(uri.path)?.roomId === this.session.roomId;
    });
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
  }

  /** Stops binding (the router is cleared by the session's teardown). */
  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
