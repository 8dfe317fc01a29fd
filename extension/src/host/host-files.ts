/**
 * The host's side of a session: local `file:` documents bound to room files. A document the host
 * shows in an editor is shared (created in the room from its text, then bound with the editor's
 * text winning) unless excluded; a document of a file already in the room is bound with the room's
 * text winning (it may have changed while the document was closed). Documents stay bound until
 * they close; the room file stays open for the whole session. Also shares files from disk (Share
 * File / Share Folder) with the exclusion rules.
 *
 * The host's disk and the room's file list are kept in step both ways: the host renaming or deleting
 * a shared file (explorer, refactorings) renames or deletes it in the room; a guest creating,
 * renaming or deleting a room file does the same on the host's disk, inside the workspace folders
 * only, never overwriting a file that exists (deletes go to the trash where the file system has one).
 * While the session runs, the disk copy of every shared file that no editor of the host shows follows
 * the room's text (guests' edits land on the host's disk, in the file's own line breaks and BOM); a
 * file the host has open is the host's to save, as with any edit.
 */
import * as vscode from 'vscode';
import { ErrorCode, type FileInfo } from '@collab/protocol';
import type { CollabSession, Outcome } from '../session/collab-session';
import type { FileChange } from '../session/room-state';
import type { DocumentRouter } from '../sync/document-router';
import type { Settings } from '../config';
import type { Logger } from '../util/log';
import { GitignoreRules } from '../share/gitignore';
import { ShareReport, checkContent, checkText, pathVerdict, type SkipReason } from '../share/share-filter';
import { folderRelative, localPathFor, roomPathFor, type FolderRef } from './room-paths';
import { languageOf } from '../share/language';
import { toCanonical } from '../eol';

/** Remote edits to a file no editor shows are written to disk this long after the last one (ms). */
const DISK_WRITE_DELAY_MS = 300;

/** Where sharing one file ended. */
export type ShareOutcome = { readonly ok: true; readonly file: FileInfo; readonly existed: boolean } | { readonly ok: false; readonly reason: SkipReason; readonly detail?: string };

/** A host's bound documents and shared files. */
export class HostFiles implements vscode.Disposable {
  /** Local URI (string) → room file id, for every file this session shared or bound. */
  private readonly byUri = new Map<string, string>();
  private readonly uriById = new Map<string, vscode.Uri>();
  private readonly gitignores = new Map<string, Promise<GitignoreRules>>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly inProgress = new Map<string, Promise<ShareOutcome>>();
  private readonly notifiedSkips = new Set<string>();
  /** Shared files the host is renaming (announced by onWillRenameFiles, done by onDidRenameFiles). */
  private readonly renaming = new Map<string, { readonly from: vscode.Uri; readonly to: vscode.Uri }>();
  /** Room paths this host is creating right now (their `created` events are ours). */
  private readonly ownCreates = new Set<string>();
  /** Per shared file: the subscription that writes remote edits to disk, and its pending timer. */
  private readonly diskFollowers = new Map<string, { subscription?: { dispose(): void }; timer?: ReturnType<typeof setTimeout>; disposed: boolean }>();

