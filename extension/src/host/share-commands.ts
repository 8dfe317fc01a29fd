/**
 * Share File and Share Folder (host). They take the Explorer's selection as arguments, else the
 * active editor's file, else a file or folder dialog. Folders are listed with `workspace.findFiles`
 * and the `collab.share.exclude` globs; `.gitignore`, binary files and the size limit are applied
 * per file, and a summary says what was skipped.
 */
import * as vscode from 'vscode';
import { combineGlobs } from '../share/glob';
import { readSettings } from '../vscode-settings';
import type { SessionManager } from '../session/session-manager';
import type { ActiveSession } from '../session/active-session';

function hostSession(manager: SessionManager): ActiveSession | undefined {
  const active = manager.current;
  if (!active?.host) {
    void vscode.window.showInformationMessage(active ? 'Collab: sharing local files needs a session you started ("Collab: Start Session").' : 'Collab: start a session first ("Collab: Start Session").');
    return undefined;
  }
  if (active.role === 'viewer') {
    void vscode.window.showWarningMessage('Collab: viewers cannot share files.');
    return undefined;
  }
  return active;
}

/** Share File: the Explorer selection, the active editor's file, or a picked file. */
export async function shareFile(manager: SessionManager, uri?: unknown, uris?: unknown): Promise<void> {
  const active = hostSession(manager);
  if (!active?.host) return;
  let targets = Array.isArray(uris) ? uris.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
  if (targets.length === 0 && uri instanceof vscode.Uri) targets = [uri];
  if (targets.length === 0) {
    const document = vscode.window.activeTextEditor?.document;
    if (document?.uri.scheme === 'file') {
      const outcome = await active.host.shareDocument(document, true);
      if (outcome.ok) void vscode.window.showInformationMessage(outcome.existed ? `Collab: ${outcome.file.path} is already shared.` : `Collab: shared ${outcome.file.path}.`);
      return;
    }
    targets = (await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Share', title: 'Share files in the Collab session' })) ?? [];
  }
  const files = targets.filter((t) => t.scheme === 'file');
  if (files.length === 0) return;
  const report = await active.host.shareUris(files);
  const message = `Collab: ${report.summary(Math.round(readSettings().maxFileSizeBytes / 1024))}`;
  if (report.skippedCount > 0) void vscode.window.showWarningMessage(message);
  else void vscode.window.showInformationMessage(message);
}

/** Share Folder: the Explorer's folder, or the only workspace folder, or a picked folder. */
export async function shareFolder(manager: SessionManager, uri?: unknown): Promise<void> {
  const active = hostSession(manager);
  if (!active?.host) return;
  let folder = uri instanceof vscode.Uri ? uri : undefined;
  if (!folder) {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
    if (folders.length === 1) folder = folders[0]?.uri;
    else {
      const picked = await vscode.window.showOpenDialog({ canSelectFiles: false, canSelectFolders: true, openLabel: 'Share', title: 'Share a folder in the Collab session', defaultUri: folders[0]?.uri });
      folder = picked?.[0];
    }
  }
  if (!folder || folder.scheme !== 'file') return;
  const settings = readSettings();
  const host = active.host;
  const limit = active.session.state.limits.maxFilesPerRoom - active.session.state.files.length;
  const uris = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*'), combineGlobs(settings.shareExclude) ?? null, Math.max(1, limit));
  uris.sort((a, b) => (a.path < b.path ? -1 : 1));
  if (uris.length === 0) {
    void vscode.window.showInformationMessage('Collab: no file to share in that folder (after collab.share.exclude).');
    return;
  }
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Collab: sharing ${uris.length} file(s)`, cancellable: true },
    (progress, token) => {
      let last = 0;
      return host.shareUris(uris, token, (done) => {
        progress.report({ increment: ((done - last) / uris.length) * 100, message: `${done}/${uris.length}` });
        last = done;
      });
    },
  );
  const message = `Collab: ${report.summary(Math.round(settings.maxFileSizeBytes / 1024))}`;
  if (report.skippedCount > 0) void vscode.window.showWarningMessage(message);
  else void vscode.window.showInformationMessage(message);
}
