/**
 * One joined room over one connection: the room's state, the files this window has open, remote
 * cursors, and the session's life (re-join after a reconnection, re-establishment after a stalled
 * op, removal, deletion). It knows nothing of VS Code: the extension's adapters (host documents,
 * the guest file system, the status bar) subscribe to its events. The connection belongs to the
 * caller, who closes it after `leave`/`dispose`.
 *
 * Order on resume (PROTOCOL.md §8.3): the room is re-joined first, then every open file is
 * re-opened at its known version; local typing made while offline is then sent.
 */
import {
  ErrorCode,
  normalizePath,
  type AssignableRole,
  type ErrorBody,
  type FileInfo,
  type JoinDecision,
  type JoinRequest,
  type JoinRequestResolved,
  type Participant,
  type RemoteCursor,
  type Role,
  type RoomJoinReply,
  type Selection,
  type SyncEffect,
  isSynchronized,
} from '@collab/protocol';
import type { CollabConnection } from '@collab/client';
import { Emitter, type Event } from '../util/emitter';
import type { Logger } from '../util/log';
import { SharedFile } from '../sync/shared-file';
import type { EditorSyncOptions } from '../sync/editor-sync';
import { RoomState, type FileChange } from './room-state';

/** Why a session ended. */
export type EndReason =
  | { readonly kind: 'left' }
  | { readonly kind: 'removed' }
  | { readonly kind: 'deleted' }
  /** Re-joining failed for good (`NOT_A_PARTICIPANT`, `ROOM_NOT_FOUND`). */
  | { readonly kind: 'accessLost'; readonly error: ErrorBody };

/** Success with a value, or a protocol error. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorBody };

/** A problem with one file that the user should hear about. */
export interface FileProblem {
  readonly fileId: string;
  readonly effect: SyncEffect;
}

/** Options of a session. */
export interface SessionOptions {
  /** Interval of the consistency checks (editor vs binding; every second tick also `file:verify`). 0 disables. @default 15000 */
  readonly checkIntervalMs?: number;
  /** How often files shown in an editor ask for ops they may have missed (ms; 0: never). @default 5000 */
  readonly catchUpIntervalMs?: number;
  /** Passed to each document's EditorSync. */
  readonly editorOptions?: EditorSyncOptions;
}

const ACCESS_GONE: readonly string[] = [ErrorCode.NOT_A_PARTICIPANT, ErrorCode.ROOM_NOT_FOUND];
const AUTH_CODES: readonly string[] = [ErrorCode.TOKEN_EXPIRED, ErrorCode.UNAUTHENTICATED];

/** True for the error codes that mean "sign in again". */
export function isAuthError(error: ErrorBody | undefined): boolean {
  return error !== undefined && AUTH_CODES.includes(error.code);
}

/** A joined room. */
export class CollabSession {
  readonly state: RoomState;
  private readonly files = new Map<string, SharedFile>();
  private readonly opening = new Map<string, Promise<Outcome<SharedFile>>>();
  private readonly cursorsByFile = new Map<string, Map<string, RemoteCursor>>();
  private readonly offs: Array<() => void> = [];
  private checkTimer: ReturnType<typeof setInterval> | undefined;
  private catchUpTimer: ReturnType<typeof setInterval> | undefined;
  private checkTick = 0;
  private ended: EndReason | undefined;
  private reestablishing: Promise<void> | undefined;
  private reestablishAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly participantsEmitter = new Emitter<void>();
  private readonly roleEmitter = new Emitter<Role>();
  private readonly filesEmitter = new Emitter<readonly FileChange[]>();
  private readonly cursorsEmitter = new Emitter<{ readonly fileId: string }>();
  private readonly joinRequestEmitter = new Emitter<JoinRequest>();
  private readonly joinResolvedEmitter = new Emitter<JoinRequestResolved>();
  private readonly endEmitter = new Emitter<EndReason>();
  private readonly problemEmitter = new Emitter<FileProblem>();
  private readonly signInEmitter = new Emitter<ErrorBody>();
  private readonly resumeEmitter = new Emitter<void>();

