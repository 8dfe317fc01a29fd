/**
 * The `collab:` file system a guest's workspace folder lives in (`collab:/<roomId>/<path>`).
 * Registered once at activation; it serves the guest session the `SessionManager` hands it.
 *
 *  - Folders are implied by file paths (plus empty folders created in this window).
 *  - `readFile` opens the room file (`file:open`) and returns the text the attached document shows,
 *    or the model text when none is attached, so a re-read by VS Code never finds a difference
 *    to "reload" (which would look like typing).
 *  - `writeFile` of an existing file is a save: its text already syncs, so nothing is sent; a write
 *    while no document is attached (e.g. a copy over it) is sent as an edit. A new path creates
 *    the file (`file:create`). `delete`/`rename` map to `file:delete`/`file:rename`.
 *  - `stat` reports `FilePermission.Readonly` for viewers (the provider is registered with
 *    `isReadonly: false`, so permissions can differ per file and change with the role); a role
 *    change fires `Changed` for every file so VS Code re-reads them.
 *  - `mtime` stays put for files shown in a document (VS Code would otherwise see a "newer file on
 *    disk" and refuse a save); other files get a new mtime when they change.
 */
import * as vscode from 'vscode';
import { ErrorCode, type ErrorBody, type FileInfo } from '@collab/protocol';
import type { CollabSession } from '../session/collab-session';
import type { FileChange } from '../session/room-state';
import { checkContent } from '../share/share-filter';
import type { Logger } from '../util/log';
import { COLLAB_SCHEME, collabPath, parseCollabPath } from './collab-path';
import { VirtualTree } from './virtual-tree';
import { languageOf } from '../share/language';

/** The URI of a room file or folder. */
export function collabUri(roomId: string, filePath = ''): vscode.Uri {
  return vscode.Uri.from({ scheme: COLLAB_SCHEME, path: collabPath(roomId, filePath) });
}