  constructor(
    private readonly session: CollabSession,
    private readonly router: DocumentRouter,
    private readonly settings: () => Settings,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeVisibleTextEditors((editors) => this.onVisible(editors)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.gitignores.clear()),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.uri.path.endsWith('/.gitignore')) this.gitignores.clear();
      }),
      // Before the rename: VS Code moves the editor to the new name right away, and the new URI
      // must already resolve to the room file, or it would be shared as a second file.
      vscode.workspace.onWillRenameFiles((e) => this.expectRenames(e.files)),
      vscode.workspace.onDidRenameFiles((e) => void this.onLocalRenames(e.files)),
      vscode.workspace.onDidDeleteFiles((e) => void this.onLocalDeletes(e.files)),
    );
    this.disposables.push({ dispose: this.session.onDidChangeFiles((changes) => this.onFiles(changes)).dispose });
  }

  /**
   * At session start (or resume): takes up the room's files found on disk, shares the active
   * editor's document and binds every visible one. On a resumed session, a room file that guests
   * created while the host was away is written to disk; one whose disk copy differs from the room
   * is left alone (its disk copy is not followed) and reported, since the host may have edited it.
   */
  async start(): Promise<void> {
    const differing: string[] = [];
    for (const file of this.session.state.files) {
      const uri = this.localUri(file.path);
      if (!uri || this.uriById.has(file.id)) continue;
      // An open document (say, restored with unsaved changes after a reload) is bound below instead.
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) continue;
      if (!(await exists(uri))) {
        await this.mirrorCreate(file);
        continue;
      }
      const opened = await this.session.openFile(file.id);
      if (!opened.ok) continue;
      const disk = toCanonical(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)).replace(/^\uFEFF/, ''));
      if (disk === opened.value.text) this.remember(uri, file.id);
      else differing.push(file.path);
    }
    if (differing.length > 0) {
      const list = differing.slice(0, 5).join(', ') + (differing.length > 5 ? `, … (${differing.length} in all)` : '');
      this.log.warn(`resumed: the room's text differs from the disk copy of ${list}; those disk copies are left as they are`);
      void vscode.window.showWarningMessage(`Collab: the room's text of ${list} differs from your disk copy, which was kept. Open the file to see the room's text (then save it, or undo).`);
    }
    const active = vscode.window.activeTextEditor?.document;
    if (active && active.uri.scheme === 'file') await this.shareDocument(active, true);
    await this.onVisible(vscode.window.visibleTextEditors);
  }

  /**
   * The room file of a local URI: the one it was shared as, else the room file at its path unless
   * that one belongs to another local file of ours (two files outside the workspace with one name).
   */
  fileIdOf(uri: vscode.Uri): string | undefined {
    const known = this.byUri.get(uri.toString());
    if (known) return known;
    const atPath = this.session.state.fileByPath(this.roomPath(uri))?.id;
    const owner = atPath ? this.uriById.get(atPath) : undefined;
    return atPath && (!owner || owner.toString() === uri.toString()) ? atPath : undefined;
  }

  /** The room path for sharing `uri`: its own, or `name (2).ext` when a file of ours has it. */
  private freePath(uri: vscode.Uri): string {
    const path = this.roomPath(uri);
    if (!this.session.state.fileByPath(path)) return path;
    const dot = path.lastIndexOf('.');
    const slash = path.lastIndexOf('/');
    const [stem, ext] = dot > slash + 1 ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
    for (let n = 2; ; n++) {
      const candidate = `${stem} (${n})${ext}`;
      if (!this.session.state.fileByPath(candidate)) return candidate;
    }
  }

  /** The local URI of a room file, if this host has one. */
  uriOf(fileId: string): vscode.Uri | undefined {
    return this.uriById.get(fileId);
  }

  /**
   * Shares a document (if needed) and binds it. `explicit` (Share File, the active editor at start)
   * reports a refusal to the user; automatic sharing only logs it.
   */
  shareDocument(document: vscode.TextDocument, explicit: boolean): Promise<ShareOutcome> {
    const key = document.uri.toString();
    const running = this.inProgress.get(key);
    if (running) return running;
    const promise = this.doShareDocument(document, explicit).finally(() => this.inProgress.delete(key));
    this.inProgress.set(key, promise);
    return promise;
  }

  /** Shares files from disk (Share File on a closed file, Share Folder); returns the report. */
  async shareUris(uris: readonly vscode.Uri[], token?: vscode.CancellationToken, progress?: (done: number) => void): Promise<ShareReport> {
    const report = new ShareReport();
    let done = 0;
    for (const uri of uris) {
      if (token?.isCancellationRequested) break;
      const path = this.roomPath(uri);
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const outcome = open ? await this.shareDocument(open, false) : await this.shareFromDisk(uri);
      if (outcome.ok) {
        if (outcome.existed) report.addSkipped(path, 'exists');
        else report.addShared(path);
      } else {
        report.addSkipped(path, outcome.reason);
        if (outcome.reason === 'failed') this.log.warn(`sharing ${path} failed: ${outcome.detail ?? ''}`);
      }
      progress?.(++done);
    }
    return report;
  }

  /** The room path of a local URI. */
  roomPath(uri: vscode.Uri): string {
    return roomPathFor(folderRefs(), uri.path);
  }

  /** Stops listening; bound documents are detached. */
  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const id of [...this.diskFollowers.keys()]) this.unfollowDisk(id);
    this.router.clear();
  }

  private async onVisible(editors: readonly vscode.TextEditor[]): Promise<void> {
    for (const editor of editors) {
      const document = editor.document;
      if (document.uri.scheme !== 'file' || this.router.fileOf(document.uri)) continue;
      const known = this.fileIdOf(document.uri);
      if (known || this.settings().shareOpenedFiles) await this.shareDocument(document, false);
    }
  }

  private async doShareDocument(document: vscode.TextDocument, explicit: boolean): Promise<ShareOutcome> {
    if (this.session.isEnded) return { ok: false, reason: 'failed', detail: 'the session ended' };
    const existing = this.fileIdOf(document.uri);
    if (existing) return this.bind(document, existing, 'room', true);
    const path = this.freePath(document.uri);
    const verdict = await this.verdict(document.uri, path);
    if (!verdict.ok) return this.skipped(path, verdict.reason, explicit);
    const limits = this.session.state.limits;
    const content = checkText(document.getText(), Math.min(limits.maxOpInsertLength, this.settings().maxFileSizeBytes));
    if (!content.ok) return this.skipped(path, content.reason, explicit);
    const created = await this.createOwn(path, document.languageId, content.text);
    if (!created.ok) {
      if (created.error.code === ErrorCode.PATH_TAKEN) {
        const taken = this.session.state.fileByPath(path);
        if (taken) return this.bind(document, taken.id, 'room', true);
      }
      return this.failed(path, created.error.message, explicit);
    }
    this.log.info(`shared ${path}`);
    return this.bind(document, created.value.id, 'editor', false);
  }

  private async shareFromDisk(uri: vscode.Uri): Promise<ShareOutcome> {
    const existing = this.fileIdOf(uri);
    if (existing) return { ok: true, file: this.session.state.file(existing) as FileInfo, existed: true };
    const path = this.freePath(uri);
    const verdict = await this.verdict(uri, path);
    if (!verdict.ok) return { ok: false, reason: verdict.reason };
    const max = this.settings().maxFileSizeBytes;
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.size > max) return { ok: false, reason: 'tooLarge' };
      const content = checkContent(await vscode.workspace.fs.readFile(uri), max, this.session.state.limits.maxOpInsertLength);
      if (!content.ok) return { ok: false, reason: content.reason };
      const created = await this.createOwn(path, languageOf(uri.path), content.text);
      if (!created.ok) {
        if (created.error.code === ErrorCode.PATH_TAKEN) return { ok: false, reason: 'exists' };
        return { ok: false, reason: 'failed', detail: `${created.error.code}: ${created.error.message}` };
      }
      this.remember(uri, created.value.id);
      return { ok: true, file: created.value, existed: false };
    } catch (error) {
      return { ok: false, reason: 'failed', detail: String(error) };
    }
  }

  private async bind(document: vscode.TextDocument, fileId: string, mode: 'room' | 'editor', existed: boolean): Promise<ShareOutcome> {
    this.remember(document.uri, fileId);
    const opened: Outcome<unknown> = await this.session.openFile(fileId);
    if (!opened.ok) return { ok: false, reason: 'failed', detail: `${opened.error.code}: ${opened.error.message}` };
    const file = this.session.sharedFile(fileId);
    if (!file || document.isClosed) return { ok: false, reason: 'failed', detail: 'the document closed' };
    if (!this.router.fileOf(document.uri)) this.router.attach(document, file, mode);
    return { ok: true, file: this.session.state.file(fileId) as FileInfo, existed };
  }

  private remember(uri: vscode.Uri, fileId: string): void {
    this.byUri.set(uri.toString(), fileId);
    this.uriById.set(fileId, uri);
    this.followDisk(fileId);
  }

  /** Keeps the disk copy of a shared file in step with the room while no editor of ours shows it. */
  private followDisk(fileId: string): void {
    if (this.diskFollowers.has(fileId)) return;
    const follower: { subscription?: { dispose(): void }; timer?: ReturnType<typeof setTimeout>; disposed: boolean } = { disposed: false };
    this.diskFollowers.set(fileId, follower);
    void this.session.openFile(fileId).then((opened) => {
      if (!opened.ok || follower.disposed) return;
      follower.subscription = opened.value.onDidChangeWhileDetached(() => {
        clearTimeout(follower.timer);
        follower.timer = setTimeout(() => void this.writeToDisk(fileId), DISK_WRITE_DELAY_MS);
      });
    });
  }

  private unfollowDisk(fileId: string): void {
    const follower = this.diskFollowers.get(fileId);
    if (!follower) return;
    follower.disposed = true;
    clearTimeout(follower.timer);
    follower.subscription?.dispose();
    this.diskFollowers.delete(fileId);
  }

  /** Writes the room's text of a shared file to disk (own line breaks and BOM kept), if no editor of ours shows it. */
  private async writeToDisk(fileId: string): Promise<void> {
    const uri = this.uriById.get(fileId);
    const file = this.session.sharedFile(fileId);
    if (!uri || !file || file.attached) return;
    let bytes: Uint8Array;
    try {
      bytes = await vscode.workspace.fs.readFile(uri);
    } catch {
      return; // deleted or moved meanwhile: the room's file events handle that
    }
    const current = new TextDecoder().decode(bytes);
    const bom = current.startsWith('\uFEFF') ? '\uFEFF' : '';
    const eol = current.includes('\r\n') ? '\r\n' : '\n';
    const text = file.text;
    const next = bom + (eol === '\n' ? text : text.replace(/\n/g, '\r\n'));
    if (next === current) return;
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(next));
    this.log.debug(`wrote the room's text of ${this.session.state.file(fileId)?.path ?? fileId} to ${uri.fsPath}`);
  }

  private async verdict(uri: vscode.Uri, path: string): Promise<{ ok: true } | { ok: false; reason: 'excluded' | 'gitignored' }> {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    const relative = folderRelative(folderRefs(), path);
    const settings = this.settings();
    const rules = folder && settings.respectGitignore ? await this.gitignoreOf(folder) : undefined;
    return pathVerdict(folder ? relative : path, settings.shareExclude, rules);
  }

  private gitignoreOf(folder: vscode.WorkspaceFolder): Promise<GitignoreRules> {
    const key = folder.uri.toString();
    let rules = this.gitignores.get(key);
    if (!rules) {
      rules = (async () => {
        const found = new GitignoreRules();
        const files = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/.gitignore'), '{**/node_modules/**,**/.git/**}', 500);
        for (const uri of files) {
          try {
            const content = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
            const dir = uri.path.slice(folder.uri.path.replace(/\/+$/, '').length + 1).replace(/\/?\.gitignore$/, '');
            found.add(dir, content);
          } catch (error) {
            this.log.warn(`cannot read ${uri.fsPath}: ${String(error)}`);
          }
        }
        this.log.debug(`${found.size} .gitignore file(s) in ${folder.name}`);
        return found;
      })();
      this.gitignores.set(key, rules);
    }
    return rules;
  }

  private skipped(path: string, reason: SkipReason, explicit: boolean): ShareOutcome {
    const why: Record<SkipReason, string> = {
      excluded: 'it matches collab.share.exclude',
      gitignored: 'it is ignored by .gitignore',
      binary: 'it is binary',
      tooLarge: 'it is larger than collab.share.maxFileSizeKB (or the server limit)',
      exists: 'it is already shared',
      failed: 'sharing failed',
    };
    const message = `Collab: ${path} is not shared: ${why[reason]}.`;
    if (explicit) {
      this.log.info(message);
      void vscode.window.showWarningMessage(message);
    } else if (!this.notifiedSkips.has(path)) {
      // Automatic sharing runs on every change of the visible editors: say it once per file.
      this.notifiedSkips.add(path);
      this.log.info(message);
      vscode.window.setStatusBarMessage(`$(eye-closed) ${message}`, 8000);
    }
    return { ok: false, reason };
  }

  private failed(path: string, detail: string, explicit: boolean): ShareOutcome {
    this.log.warn(`sharing ${path} failed: ${detail}`);
    if (explicit) void vscode.window.showErrorMessage(`Collab: sharing ${path} failed: ${detail}`);
    return { ok: false, reason: 'failed', detail };
  }

  private onFiles(changes: readonly FileChange[]): void {
    for (const change of changes) {
      if (change.kind === 'created') void this.mirrorCreate(change.file);
      else if (change.kind === 'renamed') void this.mirrorRename(change.file);
      else void this.mirrorDelete(change.file);
    }
  }

  /** The local URI for a room path, inside a workspace folder; undefined outside them. */
  private localUri(roomPath: string): vscode.Uri | undefined {
    const folder = (vscode.workspace.workspaceFolders ?? []).find((f) => f.uri.scheme === 'file');
    const path = localPathFor(folderRefs(), roomPath);
    return folder && path ? folder.uri.with({ path }) : undefined;
  }

  /** A guest created a room file: write it to the host's disk unless a file is there already. */
  private async mirrorCreate(file: FileInfo): Promise<void> {
    // Our own shares come back here too (and are remembered once the create call returns).
    if (this.uriById.has(file.id) || this.ownCreates.has(file.path)) return;
    const uri = this.localUri(file.path);
    if (!uri || (await exists(uri))) return;
    const opened = await this.session.openFile(file.id);
    if (!opened.ok || this.uriById.has(file.id)) return;
    const text = opened.value.text;
    // Re-check: the host may have created the file meanwhile (never overwrite).
    if (await exists(uri)) return;
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    this.remember(uri, file.id);
    this.log.info(`${file.path} was created in the room; wrote ${uri.fsPath}`);
  }

  /** A room file was renamed: move the host's file (and its editors) along. */
  private async mirrorRename(file: FileInfo): Promise<void> {
    const from = this.uriById.get(file.id);
    const to = this.localUri(file.path);
    // Our own renames were remembered before they were sent: nothing to do.
    if (!from || !to || from.toString() === to.toString()) return;
    this.relocate(file.id, to);
    if (await exists(to)) {
      this.log.warn(`${file.path} was renamed in the room, but ${to.fsPath} exists: left ${from.fsPath} as it is`);
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(from, to, { overwrite: false });
    const applied = await vscode.workspace.applyEdit(edit);
    if (applied) this.log.info(`${file.path} was renamed in the room; moved ${from.fsPath} to ${to.fsPath}`);
    else this.log.warn(`moving ${from.fsPath} to ${to.fsPath} failed`);
  }

  /** A room file was deleted: stop sharing it and, if someone else deleted it, delete the host's file. */
  private async mirrorDelete(file: FileInfo): Promise<void> {
    const uri = this.uriById.get(file.id);
    if (!uri) return; // not ours, or we deleted it ourselves (forgotten first)
    this.router.detach(uri);
    this.forget(file.id);
    if (!(await exists(uri))) return;
    try {
      await vscode.workspace.fs.delete(uri, { useTrash: true });
    } catch {
      // Remote and server file systems often have no trash.
      await vscode.workspace.fs.delete(uri, { useTrash: false });
    }
    this.log.info(`${file.path} was deleted from the room; deleted ${uri.fsPath}`);
  }

  /**
   * The host is renaming files or folders: remember which shared files move where, and let the new
   * URIs resolve to those room files already (VS Code moves the editors before the rename event, and
   * a new URI found unknown would be shared as a second file).
   */
  private expectRenames(files: readonly { readonly oldUri: vscode.Uri; readonly newUri: vscode.Uri }[]): void {
    for (const { oldUri, newUri } of files) {
      for (const [id, uri] of this.uriById) {
        const moved = movedUri(uri, oldUri, newUri);
        if (!moved) continue;
        this.renaming.set(id, { from: uri, to: moved });
        this.byUri.set(moved.toString(), id);
      }
    }
  }

  /** The host renamed files or folders: rename the shared files under them in the room. */
  private async onLocalRenames(files: readonly { readonly oldUri: vscode.Uri; readonly newUri: vscode.Uri }[]): Promise<void> {
    for (const { oldUri, newUri } of files) {
      // Announced by onWillRenameFiles (the editor may have been re-bound at the new URI since), or
      // found now under the old URI.
      const moves = new Map<string, { from: vscode.Uri; to: vscode.Uri }>();
      for (const [id, move] of this.renaming) if (movedUri(move.from, oldUri, newUri)) moves.set(id, move);
      for (const [id, uri] of this.uriById) {
        const to = movedUri(uri, oldUri, newUri);
        if (to && !moves.has(id)) moves.set(id, { from: uri, to });
      }
      for (const [id, { from, to }] of moves) {
        this.renaming.delete(id);
        const path = this.roomPath(to);
        this.router.detach(from);
        this.byUri.delete(from.toString());
        this.relocate(id, to);
        const before = this.session.state.file(id)?.path ?? id;
        if (before === path) continue;
        const result = await this.session.renameFile(id, path);
        if (result.ok) this.log.info(`${from.fsPath} was renamed to ${to.fsPath}; renamed ${before} to ${path} in the room`);
        else this.log.warn(`renaming ${before} to ${path} in the room failed: ${result.error.message}`);
      }
    }
  }

  /** The host deleted files or folders: delete the shared files under them from the room. */
  private async onLocalDeletes(files: readonly vscode.Uri[]): Promise<void> {
    for (const deleted of files) {
      for (const [id, uri] of [...this.uriById]) {
        if (!movedUri(uri, deleted, deleted)) continue;
        this.router.detach(uri);
        this.forget(id);
        const result = await this.session.deleteFile(id);
        if (!result.ok) this.log.warn(`deleting ${uri.fsPath} from the room failed: ${result.error.message}`);
      }
    }
  }

  /** `session.createFile` for a file of ours: its `created` event must not be mirrored to disk. */
  private async createOwn(path: string, language: string, text: string): ReturnType<CollabSession['createFile']> {
    this.ownCreates.add(path);
    try {
      return await this.session.createFile(path, language, text);
    } finally {
      // The caller remembers the file right after this returns; the event is filtered by id then.
      queueMicrotask(() => this.ownCreates.delete(path));
    }
  }

  /**
   * A shared file now lives at `to` (renamed): the mappings move, the disk follower stays (its
   * subscription is by file id; dropping it meanwhile could miss a remote edit).
   */
  private relocate(fileId: string, to: vscode.Uri): void {
    const from = this.uriById.get(fileId);
    if (from) this.byUri.delete(from.toString());
    this.byUri.set(to.toString(), fileId);
    this.uriById.set(fileId, to);
  }

  private forget(fileId: string): void {
    this.unfollowDisk(fileId);
    const uri = this.uriById.get(fileId);
    if (uri) this.byUri.delete(uri.toString());
    this.uriById.delete(fileId);
  }
}

/** `uri` after `from` (a file or folder) moved to `to`; undefined when `uri` is not `from` or under it. */
function movedUri(uri: vscode.Uri, from: vscode.Uri, to: vscode.Uri): vscode.Uri | undefined {
  if (uri.scheme !== from.scheme || uri.authority !== from.authority) return undefined;
  if (uri.path === from.path) return to;
  const base = from.path.replace(/\/+$/, '');
  return uri.path.startsWith(`${base}/`) ? to.with({ path: to.path.replace(/\/+$/, '') + uri.path.slice(base.length) }) : undefined;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

function folderRefs(): FolderRef[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, path: f.uri.path }));
}