  /** The participant list (or someone's presence) changed. */
  readonly onDidChangeParticipants: Event<void> = this.participantsEmitter.event;
  /** Our own role changed. */
  readonly onDidChangeRole: Event<Role> = this.roleEmitter.event;
  /** Files were created, renamed or deleted. */
  readonly onDidChangeFiles: Event<readonly FileChange[]> = this.filesEmitter.event;
  /** A remote cursor of a file arrived or was cleared. */
  readonly onDidChangeCursors: Event<{ readonly fileId: string }> = this.cursorsEmitter.event;
  /** Someone asks to join (we are the owner). */
  readonly onJoinRequest: Event<JoinRequest> = this.joinRequestEmitter.event;
  /** A join request was answered or ended. */
  readonly onJoinRequestResolved: Event<JoinRequestResolved> = this.joinResolvedEmitter.event;
  /** The session ended; it is disposed right after. */
  readonly onDidEnd: Event<EndReason> = this.endEmitter.event;
  /** An edit was rolled back, merged, or a file resynchronised. */
  readonly onFileProblem: Event<FileProblem> = this.problemEmitter.event;
  /** The server wants a fresh sign-in (token expired or refused); reconnect after it. */
  readonly onNeedsSignIn: Event<ErrorBody> = this.signInEmitter.event;
  /** The room was re-joined and the files re-opened after a reconnection. */
  readonly onDidResume: Event<void> = this.resumeEmitter.event;

  private constructor(
    readonly connection: CollabConnection,
    reply: RoomJoinReply,
    private readonly log: Logger,
    private readonly options: SessionOptions,
  ) {
    this.state = new RoomState(reply);
    this.subscribe();
    const interval = options.checkIntervalMs ?? 15_000;
    if (interval > 0) this.checkTimer = setInterval(() => void this.checkFiles(++this.checkTick % 2 === 0), interval);
    // Broadcasts between server nodes are fire-and-forget: a lost op is noticed by the gap the next
    // one leaves, but a lost *last* op leaves none. Files shown in an editor ask for ops past their
    // version when nothing arrived for a while; the others wait for the periodic verify above.
    const catchUp = options.catchUpIntervalMs ?? 5_000;
    if (catchUp > 0) {
      this.catchUpTimer = setInterval(() => {
        if (this.connection.status !== 'live') return;
        for (const file of this.files.values()) if (file.attached) void file.sync.catchUp().catch(() => undefined);
      }, catchUp);
      this.catchUpTimer.unref?.();
    }
  }

  /** Joins `roomId` (`room:join`) over a live connection. */
  static async join(connection: CollabConnection, roomId: string, log: Logger, options: SessionOptions = {}): Promise<Outcome<CollabSession>> {
    const reply = await connection.request('room:join', { roomId });
    if (!reply.ok) return { ok: false, error: reply.error };
    return { ok: true, value: new CollabSession(connection, reply as unknown as RoomJoinReply, log, options) };
  }

  /** The room id. */
  get roomId(): string {
    return this.state.roomId;
  }

  /** Our role. */
  get role(): Role {
    return this.state.role;
  }

  /** True once the session ended. */
  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** The open file `fileId`, if this window opened it. */
  sharedFile(fileId: string): SharedFile | undefined {
    return this.files.get(fileId);
  }

  /** Every open file. */
  get sharedFiles(): SharedFile[] {
    return [...this.files.values()];
  }

  /** Opens a room file (once; later calls return the same). */
  openFile(fileId: string): Promise<Outcome<SharedFile>> {
    const open = this.files.get(fileId);
    if (open) return Promise.resolve({ ok: true, value: open });
    const pending = this.opening.get(fileId);
    if (pending) return pending;
    const promise = (async (): Promise<Outcome<SharedFile>> => {
      try {
        const result = await SharedFile.open(
          this.connection,
          this.roomId,
          fileId,
          this.log,
          {
            onEffect: (file, effect) => this.onFileEffect(file, effect),
            onStalled: (file, effect) => this.onStalled(file, effect),
          },
          this.options.editorOptions,
        );
        if (!result.ok) return { ok: false, error: result.error };
        if (this.ended || !this.state.file(fileId)) {
          result.file.dispose();
          return { ok: false, error: { code: ErrorCode.FILE_NOT_FOUND, message: 'the file is gone' } };
        }
        this.files.set(fileId, result.file);
        this.log.debug(`opened ${this.state.file(fileId)?.path ?? fileId} at version ${result.file.binding.state.version}`);
        return { ok: true, value: result.file };
      } finally {
        this.opening.delete(fileId);
      }
    })();
    this.opening.set(fileId, promise);
    return promise;
  }

  /** Creates a file (`file:create`); `content` must be canonical and within `maxOpInsertLength`. */
  async createFile(path: string, language: string, content: string): Promise<Outcome<FileInfo>> {
    const normal = normalizePath(path, this.state.limits.maxPathLength);
    if (!normal.ok) return normal;
    const reply = await this.connection.request('file:create', { roomId: this.roomId, path: normal.value, language: safeLanguage(language), content });
    if (!reply.ok) return { ok: false, error: reply.error };
    const file = reply['file'] as FileInfo;
    this.applyFileChanges([this.state.fileCreated(file)]);
    return { ok: true, value: file };
  }

