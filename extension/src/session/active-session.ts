/**
 * The runtime of the live session in this window: the connection, the `CollabSession`, and the
 * VS Code adapters around it (host documents or guest documents, presence). Implements the
 * `SessionModel` that UI features build on.
 */
import * as vscode from 'vscode';
import type { CollabConnection } from '@collab/client';
import type { FileInfo, Participant, RemoteCursor, Role } from '@collab/protocol';
import type { DocumentBinding } from '../binding/document-binding';
import type { Settings } from '../config';
import { collabUri } from '../guest/collab-fs';
import { COLLAB_SCHEME, parseCollabPath } from '../guest/collab-path';
import { GuestDocuments } from '../guest/guest-workspace';
import { HostFiles } from '../host/host-files';
import { PresenceSender } from '../presence/presence-sender';
import type { DocumentRouter } from '../sync/document-router';
import type { StatusPhase } from '../ui/status-text';
import type { Logger } from '../util/log';
import type { CollabSession, EndReason } from './collab-session';
import type { FileChange } from './room-state';
import type { SessionModel } from './session-model';

/** One live session and its adapters. */
export class ActiveSession implements SessionModel, vscode.Disposable {
  readonly host: HostFiles | undefined;
  readonly guest: GuestDocuments | undefined;
  readonly presence: PresenceSender;
  private phase: StatusPhase = 'live';
  /** True when the server refused our sign-in and the user has not signed in again yet. */
  needsSignIn = false;
  /** True once Leave/End started: disconnections are then expected. */
  closing = false;
  private readonly statusEmitter = new vscode.EventEmitter<StatusPhase>();
  readonly onDidChangeStatus = this.statusEmitter.event;
  readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly session: CollabSession,
    readonly connection: CollabConnection,
    readonly mode: 'host' | 'guest',
    readonly serverUrl: string,
    readonly username: string,
    private readonly router: DocumentRouter,
    settings: () => Settings,
    log: Logger,
  ) {
    if (mode === 'host') this.host = new HostFiles(session, router, settings, log);
    else this.guest = new GuestDocuments(session, router, log);
    this.presence = new PresenceSender(session, router);
  }

  get roomId(): string {
    return this.session.roomId;
  }

  get self(): Participant {
    return this.session.state.you;
  }

  get role(): Role {
    return this.session.role;
  }

  get participants(): readonly Participant[] {
    return this.session.state.participants;
  }

  get files(): readonly FileInfo[] {
    return this.session.state.files;
  }

  get status(): StatusPhase {
    return this.phase;
  }

  /** Sets the connection phase shown in the status bar. */
  setStatus(phase: StatusPhase): void {
    if (phase === this.phase) return;
    this.phase = phase;
    this.statusEmitter.fire(phase);
  }

  participant(userId: string): Participant | undefined {
    return this.session.state.participant(userId);
  }

  cursors(fileId: string): readonly RemoteCursor[] {
    return this.session.cursors(fileId);
  }

  uriOf(fileId: string): vscode.Uri | undefined {
    const info = this.session.state.file(fileId);
    if (!info) return undefined;
    return this.mode === 'guest' ? collabUri(this.roomId, info.path) : this.host?.uriOf(fileId);
  }

  fileIdOf(uri: vscode.Uri): string | undefined {
    if (this.mode === 'host') return uri.scheme === 'file' ? this.host?.fileIdOf(uri) : undefined;
    if (uri.scheme !== COLLAB_SCHEME) return undefined;
    const parsed = parseCollabPath(uri.path);
    return parsed && parsed.roomId === this.roomId ? this.session.state.fileByPath(parsed.filePath)?.id : undefined;
  }

  documentOf(fileId: string): vscode.TextDocument | undefined {
    const file = this.session.sharedFile(fileId);
    return file ? this.router.documentOf(file) : undefined;
  }

  bindingOf(fileId: string): DocumentBinding | undefined {
    return this.session.sharedFile(fileId)?.binding;
  }

  get onDidChangeParticipants(): vscode.Event<void> {
    return this.session.onDidChangeParticipants;
  }

  get onDidChangeRole(): vscode.Event<Role> {
    return this.session.onDidChangeRole;
  }

  get onDidChangeFiles(): vscode.Event<readonly FileChange[]> {
    return this.session.onDidChangeFiles;
  }

  get onDidChangeCursors(): vscode.Event<{ readonly fileId: string }> {
    return this.session.onDidChangeCursors;
  }

  get onDidEnd(): vscode.Event<EndReason> {
    return this.session.onDidEnd;
  }

  /** Disposes the adapters and the session (not the connection: the manager closes it). */
  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.presence.dispose();
    this.host?.dispose();
    this.guest?.dispose();
    this.router.clear();
    this.session.dispose();
    this.statusEmitter.dispose();
  }
}
