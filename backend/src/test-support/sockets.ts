/**
 * Helpers for the real-socket tests: raw `socket.io-client` sockets (for payloads the headless
 * client would never send), request/ack with a timeout, waiting for pushed events, and database
 * probes (op rows, row counts of every table) to check that a refused request changed nothing.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { io, type Socket } from 'socket.io-client';
import type { ErrorBody } from '@collab/protocol';

/** A reply as the server sends it. */
export type Reply = { ok: true; [key: string]: unknown } | { ok: false; error: ErrorBody };

/** A raw socket plus the log of everything the server pushed to it. */
export interface RawSocket {
  readonly socket: Socket;
  readonly received: [string, any][];
  /** Emits a request with an ack and resolves with the reply (rejects after `timeoutMs`). */
  request(event: string, payload: unknown, timeoutMs?: number): Promise<Reply>;
  /**
   * Pushed events named `event` so far (for `op`: the op stream, `ops` batches flattened in order;
   * for `participant:joined` and `participant:updated`, `participants` batches flattened likewise).
   */
  events(event: string): any[];
  close(): void;
}

/** A fresh client id (22 URL-safe characters). */
export function clientId(): string {
  return randomBytes(16).toString('base64url');
}

/** Opens a raw websocket-only socket with `token` (no reconnection) and waits for the handshake. */
export async function rawSocket(url: string, token: string | undefined, options: { reconnection?: boolean } = {}): Promise<RawSocket> {
  const socket = rawSocketUnconnected(url, token, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err: Error & { data?: ErrorBody }) => {
      socket.close();
      reject(Object.assign(new Error(err.data?.code ?? err.message), { data: err.data }));
    });
  });
  return wrap(socket);
}

/** A raw socket that is not awaited (for handshake tests). */
export function rawSocketUnconnected(url: string, token: string | undefined, options: { reconnection?: boolean } = {}): Socket {
  return io(url, {
    transports: ['websocket'],
    ...(token !== undefined ? { auth: { token } } : {}),
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
}

/** The `connect_error` data a handshake with `auth` gets (fails the test if it connects). */
export function handshakeError(url: string, auth: Record<string, unknown> | undefined): Promise<{ message: string; data: ErrorBody | undefined }> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...(auth ? { auth } : {}) });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('no handshake outcome within 5 s'));
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.close();
      reject(new Error('the handshake was accepted'));
    });
    socket.once('connect_error', (err: Error & { data?: ErrorBody }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ message: err.message, data: err.data });
    });
  });
}

