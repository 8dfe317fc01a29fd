/**
 * Where sign-ins are kept: `ExtensionContext.secrets` (encrypted, per machine, never in settings),
 * one entry per server URL, holding the token and the user it names. Pure over a SecretStorage-like
 * interface so it is tested without VS Code.
 */
import type { UserInfo } from '@collab/protocol';

/** The part of `vscode.SecretStorage` used here. */
export interface SecretStore {
  get(key: string): Thenable<string | undefined> | Promise<string | undefined>;
  store(key: string, value: string): Thenable<void> | Promise<void>;
  delete(key: string): Thenable<void> | Promise<void>;
}

/** A stored sign-in. */
export interface StoredCredentials {
  readonly token: string;
  readonly user: UserInfo;
}

/** The secret key of a server's sign-in. */
export function tokenKey(serverUrl: string): string {
  return `collab.auth:${serverUrl}`;
}

/** Reads, writes and forgets sign-ins by server URL. */
export class TokenStore {
  constructor(private readonly secrets: SecretStore) {}

  /** The sign-in for `serverUrl`, or undefined (also for an unreadable entry). */
  async get(serverUrl: string): Promise<StoredCredentials | undefined> {
    const raw = await this.secrets.get(tokenKey(serverUrl));
    if (raw === undefined) return undefined;
    try {
      const value = JSON.parse(raw) as Partial<StoredCredentials>;
      if (typeof value.token === 'string' && typeof value.user?.id === 'string' && typeof value.user.username === 'string') {
        return { token: value.token, user: { id: value.user.id, username: value.user.username } };
      }
    } catch {
      // A corrupt entry counts as signed out.
    }
    return undefined;
  }

  /** Remembers a sign-in for `serverUrl`. */
  async set(serverUrl: string, credentials: StoredCredentials): Promise<void> {
    await this.secrets.store(tokenKey(serverUrl), JSON.stringify({ token: credentials.token, user: credentials.user }));
  }

  /** Forgets the sign-in for `serverUrl`. */
  async delete(serverUrl: string): Promise<void> {
    await this.secrets.delete(tokenKey(serverUrl));
  }
}