  /** Renames a file (`file:rename`). */
  async renameFile(fileId: string, path: string): Promise<Outcome<FileInfo>> {
    const normal = normalizePath(path, this.state.limits.maxPathLength);
    if (!normal.ok) return normal;
    const reply = await this.connection.request('file:rename', { roomId: this.roomId, fileId, path: normal.value });
    if (!reply.ok) return { ok: false, error: reply.error };
    const file = reply['file'] as FileInfo;
    this.applyFileChanges([this.state.fileRenamed(file)]);
    return { ok: true, value: file };
  }

  /** Deletes a file (`file:delete`). */
  async deleteFile(fileId: string): Promise<Outcome<void>> {
    const reply = await this.connection.request('file:delete', { roomId: this.roomId, fileId });
    if (!reply.ok && reply.error.code !== ErrorCode.FILE_NOT_FOUND) return { ok: false, error: reply.error };
    this.applyFileChanges([this.state.fileDeleted(fileId)]);
    return { ok: true, value: undefined };
  }

  /** Owner: changes a participant's role. */
  setRole(userId: string, role: AssignableRole): Promise<Outcome<void>> {
    return this.simple('participant:setRole', { roomId: this.roomId, userId, role });
  }

  /** Owner: removes a participant. */
  removeParticipant(userId: string): Promise<Outcome<void>> {
    return this.simple('participant:remove', { roomId: this.roomId, userId });
  }

  /** Owner: answers a join request. */
  answerJoin(requestId: string, decision: JoinDecision): Promise<Outcome<void>> {
    return this.simple('room:answerJoin', { roomId: this.roomId, requestId, decision });
  }

  /** Owner: deletes the room for everyone; the session ends. */
  async deleteRoom(): Promise<Outcome<void>> {
    const result = await this.simple('room:delete', { roomId: this.roomId });
    if (result.ok) this.end({ kind: 'deleted' });
    return result;
  }

  /** Sends our selections in a file (offsets in the server text at `version`). */
  sendCursor(fileId: string, version: number, selections: readonly Selection[], visible?: { start: number; end: number }): void {
    if (this.ended || this.connection.status !== 'live' || selections.length === 0) return;
    const payload: Record<string, unknown> = {
      roomId: this.roomId,
      fileId,
      version,
      selections: selections.slice(0, this.state.limits.maxCursors).map((s) => ({ anchor: s.anchor, head: s.head })),
    };
    if (visible) payload['visible'] = { start: visible.start, end: visible.end };
    this.connection.notify('cursor:update', payload);
  }

  /** Tells the room which file our focused editor shows (`null` for none). */
  sendPresence(activeFileId: string | null): void {
    if (this.ended || this.connection.status !== 'live') return;
    if (activeFileId !== null && !this.state.file(activeFileId)) return;
    this.connection.notify('presence:update', { roomId: this.roomId, activeFileId });
  }

  /** The remote cursors last received for a file (raw payloads, each with the version it refers to). */
  cursors(fileId: string): RemoteCursor[] {
    return [...(this.cursorsByFile.get(fileId)?.values() ?? [])];
  }

  /** Leaves the room (`room:leave`; membership is kept) and ends the session. */
  async leave(): Promise<void> {
    if (this.ended) return;
    const unsent = this.sharedFiles.filter((f) => !isSynchronized(f.binding.state)).length;
    if (unsent > 0) this.log.warn(`leaving with unsent edits in ${unsent} file(s)`);
    if (this.connection.status === 'live') await this.connection.request('room:leave', { roomId: this.roomId });
    this.end({ kind: 'left' });
  }

  /**
   * Re-joins the room and re-opens every file (after a reconnection, or when an op stalled on a
   * session error). Serialised: a request during a run causes one more run after it.
   */
  reestablish(): Promise<void> {
    if (this.reestablishing) {
      this.reestablishAgain = true;
      return this.reestablishing;
    }
    this.reestablishing = (async () => {
      try {
        do {
          this.reestablishAgain = false;
          await this.reestablishOnce();
        } while (this.reestablishAgain && !this.ended);
      } finally {
        this.reestablishing = undefined;
      }
    })();
    return this.reestablishing;
  }