function wrap(socket: Socket): RawSocket {
  const received: [string, any][] = [];
  socket.onAny((event: string, payload: unknown) => received.push([event, payload]));
  return {
    socket,
    received,
    async request(event, payload, timeoutMs = 5000) {
      return (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as Reply;
    },
    events(event) {
      // `op` is the op stream: single broadcasts and, in order, the ops of every `ops` batch.
      if (event === 'op') return received.flatMap(([e, p]) => (e === 'op' ? [p] : e === 'ops' ? (p as { ops: unknown[] }).ops : []));
      // Participant events: single ones and, in order, those of every `participants` batch.
      if (PARTICIPANT_EVENTS.has(event)) return received.flatMap(([e, p]) => (e === event ? [p] : e === 'participants' ? participantsOf(p, event) : []));
      return received.filter(([e]) => e === event).map(([, p]) => p);
    },
    close() {
      socket.close();
    },
  };
}

/** Asserts a refusal with `code`. */
export function assertRefused(reply: Reply, code: string, what = ''): void {
  assert.equal(reply.ok, false, `${what} expected ${code}, got ${JSON.stringify(reply).slice(0, 300)}`);
  if (!reply.ok) assert.equal(reply.error.code, code, `${what} ${reply.error.message}`);
}

/** Asserts success and returns the reply's fields. */
export function assertOk(reply: Reply, what = ''): Record<string, any> {
  assert.equal(reply.ok, true, `${what} refused: ${JSON.stringify(reply).slice(0, 300)}`);
  return reply as Record<string, any>;
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with the next `event` pushed to `socket` (rejects after `timeoutMs`). */
export function nextEvent<T = any>(socket: Socket, event: string, timeoutMs = 5000, filter: (p: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const batched = PARTICIPANT_EVENTS.has(event);
    const timer = setTimeout(() => {
      socket.off(event, on);
      if (batched) socket.off('participants', onBatch);
      reject(new Error(`no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (payload: T): void => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      socket.off(event, on);
      if (batched) socket.off('participants', onBatch);
      resolve(payload);
    };
    // A participant event may also come inside a `participants` batch (PROTOCOL.md §11.7).
    const onBatch = (batch: unknown): void => {
      for (const p of participantsOf(batch, event)) {
        if (!filter(p as T)) continue;
        on(p as T);
        return;
      }
    };
    socket.on(event, on);
    if (batched) socket.on('participants', onBatch);
  });
}

/** The file's op rows, by version. */
export async function opRows(knex: Knex, fileId: string): Promise<{ version: number; client_id: string; seq: number; op: unknown; author: string | null }[]> {
  const rows = await knex('file_ops').where('file_id', fileId).orderBy('version').select('version', 'client_id', 'seq', 'op', 'author');
  return rows.map((r: any) => ({ ...r, version: Number(r.version), seq: Number(r.seq), op: typeof r.op === 'string' ? JSON.parse(r.op) : r.op }));
}

/** Asserts that the file's op versions are exactly first..last with no gap and no repeated (client_id, seq). */
export async function assertGaplessLog(knex: Knex, fileId: string, first = 1): Promise<number> {
  const rows = await opRows(knex, fileId);
  rows.forEach((r, i) => assert.equal(r.version, first + i, `version gap at index ${i}`));
  const ids = rows.map((r) => `${r.client_id}#${r.seq}`);
  assert.equal(new Set(ids).size, ids.length, 'a (client_id, seq) is logged twice');
  return rows.length;
}

/** Row counts of every table in the public schema (to prove that nothing was written). */
export async function tableCounts(knex: Knex): Promise<Record<string, number>> {
  const tables = await knex('pg_tables').where('schemaname', 'public').orderBy('tablename').pluck('tablename');
  const counts: Record<string, number> = {};
  for (const t of tables as string[]) {
    const row = await knex(t).count<{ n: string | number }[]>('* as n').first();
    counts[t] = Number(row?.n ?? 0);
  }
  return counts;
}

/** Gives every test of the enclosing suite `ms` (mocha's default of 2 s is too short for `npx mocha`). */
export function testTimeout(ms: number): void {
  beforeEach(function () {
    this.currentTest?.timeout(ms);
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw socket that has joined `roomId` and opened `fileId` under `cid`. */
export interface OpenedRaw extends RawSocket {
  readonly clientId: string;
  /** The `file:open` reply. */
  readonly opened: Record<string, any>;
}

/** Connects a raw socket as `token`, joins the room and opens the file (asserting success). */
export async function openRaw(url: string, token: string, roomId: string, fileId: string, cid = clientId()): Promise<OpenedRaw> {
  const raw = await rawSocket(url, token);
  assertOk(await raw.request('room:join', { roomId }), 'room:join');
  const opened = assertOk(await raw.request('file:open', { roomId, fileId, clientId: cid }), 'file:open');
  return Object.assign(raw, { clientId: cid, opened });
}

/** The events a `participants` batch may carry. */
const PARTICIPANT_EVENTS: ReadonlySet<string> = new Set(['participant:joined', 'participant:updated']);

/** The payloads of a `participants` batch's changes of kind `event`, in order. */
function participantsOf(batch: unknown, event: string): unknown[] {
  const changes = (batch as { changes?: { event: string; participant: unknown }[] } | undefined)?.changes;
  return Array.isArray(changes) ? changes.filter((c) => c.event === event).map((c) => c.participant) : [];
}
