/**
 * SessionModel: the typed view of the live session that UI features build on (remote cursor
 * decorations, the participants view, follow mode). Get it from the extension's API
 * (`activate` returns `CollabApi`) or from `SessionManager.model`.
 *
 *  - Who: `self`, `role`, `participants` (each with `color`, `activeFileId` and `online`), with
 *    `onDidChangeParticipants` / `onDidChangeRole`.
 *  - Files: `files` (room paths), `onDidChangeFiles` (created / renamed / deleted), and the mapping
 *    between room files and VS Code: `uriOf(fileId)` (the host's `file:` URI, or the guest's
 *    `collab:/<roomId>/<path>`), `fileIdOf(uri)`, `documentOf(fileId)` (the bound document, if
 *    open) and `bindingOf(fileId)` (the file's `DocumentBinding`, if this window opened it).
 *  - Cursors: `cursors(fileId)` returns the raw `RemoteCursor` payloads last received (one per
 *    remote client, each with the `version` its offsets refer to); `onDidChangeCursors` fires with
 *    the file id on every `cursor` / `cursor:clear` (and when they are dropped on disconnection).
 *    Map a cursor whose `version` equals `bindingOf(fileId).state.version` to editor positions with
 *    `selectionsFromServer` (sync/cursor-offsets.ts); for other versions wait for the next update
 *    (or transform through the ops in between).
 *  - Life: `status` and `onDidChangeStatus` (connecting / live / reconnecting / offline);
 *    `onDidEnd` fires once when the session ends (the model is dead afterwards).
 *
 * Events are `vscode.Event`s; every subscription must be disposed by its owner.
 */
import type * as vscode from 'vscode';
import type { FileInfo, Participant, RemoteCursor, Role } from '@collab/protocol';
import type { DocumentBinding } from '../binding/document-binding';
import type { StatusPhase } from '../ui/status-text';
import type { EndReason } from './collab-session';
import type { FileChange } from './room-state';

/** The live session as UI features see it. */
export interface SessionModel {
  /** The room's id. */
  readonly roomId: string;
  /** `host`: our local `file:` documents are shared; `guest`: we see the room through `collab:` URIs. */
  readonly mode: 'host' | 'guest';
  /** The server's base URL. */
  readonly serverUrl: string;
  /** Ourselves as a participant (role, colour). */
  readonly self: Participant;
  /** Our role. */
  readonly role: Role;
  /** Every participant, ourselves included, the owner first. */
  readonly participants: readonly Participant[];
  /** Every file of the room. */
  readonly files: readonly FileInfo[];
  /** The connection's state. */
  readonly status: StatusPhase;
  /** A participant by user id. */
  participant(userId: string): Participant | undefined;
  /** The remote cursors last received for a file, raw (offsets at their own `version`). */
  cursors(fileId: string): readonly RemoteCursor[];
  /** The VS Code URI of a room file (undefined for a host's file that has no local counterpart). */
  uriOf(fileId: string): vscode.Uri | undefined;
  /** The room file of a VS Code URI. */
  fileIdOf(uri: vscode.Uri): string | undefined;
  /** The document bound to a room file, if one is open. */
  documentOf(fileId: string): vscode.TextDocument | undefined;
  /** The binding (sync state + editor text) of a room file this window has opened. */
  bindingOf(fileId: string): DocumentBinding | undefined;
  /** The participant list or someone's presence changed. */
  readonly onDidChangeParticipants: vscode.Event<void>;
  /** Our role changed. */
  readonly onDidChangeRole: vscode.Event<Role>;
  /** Files were created, renamed or deleted. */
  readonly onDidChangeFiles: vscode.Event<readonly FileChange[]>;
  /** Remote cursors of a file changed. */
  readonly onDidChangeCursors: vscode.Event<{ readonly fileId: string }>;
  /** The connection's state changed. */
  readonly onDidChangeStatus: vscode.Event<StatusPhase>;
  /** The session ended. */
  readonly onDidEnd: vscode.Event<EndReason>;
}

/** What `activate` returns, for other extensions and tests. */
export interface CollabApi {
  /** The live session, if any. */
  readonly session: SessionModel | undefined;
  /** Fires when a session starts or ends. */
  readonly onDidChangeSession: vscode.Event<SessionModel | undefined>;
}
