/**
 * The server's HTTP API as the extension uses it: sign-up, sign-in and room creation
 * (`backend/src/transport/http-api.ts`). Everything else goes over Socket.IO. Pure: takes a `fetch`
 * so tests can stand in for the network. Failures come back as protocol `ErrorBody`s, never thrown.
 */
import type { ErrorBody, RoomInfo, UserInfo } from '@collab/protocol';

/** A signed-in user and their token. */
export interface AuthSession {
  readonly user: UserInfo;
  readonly token: string;
}

/** A room as the HTTP API returns it. */
export interface RoomView extends RoomInfo {
  readonly name: string | null;
}

/** Success with a value, or a protocol error. */
export type ApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ErrorBody };

/** The subset of `fetch` the client needs. */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

/** Calls the server's HTTP API at `baseUrl` (e.g. `http://127.0.0.1:3000`). */
export class RestClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: FetchLike = (url, init) => fetch(url, init),
    private readonly timeoutMs = 15_000,
  ) {}

  /** Creates an account and signs it in. */
  register(username: string, password: string): Promise<ApiResult<AuthSession>> {
    return this.call('POST', '/api/auth/register', { username, password }, undefined, (body) => asSession(body));
  }

  /** Signs in. */
  login(username: string, password: string): Promise<ApiResult<AuthSession>> {
    return this.call('POST', '/api/auth/login', { username, password }, undefined, (body) => asSession(body));
  }

  /** Creates a room owned by the token's user. */
  createRoom(token: string, options: { isPrivate?: boolean; name?: string | null } = {}): Promise<ApiResult<RoomView>> {
    const body: Record<string, unknown> = { isPrivate: options.isPrivate ?? true };
    if (options.name !== undefined) body['name'] = options.name;
    return this.call('POST', '/api/rooms', body, token, (b) => {
      const room = (b as { room?: RoomView } | null)?.room;
      return room && typeof room.roomId === 'string' ? room : undefined;
    });
  }

  private async call<T>(
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    read: (body: unknown) => T | undefined,
  ): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let status: number;
    let text: string;
    try {
      const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const why = controller.signal.aborted ? `no answer within ${this.timeoutMs / 1000} s` : describe(error);
      return { ok: false, error: { code: 'UNAVAILABLE', message: `cannot reach the Collab server at ${this.baseUrl}: ${why}` } };
    } finally {
      clearTimeout(timer);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (status >= 200 && status < 300) {
      const value = read(parsed);
      if (value !== undefined) return { ok: true, value };
      return { ok: false, error: { code: 'INTERNAL', message: `unexpected answer from ${this.baseUrl}${path} (HTTP ${status})` } };
    }
    const error = (parsed as { error?: ErrorBody } | undefined)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') return { ok: false, error };
    return {
      ok: false,
      error: { code: status >= 500 ? 'UNAVAILABLE' : 'INTERNAL', message: `HTTP ${status} from ${this.baseUrl}${path} (is this a Collab server?)` },
    };
  }
}

function asSession(body: unknown): AuthSession | undefined {
  const b = body as Partial<AuthSession> | null | undefined;
  if (!b || typeof b.token !== 'string' || !b.user || typeof b.user.id !== 'string' || typeof b.user.username !== 'string') return undefined;
  return { token: b.token, user: { id: b.user.id, username: b.user.username } };
}

function describe(error: unknown): string {
  const e = error as { cause?: { code?: string; message?: string }; message?: string } | null;
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
