/**
 * The server's public HTTP API, as a real client uses it: sign-up, room creation, inviting
 * participants, creating files (PROTOCOL.md: "accounts, sign-in and room creation are HTTP").
 */
import { randomBytes } from 'node:crypto';

/** A signed-up user and its token. */
export interface BenchUser {
  readonly id: string;
  readonly username: string;
  readonly token: string;
}

/** A room and the files created in it. */
export interface BenchRoom {
  readonly roomId: string;
  readonly ownerIndex: number;
  readonly fileIds: string[];
}

/** Calls `/api/...` on one server. */
export class Api {
  constructor(readonly baseUrl: string) {}

  /** Registers a fresh user (username `prefix` + index, random password). */
  async register(username: string): Promise<BenchUser> {
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    const body = await this.call<{ user: { id: string; username: string }; token: string }>('POST', '/auth/register', undefined, { username, password });
    return { id: body.user.id, username: body.user.username, token: body.token };
  }

  /** Creates a room owned by the token's user. */
  async createRoom(token: string, isPrivate: boolean, name?: string): Promise<string> {
    const body = await this.call<{ room: { roomId: string } }>('POST', '/rooms', token, { isPrivate, ...(name ? { name } : {}) });
    return body.room.roomId;
  }

  /** Adds `username` to the room with `role` (owner only). */
  async invite(token: string, roomId: string, username: string, role: 'editor' | 'viewer'): Promise<void> {
    await this.call('POST', `/rooms/${roomId}/participants`, token, { username, role });
  }

  /** Creates a file and returns its id. */
  async createFile(token: string, roomId: string, filePath: string, content: string): Promise<string> {
    const body = await this.call<{ file: { id: string } }>('POST', `/rooms/${roomId}/files`, token, { path: filePath, language: 'plaintext', content });
    return body.file.id;
  }

  private async call<T>(method: string, route: string, token: string | undefined, body: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}/api${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} /api${route}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
}

/** Runs `task` for 0..n-1 with at most `concurrency` at a time; resolves with the results in order. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return results;
}