  /**
   * Checks every open file: the attached document against its binding, and (with `verify`, only
   * for idle files) the server text against the server's hash. Repairs are logged as warnings.
   */
  async checkFiles(verify: boolean): Promise<void> {
    for (const file of this.sharedFiles) {
      if (file.check() === 'repaired') this.log.warn(`${this.pathOf(file.fileId)}: the editor had drifted from the sync state; repaired`);
      const state = file.binding.state;
      if (!verify || !state.online || !isSynchronized(state) || file.binding.hasPendingEditorChanges) continue;
      if (this.connection.status !== 'live') return;
      const result = await file.sync.verify();
      if (result.match === false) this.log.warn(`${this.pathOf(file.fileId)}: the server's text differed from ours at version ${state.version}; resynchronised`);
    }
  }

  /** Stops everything without telling the server (the connection is about to close). */
  dispose(): void {
    if (!this.ended) this.ended = { kind: 'left' };
    clearInterval(this.checkTimer);
    clearInterval(this.catchUpTimer);
    clearTimeout(this.retryTimer);
    for (const off of this.offs.splice(0)) off();
    for (const file of this.files.values()) file.dispose();
    this.files.clear();
    this.cursorsByFile.clear();
    for (const e of [this.participantsEmitter, this.roleEmitter, this.filesEmitter, this.cursorsEmitter, this.joinRequestEmitter, this.joinResolvedEmitter, this.endEmitter, this.problemEmitter, this.signInEmitter, this.resumeEmitter]) {
      e.dispose();
    }
  }

  /** The path of a file, for messages. */
  pathOf(fileId: string): string {
    return this.state.file(fileId)?.path ?? fileId;
  }