/** The guest session's files as a VS Code file system. */
export class CollabFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private session: CollabSession | undefined;
  private waiting: { roomId: string; ready: Promise<void> } | undefined;
  private readonly tree = new VirtualTree();
  private readonly mtimes = new Map<string, number>();
  private readonly created = Date.now();
  private sessionDisposables: Array<{ dispose(): void }> = [];
  private readonly changeEmitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();

  /** Changes of room files and folders. */
  readonly onDidChangeFile = this.changeEmitter.event;

  constructor(
    private readonly log: Logger,
    /** True while the file's document is attached (its mtime must not move). */
    private readonly isAttached: (fileId: string) => boolean,
  ) {}

  /** Serves `session` (undefined: none; every request then fails with FileNotFound). */
  setSession(session: CollabSession | undefined): void {
    for (const d of this.sessionDisposables.splice(0)) d.dispose();
    const previous = this.session;
    this.session = session;
    this.waiting = undefined;
    this.tree.setFiles([]);
    if (previous) this.changeEmitter.fire([{ type: vscode.FileChangeType.Changed, uri: collabUri(previous.roomId) }]);
    if (!session) return;
    this.tree.setFiles(session.state.files.map((f) => f.path));
    for (const f of session.state.files) this.mtimes.set(f.id, Date.now());
    this.sessionDisposables.push(
      session.onDidChangeFiles((changes) => this.onFiles(session, changes)),
      session.onDidChangeRole(() => this.permissionsChanged(session)),
    );
    this.changeEmitter.fire([{ type: vscode.FileChangeType.Changed, uri: collabUri(session.roomId) }]);
  }

  /** Requests for `roomId` wait (up to 20 s) for `ready` (a session being joined after a reload). */
  waitFor(roomId: string, ready: Promise<unknown>): void {
    const settled = ready.then(
      () => undefined,
      () => undefined,
    );
    this.waiting = { roomId, ready: Promise.race([settled, new Promise<void>((resolve) => setTimeout(resolve, 20_000))]) };
  }

  watch(): vscode.Disposable {
    // Changes are pushed from the room's events (onDidChangeFile); nothing to watch.
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const { session, path: asked } = await this.resolve(uri);
    // While VS Code replays someone else's rename (followRename), the file is still at its old path.
    const following = this.following && !this.following.moved ? this.following : undefined;
    if (following?.to === asked) throw vscode.FileSystemError.FileNotFound(uri);
    const path = following?.from === asked ? following.to : asked;
    const kind = this.tree.kindOf(path);
    const permissions = session.state.canEdit ? undefined : vscode.FilePermission.Readonly;
    if (kind === 'directory') return { type: vscode.FileType.Directory, ctime: this.created, mtime: this.created, size: 0, permissions };
    const file = kind === 'file' ? session.state.fileByPath(path) : undefined;
    if (!file) throw vscode.FileSystemError.FileNotFound(uri);
    const shared = session.sharedFile(file.id);
    const size = shared ? Buffer.byteLength(shared.text, 'utf8') : 0;
    return { type: vscode.FileType.File, ctime: this.created, mtime: this.mtimeOf(file.id), size, permissions };
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const { path } = await this.resolve(uri);
    const kind = this.tree.kindOf(path);
    if (kind === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    if (kind === 'file') throw vscode.FileSystemError.FileNotADirectory(uri);
    return this.tree.list(path).map(([name, k]) => [name, k === 'file' ? vscode.FileType.File : vscode.FileType.Directory]);
  }

  async createDirectory(uri: vscode.Uri): Promise<void> {
    const { session, path } = await this.resolve(uri);
    this.requireEditor(session, uri);
    if (this.tree.kindOf(path) !== undefined) throw vscode.FileSystemError.FileExists(uri);
    this.tree.addDirectory(path);
    this.changeEmitter.fire([{ type: vscode.FileChangeType.Created, uri }]);
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const { session, path: asked } = await this.resolve(uri);
    const path = this.following && !this.following.moved && this.following.from === asked ? this.following.to : asked;
    const info = session.state.fileByPath(path);
    if (!info) throw this.tree.kindOf(path) === 'directory' ? vscode.FileSystemError.FileIsADirectory(uri) : vscode.FileSystemError.FileNotFound(uri);
    const opened = await session.openFile(info.id);
    if (!opened.ok) throw toFsError(opened.error, uri);
    return new TextEncoder().encode(opened.value.text);
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { readonly create: boolean; readonly overwrite: boolean }): Promise<void> {
    const { session, path } = await this.resolve(uri);
    const info = session.state.fileByPath(path);
    if (info) {
      if (!options.overwrite) throw vscode.FileSystemError.FileExists(uri);
      const opened = await session.openFile(info.id);
      if (!opened.ok) throw toFsError(opened.error, uri);
      // A save of the attached document: its text already syncs.
      if (opened.value.attached) return;
      this.requireEditor(session, uri);
      opened.value.writeDetached(this.decode(content, session, uri));
      this.touch(info.id, uri);
      return;
    }
    if (!options.create) throw vscode.FileSystemError.FileNotFound(uri);
    if (this.tree.kindOf(path) === 'directory') throw vscode.FileSystemError.FileIsADirectory(uri);
    this.requireEditor(session, uri);
    const created = await session.createFile(path, languageOf(path), this.decode(content, session, uri));
    if (!created.ok) throw toFsError(created.error, uri);
  }

  async delete(uri: vscode.Uri): Promise<void> {
    const { session, path } = await this.resolve(uri);
    this.requireEditor(session, uri);
    const kind = this.tree.kindOf(path);
    if (kind === undefined) throw vscode.FileSystemError.FileNotFound(uri);
    const files = kind === 'file' ? [path] : this.tree.filesUnder(path);
    for (const p of files) {
      const info = session.state.fileByPath(p);
      if (!info) continue;
      const result = await session.deleteFile(info.id);
      if (!result.ok) throw toFsError(result.error, uri);
    }
    if (kind === 'directory') {
      this.tree.removeDirectory(path);
      this.changeEmitter.fire([{ type: vscode.FileChangeType.Deleted, uri }]);
    }
  }

  async rename(oldUri: vscode.Uri, newUri: vscode.Uri, options: { readonly overwrite: boolean }): Promise<void> {
    const from = await this.resolve(oldUri);
    const to = await this.resolve(newUri);
    const session = from.session;
    if (to.session !== session) throw vscode.FileSystemError.NoPermissions('files cannot move between rooms');
    // Already done: someone else's rename, replayed by VS Code to move our editors along.
    if (this.following && this.following.from === from.path && this.following.to === to.path) {
      this.following = { ...this.following, moved: true };
      return;
    }
    const kind = this.tree.kindOf(from.path);
    const moving = kind === 'file' ? session.state.fileByPath(from.path) : undefined;
    const target = session.state.fileByPath(to.path);
    if (kind === undefined) throw vscode.FileSystemError.FileNotFound(oldUri);
    this.requireEditor(session, oldUri);
    if (moving && target && target.id === moving.id) return;
    if (target || this.tree.kindOf(to.path) === 'directory') {
      if (!options.overwrite || !target) throw vscode.FileSystemError.FileExists(newUri);
      const removed = await session.deleteFile(target.id);
      if (!removed.ok) throw toFsError(removed.error, newUri);
    }
    const files = kind === 'file' ? [from.path] : this.tree.filesUnder(from.path);
    for (const p of files) {
      const info = session.state.fileByPath(p);
      if (!info) continue;
      this.ownRenames.add(info.id);
      try {
        const result = await session.renameFile(info.id, to.path + p.slice(from.path.length));
        if (!result.ok) throw toFsError(result.error, oldUri);
      } finally {
        this.ownRenames.delete(info.id);
      }
    }
    if (kind === 'directory') {
      this.tree.renameDirectory(from.path, to.path);
      this.changeEmitter.fire([
        { type: vscode.FileChangeType.Deleted, uri: oldUri },
        { type: vscode.FileChangeType.Created, uri: newUri },
      ]);
    }
  }

  /** Someone else's rename that VS Code is replaying through us to move our editors (see `followRename`). */
  private following: { readonly from: string; readonly to: string; readonly moved?: boolean } | undefined;
  /** Files this window is renaming: the room's echo of our own rename must not be "followed". */
  private readonly ownRenames = new Set<string>();
  private followQueue: Promise<void> = Promise.resolve();

  /** Disposes the emitter. */
  dispose(): void {
    this.setSession(undefined);
    this.changeEmitter.dispose();
  }

  private async resolve(uri: vscode.Uri): Promise<{ session: CollabSession; path: string }> {
    const parsed = parseCollabPath(uri.path);
    if (!parsed) throw vscode.FileSystemError.FileNotFound(uri);
    if (!this.session && this.waiting?.roomId === parsed.roomId) await this.waiting.ready;
    const session = this.session;
    if (!session || session.roomId !== parsed.roomId || session.isEnded) {
      throw vscode.FileSystemError.Unavailable(`not in Collab room ${parsed.roomId} (join it with "Collab: Join Session")`);
    }
    return { session, path: parsed.filePath };
  }

  private requireEditor(session: CollabSession, uri: vscode.Uri): void {
    if (!session.state.canEdit) throw vscode.FileSystemError.NoPermissions(`${uri.path}: you are a viewer in this room`);
  }

  private decode(content: Uint8Array, session: CollabSession, uri: vscode.Uri): string {
    const check = checkContent(content, Number.MAX_SAFE_INTEGER, session.state.limits.maxOpInsertLength);
    if (!check.ok) throw vscode.FileSystemError.NoPermissions(`${uri.path}: ${check.reason === 'binary' ? 'binary files cannot be shared' : 'the file is too large to share'}`);
    return check.text;
  }

  private mtimeOf(fileId: string): number {
    let m = this.mtimes.get(fileId);
    if (m === undefined) this.mtimes.set(fileId, (m = Date.now()));
    return m;
  }

  private touch(fileId: string, uri: vscode.Uri): void {
    if (!this.isAttached(fileId)) this.mtimes.set(fileId, Math.max(Date.now(), this.mtimeOf(fileId) + 1));
    this.changeEmitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  private onFiles(session: CollabSession, changes: readonly FileChange[]): void {
    const events: vscode.FileChangeEvent[] = [];
    const renamedOpen: Array<{ from: vscode.Uri; to: vscode.Uri; file: FileInfo }> = [];
    for (const change of changes) {
      const uri = collabUri(session.roomId, change.file.path);
      if (change.kind === 'created') {
        this.tree.addFile(change.file.path);
        this.mtimes.set(change.file.id, Date.now());
        events.push({ type: vscode.FileChangeType.Created, uri });
      } else if (change.kind === 'deleted') {
        this.tree.removeFile(change.file.path);
        this.mtimes.delete(change.file.id);
        events.push({ type: vscode.FileChangeType.Deleted, uri });
      } else {
        const from = collabUri(session.roomId, change.oldPath);
        this.tree.removeFile(change.oldPath);
        this.tree.addFile(change.file.path);
        const open = vscode.workspace.textDocuments.some((d) => d.uri.toString() === from.toString());
        if (open && !this.ownRenames.has(change.file.id)) renamedOpen.push({ from, to: uri, file: change.file });
        events.push({ type: vscode.FileChangeType.Deleted, uri: from }, { type: vscode.FileChangeType.Created, uri });
      }
    }
    // Editors of a file someone else renamed move along: VS Code "renames" it through us (a no-op,
    // the room already did it) and re-opens its editors under the new name.
    for (const r of renamedOpen) this.followQueue = this.followQueue.then(() => this.followRename(session, r.from, r.to, r.file));
    if (events.length > 0) this.changeEmitter.fire(events);
  }

  /**
   * Moves our open editors of a file someone else renamed: a `WorkspaceEdit` rename, which VS Code
   * carries out through this provider while `following` makes the file appear at its old path and
   * the rename a no-op (the room already did it). VS Code then re-opens the editors (dirty text
   * included) under the new name, and the new document is bound to the same room file.
   */
  private async followRename(session: CollabSession, from: vscode.Uri, to: vscode.Uri, file: FileInfo): Promise<void> {
    if (session.isEnded || session.state.file(file.id)?.path !== file.path) return;
    const fromPath = parseCollabPath(from.path)?.filePath;
    if (fromPath === undefined) return;
    const edit = new vscode.WorkspaceEdit();
    edit.renameFile(from, to, { overwrite: false });
    this.following = { from: fromPath, to: file.path };
    try {
      const ok = await vscode.workspace.applyEdit(edit);
      if (ok) this.log.info(`${fromPath} was renamed to ${file.path}; its editors moved along`);
      else this.log.info(`${fromPath} was renamed to ${file.path}; its editors could not be moved`);
    } catch (error) {
      this.log.warn(`${fromPath} was renamed to ${file.path}; moving its editors failed: ${String(error)}`);
    } finally {
      this.following = undefined;
      this.changeEmitter.fire([{ type: vscode.FileChangeType.Changed, uri: collabUri(session.roomId) }]);
    }
  }

  private permissionsChanged(session: CollabSession): void {
    // VS Code re-stats files on Changed; only files without a document get a new mtime, so open
    // documents are not reloaded (their text comes through the sync) yet see the new permissions.
    const events: vscode.FileChangeEvent[] = [{ type: vscode.FileChangeType.Changed, uri: collabUri(session.roomId) }];
    for (const file of session.state.files) {
      if (!this.isAttached(file.id)) this.mtimes.set(file.id, Date.now());
      events.push({ type: vscode.FileChangeType.Changed, uri: collabUri(session.roomId, file.path) });
    }
    this.changeEmitter.fire(events);
  }
}

/** A file system error for a protocol error. */
function toFsError(error: ErrorBody, uri: vscode.Uri): vscode.FileSystemError {
  switch (error.code) {
    case ErrorCode.FORBIDDEN:
      return vscode.FileSystemError.NoPermissions(`${uri.path}: ${error.message}`);
    case ErrorCode.PATH_TAKEN:
      return vscode.FileSystemError.FileExists(uri);
    case ErrorCode.FILE_NOT_FOUND:
    case ErrorCode.ROOM_NOT_FOUND:
      return vscode.FileSystemError.FileNotFound(uri);
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.NOT_JOINED:
      return vscode.FileSystemError.Unavailable(`${uri.path}: ${error.message}`);
    default:
      return vscode.FileSystemError.NoPermissions(`${uri.path}: ${error.code} ${error.message}`);
  }
}
