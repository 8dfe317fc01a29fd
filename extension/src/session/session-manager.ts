/**
 * The session's life in this window: Start Session (host), Join Session (guest), Leave, End, and
 * what happens in between: connecting with the stored token, asking the owner to be let in,
 * re-authenticating without losing edits, reconnecting after the server dropped us, and tearing
 * down when the room goes away. One session at a time.
 */
import * as vscode from 'vscode';
import { CollabConnection } from '@collab/client';
import { ErrorCode, type AssignableRole, type ErrorBody } from '@collab/protocol';
import type { AuthService } from '../auth/auth-service';
import { RestClient } from '../auth/rest-client';
import type { StoredCredentials } from '../auth/token-store';
import type { CollabFileSystem } from '../guest/collab-fs';
import { hasRoomFolder, leaveRoomFolder, openRoomFolder } from '../guest/guest-workspace';
import { COLLAB_SCHEME, parseCollabPath } from '../guest/collab-path';
import type { DocumentRouter } from '../sync/document-router';
import type { Logger } from '../util/log';
import { readSettings } from '../vscode-settings';
import { ActiveSession } from './active-session';
import { CollabSession, isAuthError, type EndReason, type FileProblem } from './collab-session';
import { askToJoin } from './join-request';
import { joinLink, parseRoomInput, validateRoomInput } from './room-link';
import type { SessionModel } from './session-model';

/**
 * `globalState` key of the rooms joined as a guest, by room id: a window whose workspace folder is
 * `collab:/<roomId>` re-joins it when its extension host starts (after the window was opened for
 * the room, reloaded, or restarted). Shared by all windows of the profile.
 */
const GUEST_ROOMS_KEY = 'collab.guestRooms';

type GuestRooms = Record<string, { readonly serverUrl: string }>;

/**
 * `workspaceState` key of the room this workspace hosts: kept while the session runs (and across a
 * window reload or restart, when the extension host stops without the host leaving), cleared when
 * the host leaves or ends the session or loses the room. The next extension host re-joins it.
 */
const HOST_ROOM_KEY = 'collab.hostRoom';

interface HostRoom {
  readonly roomId: string;
  readonly serverUrl: string;
}

/** Starts, joins, leaves and ends sessions. */
export class SessionManager implements vscode.Disposable {
  private active: ActiveSession | undefined;
  private busy = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectAttempts = 0;
  private readonly changeEmitter = new vscode.EventEmitter<SessionModel | undefined>();
  private readonly statusEmitter = new vscode.EventEmitter<void>();