  private end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = reason;
    this.log.info(`session in room ${this.roomId} ended: ${reason.kind}`);
    this.endEmitter.fire(reason);
    this.dispose();
  }

  private async simple(event: 'participant:setRole' | 'participant:remove' | 'room:answerJoin' | 'room:delete', payload: unknown): Promise<Outcome<void>> {
    const reply = await this.connection.request(event, payload);
    return reply.ok ? { ok: true, value: undefined } : { ok: false, error: reply.error };
  }

  private async reestablishOnce(): Promise<void> {
    if (this.ended || this.connection.status !== 'live') return; // the next resume does it
    const reply = await this.connection.request('room:join', { roomId: this.roomId });
    if (this.ended) return;
    if (!reply.ok) {
      if (ACCESS_GONE.includes(reply.error.code)) {
        this.end({ kind: 'accessLost', error: reply.error });
      } else if (isAuthError(reply.error)) {
        this.signInEmitter.fire(reply.error);
      } else {
        this.log.warn(`re-joining room ${this.roomId} failed: ${reply.error.code} ${reply.error.message}; retrying`);
        this.scheduleRetry();
      }
      return;
    }
    const diff = this.state.rejoined(reply as unknown as RoomJoinReply);
    this.applyFileChanges(diff.fileChanges);
    if (diff.participantsChanged) this.participantsEmitter.fire();
    if (diff.roleChanged) this.roleEmitter.fire(this.state.role);
    let offline = 0;
    for (const file of this.sharedFiles) {
      await file.sync.reopen();
      if (this.ended) return;
      if (!file.binding.state.online) offline++;
    }
    if (offline > 0) {
      this.log.warn(`${offline} file(s) could not be re-opened; retrying`);
      this.scheduleRetry();
    }
    this.log.info(`room ${this.roomId} re-joined; ${this.files.size} file(s) re-opened`);
    this.resumeEmitter.fire();
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.reestablish(), 3000);
  }

  private onFileEffect(file: SharedFile, effect: SyncEffect): void {
    const path = this.pathOf(file.fileId);
    if (effect.type === 'retryLater') this.log.debug(`${path}: op ${effect.seq} refused (${effect.error.code}); retrying`);
    else if (effect.type === 'needResync') this.log.info(`${path}: resynchronising (${effect.error.code})`);
    else if (effect.type === 'merged') this.log.info(`${path}: local edits merged over versions ${effect.fromVersion}..${effect.toVersion}`);
    else if (effect.type === 'rolledBack') this.log.warn(`${path}: op ${effect.seq} refused and rolled back: ${effect.error.code} ${effect.error.message}`);
    this.problemEmitter.fire({ fileId: file.fileId, effect });
  }

  private onStalled(file: SharedFile, effect: Extract<SyncEffect, { type: 'stalled' }>): void {
    const code = effect.error.code;
    this.log.warn(`${this.pathOf(file.fileId)}: sending stalled (${code}); re-establishing the session`);
    if (isAuthError(effect.error)) {
      this.signInEmitter.fire(effect.error);
    } else if (code === ErrorCode.FILE_NOT_FOUND) {
      this.applyFileChanges([this.state.fileDeleted(file.fileId)]);
    } else if (code === ErrorCode.CLIENT_ID_TAKEN) {
      // Cannot be repaired in place (PROTOCOL.md §7.5): the file must start afresh.
      this.log.error(`${this.pathOf(file.fileId)}: clientId refused (CLIENT_ID_TAKEN); close and reopen the file`);
      this.problemEmitter.fire({ fileId: file.fileId, effect });
    } else {
      void this.reestablish();
    }
  }

  /** Applies file changes: closes deleted files' state, then tells the subscribers. */
  private applyFileChanges(changes: ReadonlyArray<FileChange | undefined>): void {
    const real = changes.filter((c): c is FileChange => c !== undefined);
    if (real.length === 0) return;
    for (const change of real) {
      if (change.kind !== 'deleted') continue;
      const file = this.files.get(change.file.id);
      if (file) {
        if (!isSynchronized(file.binding.state)) this.log.warn(`${change.file.path} was deleted with unsent edits`);
        file.dispose();
        this.files.delete(change.file.id);
      }
      if (this.cursorsByFile.delete(change.file.id)) this.cursorsEmitter.fire({ fileId: change.file.id });
    }
    this.filesEmitter.fire(real);
  }

  private subscribe(): void {
    const c = this.connection;
    const mine = (roomId: string) => roomId === this.roomId && !this.ended;
    const participantChanged = (p: Participant & { roomId: string }) => {
      if (!mine(p.roomId)) return;
      const roleBefore = this.state.role;
      if (this.state.upsertParticipant(p)) this.participantsEmitter.fire();
      if (this.state.role !== roleBefore) this.roleEmitter.fire(this.state.role);
    };
    this.offs.push(
      c.on('participant:joined', participantChanged),
      c.on('participant:updated', participantChanged),
      c.on('participant:left', (p) => {
        if (mine(p.roomId) && this.state.removeParticipant(p.userId)) this.participantsEmitter.fire();
      }),
      c.on('role:changed', (p) => {
        if (!mine(p.roomId) || !this.state.setOwnRole(p.role)) return;
        this.log.info(`our role in room ${this.roomId} is now ${p.role}`);
        this.roleEmitter.fire(p.role);
        this.participantsEmitter.fire();
      }),
      c.on('room:removed', (p) => {
        if (mine(p.roomId)) this.end({ kind: p.reason === 'deleted' ? 'deleted' : 'removed' });
      }),
      c.on('file:created', (f) => {
        if (mine(f.roomId)) this.applyFileChanges([this.state.fileCreated(f)]);
      }),
      c.on('file:renamed', (f) => {
        if (mine(f.roomId)) this.applyFileChanges([this.state.fileRenamed(f)]);
      }),
      c.on('file:deleted', (f) => {
        if (mine(f.roomId)) this.applyFileChanges([this.state.fileDeleted(f.fileId)]);
      }),
      c.on('cursor', (cursor) => {
        if (this.ended || !this.state.file(cursor.fileId)) return;
        let map = this.cursorsByFile.get(cursor.fileId);
        if (!map) this.cursorsByFile.set(cursor.fileId, (map = new Map()));
        map.set(cursor.clientId, cursor);
        this.cursorsEmitter.fire({ fileId: cursor.fileId });
      }),
      c.on('cursor:clear', (clear) => {
        if (this.cursorsByFile.get(clear.fileId)?.delete(clear.clientId)) this.cursorsEmitter.fire({ fileId: clear.fileId });
      }),
      c.on('joinRequest', (request) => {
        if (mine(request.roomId)) this.joinRequestEmitter.fire(request);
      }),
      c.on('joinRequest:resolved', (resolved) => {
        if (mine(resolved.roomId)) this.joinResolvedEmitter.fire(resolved);
      }),
      c.on('session:error', (error) => {
        this.log.warn(`server: ${error.code} ${error.message}${error.event ? ` (on ${error.event})` : ''}`);
        if (isAuthError(error)) this.signInEmitter.fire(error);
      }),
      c.onStatus((status) => {
        if (status === 'live' || this.cursorsByFile.size === 0) return;
        // Remote cursors are stale once we are cut off; senders re-send them as they move.
        const fileIds = [...this.cursorsByFile.keys()];
        this.cursorsByFile.clear();
        for (const fileId of fileIds) this.cursorsEmitter.fire({ fileId });
      }),
      c.onResume(() => this.reestablish()),
    );
  }
}

/** A language id the server accepts (`LANGUAGE_PATTERN`), or `plaintext`. */
export function safeLanguage(language: string): string {
  return /^[A-Za-z0-9_.+#-]{1,64}$/.test(language) ? language : 'plaintext';
}
