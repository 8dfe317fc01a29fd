/**
 * Signing in, up and out (VS Code adapter): input boxes, the REST calls, and the token kept in
 * `SecretStorage` per server URL (never in settings). Also the "sign in again" prompt used when the
 * server answers TOKEN_EXPIRED / UNAUTHENTICATED mid-session: it never touches the session's state,
 * so pending edits are kept and sync after the reconnection.
 */
import * as vscode from 'vscode';
import type { ErrorBody } from '@collab/protocol';
import { RestClient, type AuthSession } from './rest-client';
import { TokenStore, type StoredCredentials } from './token-store';
import { describeAuthError } from './auth-messages';
import type { Logger } from '../util/log';
import { readSettings } from '../vscode-settings';

/** Sign-in state and flows. */
export class AuthService implements vscode.Disposable {
  private readonly store: TokenStore;
  private readonly changed = new vscode.EventEmitter<string>();
  private reauth: Promise<StoredCredentials | undefined> | undefined;

  /** Fires with the server URL whose sign-in changed. */
  readonly onDidChange = this.changed.event;

  constructor(
    secrets: vscode.SecretStorage,
    private readonly log: Logger,
  ) {
    this.store = new TokenStore(secrets);
  }

  /** The stored sign-in for `serverUrl`. */
  credentials(serverUrl: string): Promise<StoredCredentials | undefined> {
    return this.store.get(serverUrl);
  }

  /** The stored sign-in, or asks the user to sign in or sign up; undefined when they do not. */
  async ensureSignedIn(serverUrl: string): Promise<StoredCredentials | undefined> {
    const stored = await this.store.get(serverUrl);
    if (stored) return stored;
    const choice = await vscode.window.showInformationMessage(`Sign in to the Collab server at ${serverUrl} first.`, 'Sign In', 'Sign Up');
    if (choice === 'Sign In') return this.signIn(serverUrl);
    if (choice === 'Sign Up') return this.signUp(serverUrl);
    return undefined;
  }

  /** The Sign In flow; undefined when cancelled. */
  async signIn(serverUrl = readSettings().serverUrl, prompt?: string): Promise<StoredCredentials | undefined> {
    const rest = new RestClient(serverUrl);
    let username = (await this.store.get(serverUrl))?.user.username ?? readSettings().displayName;
    let problem: string | undefined;
    for (;;) {
      const entered = await askUsername(`Sign in to Collab (${serverUrl})`, username, problem ?? prompt);
      if (entered === undefined) return undefined;
      username = entered;
      const password = await vscode.window.showInputBox({ title: `Sign in to Collab (${serverUrl})`, prompt: `Password for ${username}`, password: true, ignoreFocusOut: true });
      if (password === undefined) return undefined;
      const result = await rest.login(username, password);
      if (result.ok) return this.remember(serverUrl, result.value, 'signed in');
      problem = describeAuthError(result.error);
      if (result.error.code === 'UNAVAILABLE') {
        void vscode.window.showErrorMessage(`Collab: ${problem}`);
        return undefined;
      }
    }
  }

  /** The Sign Up flow; undefined when cancelled. */
  async signUp(serverUrl = readSettings().serverUrl): Promise<StoredCredentials | undefined> {
    const rest = new RestClient(serverUrl);
    let username = readSettings().displayName;
    let problem: string | undefined;
    for (;;) {
      const entered = await askUsername(`Create a Collab account (${serverUrl})`, username, problem);
      if (entered === undefined) return undefined;
      username = entered;
      const password = await vscode.window.showInputBox({
        title: `Create a Collab account (${serverUrl})`,
        prompt: 'Choose a password (at least 10 characters)',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v.length < 10 ? 'At least 10 characters.' : undefined),
      });
      if (password === undefined) return undefined;
      const again = await vscode.window.showInputBox({
        title: `Create a Collab account (${serverUrl})`,
        prompt: 'Repeat the password',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (v !== password ? 'The passwords differ.' : undefined),
      });
      if (again === undefined) return undefined;
      const result = await rest.register(username, password);
      if (result.ok) return this.remember(serverUrl, result.value, 'signed up');
      problem = describeAuthError(result.error);
      if (result.error.code === 'UNAVAILABLE') {
        void vscode.window.showErrorMessage(`Collab: ${problem}`);
        return undefined;
      }
    }
  }

  /** Forgets the sign-in for `serverUrl`. */
  async signOut(serverUrl = readSettings().serverUrl): Promise<void> {
    const stored = await this.store.get(serverUrl);
    await this.store.delete(serverUrl);
    this.changed.fire(serverUrl);
    this.log.info(`signed out of ${serverUrl}`);
    void vscode.window.showInformationMessage(stored ? `Collab: signed out (${stored.user.username} at ${serverUrl}).` : `Collab: you were not signed in to ${serverUrl}.`);
  }

  /**
   * The server refused our token mid-session: asks the user to sign in again (once, however many
   * callers ask at the same time). Resolves with the new sign-in, or undefined when declined.
   */
  reauthenticate(serverUrl: string, error: ErrorBody): Promise<StoredCredentials | undefined> {
    this.reauth ??= (async () => {
      try {
        const why = error.code === 'TOKEN_EXPIRED' ? 'Your Collab sign-in has expired.' : 'The Collab server no longer accepts your sign-in.';
        const choice = await vscode.window.showWarningMessage(`${why} Sign in again to keep syncing; your edits are kept meanwhile.`, 'Sign In');
        if (choice !== 'Sign In') return undefined;
        return await this.signIn(serverUrl, 'Sign in again to resume the session.');
      } finally {
        this.reauth = undefined;
      }
    })();
    return this.reauth;
  }

  /** Disposes the event emitter. */
  dispose(): void {
    this.changed.dispose();
  }

  private async remember(serverUrl: string, session: AuthSession, what: string): Promise<StoredCredentials> {
    const credentials = { token: session.token, user: session.user };
    await this.store.set(serverUrl, credentials);
    this.changed.fire(serverUrl);
    this.log.info(`${what} as ${session.user.username} at ${serverUrl}`);
    void vscode.window.showInformationMessage(`Collab: ${what} as ${session.user.username}.`);
    return credentials;
  }
}

function askUsername(title: string, value: string, problem: string | undefined): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title,
    prompt: problem ?? 'Username',
    value,
    ignoreFocusOut: true,
    validateInput: (v) => (/^[A-Za-z0-9_.-]{3,32}$/.test(v.trim()) ? undefined : '3–32 letters, digits, ".", "_" or "-".'),
  }).then((v) => v?.trim());
}