  /** A session started or ended. */
  readonly onDidChangeSession = this.changeEmitter.event;
  /** The live session's status, role or participants changed (for the status bar). */
  readonly onDidChangeStatus = this.statusEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly auth: AuthService,
    private readonly router: DocumentRouter,
    private readonly fs: CollabFileSystem,
    private readonly log: Logger,
  ) {}

  /** The live session, if any. */
  get current(): ActiveSession | undefined {
    return this.active;
  }

  /** The live session as a `SessionModel`. */
  get model(): SessionModel | undefined {
    return this.active;
  }

  /** Start Session: creates a private room, joins it as its owner and shares the active file. */
  async startSession(): Promise<void> {
    if (!(await this.readyForNew())) return;
    this.busy = true;
    try {
      const serverUrl = readSettings().serverUrl;
      let credentials = await this.auth.ensureSignedIn(serverUrl);
      if (!credentials) return;
      const rest = new RestClient(serverUrl);
      let room = await rest.createRoom(credentials.token, { isPrivate: true });
      if (!room.ok && isAuthError(room.error)) {
        credentials = await this.auth.reauthenticate(serverUrl, room.error);
        if (!credentials) return;
        room = await rest.createRoom(credentials.token, { isPrivate: true });
      }
      if (!room.ok) {
        void vscode.window.showErrorMessage(`Collab: cannot create a room: ${room.error.message}`);
        return;
      }
      const roomId = room.value.roomId;
      const connected = await this.connectAndJoin(serverUrl, credentials, roomId, 'host');
      if (!connected) return;
      await this.context.workspaceState.update(HOST_ROOM_KEY, { roomId, serverUrl } satisfies HostRoom);
      await connected.host?.start();
      await vscode.env.clipboard.writeText(roomId);
      this.log.info(`session started in room ${roomId}`);
      const link = joinLink(roomId, vscode.env.uriScheme);
      void vscode.window.showInformationMessage(`Collab session started. Room ID (copied to the clipboard): ${roomId}`, 'Copy', 'Copy Join Link').then(async (choice) => {
        if (choice === 'Copy') await vscode.env.clipboard.writeText(roomId);
        else if (choice === 'Copy Join Link') await vscode.env.clipboard.writeText(link);
      });
    } finally {
      this.busy = false;
    }
  }

  /**
   * Join Session: from an argument (room id or join link) or an input box. If we are not a
   * participant of the private room, offers to ask the owner and waits for the answer.
   */
  async joinSession(arg?: unknown, options: { silent?: boolean; serverUrl?: string } = {}): Promise<void> {
    let roomId = typeof arg === 'string' ? parseRoomInput(arg) : undefined;
    if (typeof arg === 'string' && !roomId) void vscode.window.showWarningMessage(`Collab: "${arg}" is not a room ID or join link.`);
    if (!roomId) {
      const input = await vscode.window.showInputBox({
        title: 'Join a Collab session',
        prompt: 'Room ID or join link (paste what the host sent you)',
        ignoreFocusOut: true,
        validateInput: validateRoomInput,
      });
      roomId = input ? parseRoomInput(input) : undefined;
      if (!roomId) return;
    }
    if (this.active?.roomId === roomId) {
      void vscode.window.showInformationMessage(`Collab: you are already in room ${roomId}.`);
      return;
    }
    if (!(await this.readyForNew())) return;
    this.busy = true;
    try {
      const serverUrl = options.serverUrl ?? readSettings().serverUrl;
      const credentials = await this.auth.ensureSignedIn(serverUrl);
      if (!credentials) return;
      const ready = this.connectAndJoin(serverUrl, credentials, roomId, 'guest', options.silent);
      this.fs.waitFor(roomId, ready);
      const active = await ready;
      if (!active) return;
      await this.rememberGuestRoom(roomId, serverUrl);
      const roleText = active.role === 'viewer' ? 'a viewer (read-only)' : active.role === 'owner' ? 'the owner' : 'an editor';
      if (!hasRoomFolder(roomId)) {
        // The room opens as the folder of a window: this one if it has none, else a new one.
        // Either way a new extension host starts there and re-joins (see GUEST_ROOMS_KEY); this
        // connection was only needed to check access (and ask the owner).
        const here = (vscode.workspace.workspaceFolders ?? []).length === 0;
        this.teardown(active, { kind: 'left' }, true);
        this.log.info(`opening room ${roomId} in ${here ? 'this' : 'a new'} window`);
        if (!here) void vscode.window.showInformationMessage(`Collab: you may join room ${roomId} as ${roleText}; it opens in a new window.`);
        await openRoomFolder(roomId, here);
        return;
      }
      void vscode.commands.executeCommand('workbench.view.explorer');
      if (!options.silent) void vscode.window.showInformationMessage(`Collab: joined room ${roomId} as ${roleText}. Its files are in the Explorer.`);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Joins the room whose `collab:` folder this window shows (opened for it, reloaded, restarted,
   * or picked from the recent folders). Call it synchronously from `activate`: the file system
   * provider is told at once to hold VS Code's first requests for that room until the join is
   * done (else VS Code would find the folder missing).
   */
  resumeGuest(): Promise<void> {
    if (this.active) return Promise.resolve();
    const rooms = this.context.globalState.get<GuestRooms>(GUEST_ROOMS_KEY) ?? {};
    const roomId = (vscode.workspace.workspaceFolders ?? [])
      .filter((f) => f.uri.scheme === COLLAB_SCHEME)
      .map((f) => parseCollabPath(f.uri.path)?.roomId)
      .find((id): id is string => id !== undefined);
    if (!roomId) return Promise.resolve();
    const memo = rooms[roomId];
    this.log.info(`joining room ${roomId} (this window shows its folder)`);
    const ready = this.joinSession(roomId, memo ? { silent: true, serverUrl: memo.serverUrl } : {});
    this.fs.waitFor(roomId, ready);
    return ready;
  }

  /**
   * Re-joins, as its host, the room this workspace was hosting when its extension host stopped (a
   * window reload or restart): the room lived on meanwhile, and guests may have kept editing. Local
   * documents of room files are re-bound with the room's text winning. Quiet when signed out.
   */
  async resumeHost(): Promise<void> {
    const memo = this.context.workspaceState.get<HostRoom>(HOST_ROOM_KEY);
    if (!memo || this.active || this.busy) return;
    if ((vscode.workspace.workspaceFolders ?? []).some((f) => f.uri.scheme === COLLAB_SCHEME)) return;
    const credentials = await this.auth.credentials(memo.serverUrl);
    if (!credentials) {
      this.log.info(`not resuming room ${memo.roomId}: signed out of ${memo.serverUrl}`);
      return;
    }
    this.busy = true;
    try {
      this.log.info(`resuming the session in room ${memo.roomId}`);
      const active = await this.connectAndJoin(memo.serverUrl, credentials, memo.roomId, 'host', true);
      if (!active) return;
      await active.host?.start();
      void vscode.window.showInformationMessage(`Collab: resumed your session in room ${memo.roomId}.`, 'Copy Room ID').then(async (choice) => {
        if (choice) await vscode.env.clipboard.writeText(memo.roomId);
      });
    } finally {
      this.busy = false;
    }
  }

  /** Leave Session. */
  async leaveSession(): Promise<void> {
    const active = this.active;
    if (!active) {
      void vscode.window.showInformationMessage('Collab: there is no session to leave.');
      return;
    }
    active.closing = true;
    await active.guest?.closeTabs();
    await active.session.leave().catch(() => undefined);
    // `leave` ended the session, whose end handler tore everything down.
    this.teardown(active, { kind: 'left' });
  }

  /** End Session (owner): deletes the room for everyone. */
  async endSession(): Promise<void> {
    const active = this.active;
    if (!active) {
      void vscode.window.showInformationMessage('Collab: there is no session to end.');
      return;
    }
    if (active.role !== 'owner') {
      void vscode.window.showWarningMessage('Collab: only the owner can end the session for everyone. Use "Collab: Leave Session" to leave it.');
      return;
    }
    const confirm = await vscode.window.showWarningMessage(
      'End the session for everyone? The room and its files are deleted from the server.',
      { modal: true },
      'End Session',
    );
    if (confirm !== 'End Session') return;
    active.closing = true;
    await active.guest?.closeTabs();
    const result = await active.session.deleteRoom();
    if (!result.ok) {
      active.closing = false;
      void vscode.window.showErrorMessage(`Collab: cannot end the session: ${result.error.message}`);
      return;
    }
    this.teardown(active, { kind: 'deleted' });
  }

  /** Asks to sign in again, then reconnects (edits are kept meanwhile). */
  async signInAgain(): Promise<void> {
    const active = this.active;
    if (!active) return;
    const credentials = await this.auth.reauthenticate(active.serverUrl, { code: ErrorCode.TOKEN_EXPIRED, message: 'sign in again' });
    if (credentials && this.active === active) {
      active.needsSignIn = false;
      this.reconnect(active);
    }
  }

  /** Reconnects now (status bar action while offline). */
  reconnect(active = this.active): void {
    if (!active || active.closing) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    active.setStatus('connecting');
    this.log.info('reconnecting');
    active.connection.reconnectNow();
  }

  /**
   * Disconnects quietly (extension deactivation, e.g. a window reload): the server sees the
   * connection go; a guest's folder and memo stay so that the next extension host re-joins.
   */
  shutdown(): void {
    const active = this.active;
    if (!active) return;
    this.teardown(active, { kind: 'left' }, true);
  }

  /** Disposes the emitters (call `shutdown` first). */
  dispose(): void {
    clearTimeout(this.reconnectTimer);
    if (this.active) this.teardown(this.active, { kind: 'left' }, true);
    this.changeEmitter.dispose();
    this.statusEmitter.dispose();
  }

  /** Whether a new session may start (asks to leave the current one). */
  private async readyForNew(): Promise<boolean> {
    if (this.busy) {
      void vscode.window.showInformationMessage('Collab: a session is being started; wait a moment.');
      return false;
    }
    if (!this.active) return true;
    const choice = await vscode.window.showWarningMessage(`You are in Collab room ${this.active.roomId}. Leave it first?`, { modal: true }, 'Leave');
    if (choice !== 'Leave') return false;
    await this.leaveSession();
    return this.active === undefined;
  }

  /** Connects, joins `roomId` (asking the owner if needed) and installs the session. */
  private async connectAndJoin(serverUrl: string, credentials: StoredCredentials, roomId: string, mode: 'host' | 'guest', silent = false): Promise<ActiveSession | undefined> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Collab: connecting…' }, async () => {
      const connection = await this.connect(serverUrl, credentials, roomId);
      if (!connection) return undefined;
      let joined = await CollabSession.join(connection, roomId, this.log);
      if (!joined.ok && joined.error.code === ErrorCode.NOT_A_PARTICIPANT && !silent) {
        const admitted = await this.askOwner(connection, roomId);
        if (admitted) joined = await CollabSession.join(connection, roomId, this.log);
        else {
          connection.close();
          return undefined;
        }
      }
      if (!joined.ok) {
        connection.close();
        const why =
          joined.error.code === ErrorCode.ROOM_NOT_FOUND
            ? `room ${roomId} does not exist (or was deleted).`
            : joined.error.code === ErrorCode.NOT_A_PARTICIPANT
              ? `you are not a participant of room ${roomId}.`
              : `${joined.error.code}: ${joined.error.message}`;
        void vscode.window.showErrorMessage(`Collab: cannot join: ${why}`);
        const gone = joined.error.code === ErrorCode.ROOM_NOT_FOUND || joined.error.code === ErrorCode.NOT_A_PARTICIPANT;
        if (mode === 'guest' && gone) {
          await this.forgetGuestRoom(roomId);
          if (hasRoomFolder(roomId)) await leaveRoomFolder(roomId);
        }
        if (mode === 'host' && gone) await this.context.workspaceState.update(HOST_ROOM_KEY, undefined);
        return undefined;
      }
      return this.install(joined.value, connection, mode, serverUrl, credentials.user.username);
    });
  }

  /**
   * Opens the connection for `roomId` (a load balancer may route by it, keeping a room's
   * participants on one node); re-authenticates once if the server refuses the token.
   */
  private async connect(serverUrl: string, credentials: StoredCredentials, roomId: string): Promise<CollabConnection | undefined> {
    const token = async () => (await this.auth.credentials(serverUrl))?.token ?? credentials.token;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return await CollabConnection.connect({ url: serverUrl, token, affinity: roomId });
      } catch (error) {
        const data = (error as { data?: ErrorBody }).data;
        if (attempt === 0 && isAuthError(data)) {
          const fresh = await this.auth.reauthenticate(serverUrl, data as ErrorBody);
          if (fresh) continue;
          return undefined;
        }
        const message = data?.message ?? (error instanceof Error ? error.message : String(error));
        this.log.error(`cannot connect to ${serverUrl}: ${message}`);
        void vscode.window.showErrorMessage(`Collab: cannot connect to ${serverUrl}: ${message}`);
        return undefined;
      }
    }
    return undefined;
  }

  /** Offers to ask the owner to let us in; true when admitted. */
  private async askOwner(connection: CollabConnection, roomId: string): Promise<boolean> {
    const choice = await vscode.window.showWarningMessage(
      `Room ${roomId} is private and you are not a participant yet.`,
      'Ask the owner (to edit)',
      'Ask the owner (to view)',
    );
    if (!choice) return false;
    const role: AssignableRole = choice.includes('edit') ? 'editor' : 'viewer';
    const abort = new AbortController();
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Collab: waiting for the owner of ${roomId} to let you in…`, cancellable: true },
      (_progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        return askToJoin(connection, roomId, role, abort.signal);
      },
    );
    if (!result.ok) {
      if (!abort.signal.aborted) void vscode.window.showErrorMessage(`Collab: cannot ask to join: ${result.error.message}`);
      return false;
    }
    if (result.value === 'deny') {
      void vscode.window.showWarningMessage(`Collab: the owner of room ${roomId} declined your request.`);
      return false;
    }
    this.log.info(`admitted to room ${roomId} as ${result.value}`);
    return true;
  }

  private install(session: CollabSession, connection: CollabConnection, mode: 'host' | 'guest', serverUrl: string, username: string): ActiveSession {
    const active = new ActiveSession(session, connection, mode, serverUrl, username, this.router, readSettings, this.log);
    this.active = active;
    this.reconnectAttempts = 0;
    if (mode === 'guest') this.fs.setSession(session);
    const fire = () => this.statusEmitter.fire();
    active.disposables.push(
      active.onDidChangeStatus(fire),
      toDisposable(session.onDidChangeParticipants(fire)),
      toDisposable(session.onDidChangeRole((role) => this.onRole(active, role))),
      toDisposable(session.onDidEnd((reason) => this.teardown(active, reason))),
      toDisposable(session.onJoinRequest((request) => void this.onJoinRequest(active, request))),
      toDisposable(session.onFileProblem((problem) => this.onProblem(active, problem))),
      toDisposable(session.onNeedsSignIn((error) => void this.onNeedsSignIn(active, error))),
      toDisposable(session.onDidResume(() => active.presence.refresh())),
      { dispose: connection.onStatus((status, error) => this.onConnectionStatus(active, status, error)) },
    );
    void vscode.commands.executeCommand('setContext', 'collab.inSession', true);
    void vscode.commands.executeCommand('setContext', 'collab.isOwner', session.role === 'owner');
    void vscode.commands.executeCommand('setContext', 'collab.isHost', mode === 'host');
    this.log.info(`joined room ${session.roomId} as ${session.role} (${mode})`);
    this.changeEmitter.fire(active);
    fire();
    return active;
  }

  private teardown(active: ActiveSession, reason: EndReason, quiet = false): void {
    if (this.active !== active) return;
    this.active = undefined;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    active.closing = true;
    if (active.mode === 'guest') this.fs.setSession(undefined);
    active.dispose();
    active.connection.close();
    void vscode.commands.executeCommand('setContext', 'collab.inSession', false);
    void vscode.commands.executeCommand('setContext', 'collab.isOwner', false);
    void vscode.commands.executeCommand('setContext', 'collab.isHost', false);
    this.changeEmitter.fire(undefined);
    this.statusEmitter.fire();
    if (!quiet) {
      const messages: Record<EndReason['kind'], string> = {
        left: `Collab: you left room ${active.roomId}.`,
        removed: `Collab: the owner removed you from room ${active.roomId}.`,
        deleted: active.role === 'owner' ? `Collab: the session ended; room ${active.roomId} was deleted.` : `Collab: the owner ended the session (room ${active.roomId} was deleted).`,
        accessLost: `Collab: you no longer have access to room ${active.roomId}.`,
      };
      const unsent = reason.kind === 'left' ? '' : ' Edits not yet sent were lost to the room (your open editors keep them).';
      if (reason.kind === 'left') void vscode.window.showInformationMessage(messages.left);
      else void vscode.window.showWarningMessage(messages[reason.kind] + unsent);
    }
    // A quiet 'left' is the extension host stopping (reload, restart): the host comes back then.
    if (active.mode === 'host' && (reason.kind !== 'left' || !quiet)) void this.context.workspaceState.update(HOST_ROOM_KEY, undefined);
    if (active.mode === 'guest' && (reason.kind !== 'left' || !quiet)) {
      void (async () => {
        if (reason.kind !== 'left') await active.guest?.closeTabs().catch(() => undefined);
        await this.forgetGuestRoom(active.roomId);
        // Last: this restarts the extension host (or reloads the window).
        await leaveRoomFolder(active.roomId);
      })();
    }
  }

  private async rememberGuestRoom(roomId: string, serverUrl: string): Promise<void> {
    const rooms = { ...(this.context.globalState.get<GuestRooms>(GUEST_ROOMS_KEY) ?? {}), [roomId]: { serverUrl } };
    await this.context.globalState.update(GUEST_ROOMS_KEY, rooms);
  }

  private async forgetGuestRoom(roomId: string): Promise<void> {
    const rooms = { ...(this.context.globalState.get<GuestRooms>(GUEST_ROOMS_KEY) ?? {}) };
    if (!(roomId in rooms)) return;
    delete rooms[roomId];
    await this.context.globalState.update(GUEST_ROOMS_KEY, rooms);
  }

  private onConnectionStatus(active: ActiveSession, status: 'connecting' | 'live' | 'reconnecting' | 'offline', error?: ErrorBody): void {
    if (this.active !== active || active.closing) return;
    this.log.debug(`connection ${status}${error ? ` (${error.code})` : ''}`);
    if (status === 'live') {
      this.reconnectAttempts = 0;
      active.needsSignIn = false;
      active.setStatus('live');
      return;
    }
    active.setStatus(status === 'connecting' ? 'connecting' : status);
    if (status !== 'offline') return;
    if (isAuthError(error)) {
      void this.onNeedsSignIn(active, error as ErrorBody);
      return;
    }
    // Waiting for the user to sign in again: the reconnection follows it.
    if (active.needsSignIn) return;
    // The server closed the connection (shutting down, or it dropped us): Socket.IO does not
    // reconnect by itself then. Try again with a growing delay.
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.reconnectAttempts++, 5));
    this.log.info(`offline${error ? ` (${error.code}: ${error.message})` : ''}; reconnecting in ${delay / 1000} s`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.reconnect(active), delay);
  }

  private async onNeedsSignIn(active: ActiveSession, error: ErrorBody): Promise<void> {
    if (this.active !== active || active.closing || active.needsSignIn) return;
    active.needsSignIn = true;
    this.statusEmitter.fire();
    this.log.warn(`the server refused our sign-in (${error.code}); asking to sign in again, edits are kept`);
    const credentials = await this.auth.reauthenticate(active.serverUrl, error);
    if (this.active !== active) return;
    if (credentials) {
      active.needsSignIn = false;
      this.reconnect(active);
    } else {
      this.statusEmitter.fire();
    }
  }

  private onRole(active: ActiveSession, role: string): void {
    void vscode.commands.executeCommand('setContext', 'collab.isOwner', role === 'owner');
    this.statusEmitter.fire();
    if (role === 'viewer') void vscode.window.showWarningMessage(`Collab: you are now a viewer in room ${active.roomId}; editing is disabled.`);
    else if (role === 'editor') void vscode.window.showInformationMessage(`Collab: you can edit in room ${active.roomId} again.`);
  }

  private async onJoinRequest(active: ActiveSession, request: { requestId: string; user: { username: string }; role: AssignableRole }): Promise<void> {
    const choice = await vscode.window.showInformationMessage(
      `${request.user.username} asks to join your Collab session (to ${request.role === 'editor' ? 'edit' : 'view'}).`,
      'Allow as editor',
      'Allow as viewer',
      'Deny',
    );
    if (!choice || this.active !== active) return;
    const decision = choice === 'Allow as editor' ? 'editor' : choice === 'Allow as viewer' ? 'viewer' : 'deny';
    const result = await active.session.answerJoin(request.requestId, decision);
    if (!result.ok) void vscode.window.showErrorMessage(`Collab: cannot answer the request: ${result.error.message}`);
    else this.log.info(`join request of ${request.user.username}: ${decision}`);
  }

  private onProblem(active: ActiveSession, problem: FileProblem): void {
    const effect = problem.effect;
    if (effect.type !== 'rolledBack') return;
    const path = active.session.pathOf(problem.fileId);
    if (effect.error.code === ErrorCode.FORBIDDEN) {
      void vscode.window.showWarningMessage(`Collab: you are a viewer; your edit to ${path} was undone.`);
    } else {
      void vscode.window.showWarningMessage(`Collab: an edit to ${path} was refused by the server (${effect.error.code}: ${effect.error.message}) and undone.`);
    }
  }
}

function toDisposable(d: { dispose(): void }): vscode.Disposable {
  return { dispose: () => d.dispose() };
}
