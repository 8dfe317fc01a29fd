/**
 * The VS Code entry point: wires the services and registers every command, the `collab:` file
 * system, the join-link URI handler and the status bar. The logic lives in the modules it wires;
 * only the adapters import 'vscode'.
 */
import * as vscode from 'vscode';
import { AuthService } from './auth/auth-service';
import { CommandId } from './commands';
import { CollabFileSystem } from './guest/collab-fs';
import { COLLAB_SCHEME } from './guest/collab-path';
import { shareFile, shareFolder } from './host/share-commands';
import { PresenceFeatures } from './presence/presence-features';
import { changeParticipantRole, copyRoomId, removeParticipant } from './session/participant-commands';
import { JOIN_PATH, roomIdFromQuery } from './session/room-link';
import { SessionManager } from './session/session-manager';
import type { CollabApi } from './session/session-model';
import { DocumentRouter } from './sync/document-router';
import { StatusBar } from './ui/status-bar';
import { readSettings } from './vscode-settings';

let manager: SessionManager | undefined;

/** Activates the extension; returns the API other features build on. */
export function activate(context: vscode.ExtensionContext): CollabApi {
  const log = vscode.window.createOutputChannel('Collab', { log: true });
  context.subscriptions.push(log);

  const auth = new AuthService(context.secrets, log);
  const router = new DocumentRouter();
  let sessions: SessionManager | undefined;
  const fs = new CollabFileSystem(log, (fileId) => {
    const file = sessions?.current?.session.sharedFile(fileId);
    return file !== undefined && file.attached;
  });
  sessions = new SessionManager(context, auth, router, fs, log);
  manager = sessions;
  const current = sessions;
  context.subscriptions.push(auth, router, fs, current, vscode.workspace.registerFileSystemProvider(COLLAB_SCHEME, fs, { isCaseSensitive: true, isReadonly: false }));
  context.subscriptions.push(new StatusBar(current));
  const presence = new PresenceFeatures(current.model, current.onDidChangeSession);
  context.subscriptions.push(presence);

  const register = (id: CommandId, run: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          await run(...args);
        } catch (error) {
          log.error(`${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
          void vscode.window.showErrorMessage(`Collab: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
  const following = () => {
    const follow = presence.followController;
    if (!follow) void vscode.window.showInformationMessage('Collab: you are not in a session.');
    return follow;
  };

  register(CommandId.ShowLog, () => log.show());
  register(CommandId.SignUp, () => auth.signUp());
  register(CommandId.SignIn, () => auth.signIn());
  register(CommandId.SignOut, async () => {
    const active = current.current;
    if (active && active.serverUrl === readSettings().serverUrl) {
      const choice = await vscode.window.showWarningMessage('Signing out leaves the current Collab session. Continue?', { modal: true }, 'Sign Out');
      if (choice !== 'Sign Out') return;
      await current.leaveSession();
    }
    await auth.signOut();
  });
  register(CommandId.StartSession, () => current.startSession());
  register(CommandId.JoinSession, (arg) => current.joinSession(arg));
  register(CommandId.LeaveSession, () => current.leaveSession());
  register(CommandId.EndSession, () => current.endSession());
  register(CommandId.ShareFile, (uri, uris) => shareFile(current, uri, uris));
  register(CommandId.ShareFolder, (uri) => shareFolder(current, uri));
  register(CommandId.CopyRoomId, () => copyRoomId(current));
  register(CommandId.ChangeParticipantRole, (arg) => changeParticipantRole(current, arg));
  register(CommandId.RemoveParticipant, (arg) => removeParticipant(current, arg));
  register(CommandId.FollowParticipant, (arg) => following()?.follow(arg));
  register(CommandId.StopFollowing, () => following()?.stop());

  context.subscriptions.push(
    vscode.window.registerUriHandler({
      handleUri(uri: vscode.Uri) {
        if (uri.path !== JOIN_PATH) {
          log.warn(`unknown link ${uri.toString(true)}`);
          return;
        }
        const roomId = roomIdFromQuery(uri.query);
        if (!roomId) {
          void vscode.window.showErrorMessage('Collab: the join link has no valid room ID.');
          return;
        }
        void current.joinSession(roomId);
      },
    }),
  );

  log.info(`Collab ${String(context.extension.packageJSON.version)} activated (server ${readSettings().serverUrl})`);
  // A guest's room folder, or the room this workspace hosted, from before a restart of the
  // extension host (or a reload): re-join it.
  void current.resumeGuest().then(() => current.resumeHost());

  return {
    get session() {
      return current.model;
    },
    onDidChangeSession: current.onDidChangeSession,
  };
}

/** Disconnects (a guest's workspace folder stays, to be re-joined by the next activation). */
export function deactivate(): void {
  manager?.shutdown();
  manager = undefined;
}
