/**
 * Runtime validation of every payload that crosses the wire, with zod.
 *
 * The server runs `validateClientPayload` on everything a client emits before acting on it; the
 * client runs `validateServerPayload` on server events and `validateReply` on acks. Each returns a
 * `Result` whose error carries a stable code and a message naming the event and the field.
 *
 * Codes: a payload that does not match its schema is `INVALID_MESSAGE`. Some fields have their own
 * codes: `op` (`INVALID_OP`, `INVALID_TEXT`, `OP_TOO_LARGE`, from `parseOp`), `content`
 * (`INVALID_TEXT`, `DOCUMENT_TOO_LARGE`, `OP_TOO_LARGE`), `path` (`INVALID_PATH`) and the
 * `ops:fetch` range (`INVALID_RANGE`). When a payload has several problems one is reported, and schema problems
 * (`INVALID_MESSAGE`) take precedence over the field-specific codes.
 *
 * Client payloads are strict: an unknown key is an error. Server payloads and replies are read
 * leniently: unknown keys are dropped, so that a newer server may add fields.
 */
import { z } from 'zod';
import { isWellFormedUtf16 } from './canonical-text';
import { ALL_ERROR_CODES, ErrorCode, fail, ok, type ErrorBody, type Result } from './errors';
import {
  CLIENT_EVENT_NAMES,
  SERVER_EVENT_NAMES,
  type ClientEventName,
  type ClientPayload,
  type ClientReply,
  type ClientRequestEventName,
  type Reply,
  type ServerEventName,
  type ServerPayload,
} from './events';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { ASSIGNABLE_ROLES, JOIN_DECISIONS, ROLES } from './model';
import { parseOp } from './op-check';
import { isNormalPath, normalizePath } from './paths';
import type { TextOp } from './text-op';

// ---------------------------------------------------------------------------------------------
// Field rules

/** Ids of files, users and join requests: 1–64 URL-safe characters. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Room ids: 22–64 URL-safe characters (at least 128 random bits, e.g. 16 bytes in base64url). */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;
/** Client ids: 16–64 URL-safe characters. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
/** A `textHash`: 14 lowercase hex digits. */
export const HASH_PATTERN = /^[0-9a-f]{14}$/;
/** A VS Code language id. */
export const LANGUAGE_PATTERN = /^[A-Za-z0-9_.+#-]{1,64}$/;
/** A participant colour: a CSS colour (`#1f77b4`, `rgb(31, 119, 180)`) or a theme colour id (`charts.blue`). */
export const COLOR_PATTERN = /^[A-Za-z0-9#.,()%/ -]{1,64}$/;

const URL_SAFE = "A-Z, a-z, 0-9, '_' and '-'";

function idString(pattern: RegExp, min: number, max: number, orNull = '') {
  const error = `must be a string of ${min} to ${max} characters from ${URL_SAFE}${orNull}`;
  return z.string({ error }).regex(pattern, { error });
}

const NON_NEGATIVE = 'must be a non-negative safe integer';
const POSITIVE = 'must be a positive safe integer';
const nonNegative = () => z.int({ error: NON_NEGATIVE }).min(0, { error: NON_NEGATIVE });
const positive = () => z.int({ error: POSITIVE }).min(1, { error: POSITIVE });

/** Adds an issue carrying one of our error codes (read back by `toErrorBody`). */
function addCoded(ctx: z.core.$RefinementCtx<unknown>, error: ErrorBody): void {
  ctx.addIssue({ code: 'custom', message: error.message, params: { code: error.code } });
}

/** The field schemas that depend on the limits in force. */
function fieldSchemas(limits: Limits) {
  const id = idString(ID_PATTERN, 1, 64);
  const roomId = idString(ROOM_ID_PATTERN, 22, 64);
  const clientId = idString(CLIENT_ID_PATTERN, 16, 64);

  const op = z.unknown().transform((value, ctx): TextOp => {
    const parsed = parseOp(value, limits);
    if (parsed.ok) return parsed.value;
    addCoded(ctx, parsed.error);
    return z.NEVER;
  });

  // Like an op's inserts, the initial content of a file is limited to `maxOpInsertLength` units, so
  // that every client frame fits in `maxFrameBytes` whatever its characters (at most 6 bytes per
  // unit in UTF-8 JSON). A larger file is created with its first part and grown with ops.
  const content = z.string({ error: 'must be a string' }).transform((text, ctx) => {
    if (text.length > limits.maxDocumentLength) {
      addCoded(ctx, {
        code: ErrorCode.DOCUMENT_TOO_LARGE,
        message: `is ${text.length} code units long; the longest file is ${limits.maxDocumentLength}`,
      });
      return z.NEVER;
    }
    if (text.length > limits.maxOpInsertLength) {
      addCoded(ctx, {
        code: ErrorCode.OP_TOO_LARGE,
        message:
          `is ${text.length} code units long; the limit is ${limits.maxOpInsertLength} ` +
          `(create a larger file with its first part and append the rest with ops)`,
      });
      return z.NEVER;
    }
    const cr = text.indexOf('\r');
    if (cr !== -1) {
      addCoded(ctx, {
        code: ErrorCode.INVALID_TEXT,
        message: `contains '\\r' at offset ${cr}; canonical text uses '\\n' only`,
      });
      return z.NEVER;
    }
    const nul = text.indexOf('\0');
    if (nul !== -1) {
      addCoded(ctx, {
        code: ErrorCode.INVALID_TEXT,
        message: `contains NUL (U+0000) at offset ${nul}; text storage cannot hold it (binary files are not shared)`,
      });
      return z.NEVER;
    }
    if (!isWellFormedUtf16(text)) {
      addCoded(ctx, { code: ErrorCode.INVALID_TEXT, message: 'contains a lone surrogate; text must be well-formed UTF-16' });
      return z.NEVER;
    }
    return text;
  });

  const path = z.string({ error: 'must be a string' }).transform((raw, ctx) => {
    const normal = normalizePath(raw, limits.maxPathLength);
    if (normal.ok) return normal.value;
    addCoded(ctx, normal.error);
    return z.NEVER;
  });

  const normalPath = z
    .string({ error: 'must be a string' })
    .refine((p) => isNormalPath(p, limits.maxPathLength), { error: 'must be a relative path in normal form' });

  const languageError = "must be a string of 1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '+', '#' and '-'";
  const language = z.string({ error: languageError }).regex(LANGUAGE_PATTERN, { error: languageError });

  const hashError = 'must be 14 lowercase hexadecimal digits (a textHash)';
  const hash = z.string({ error: hashError }).regex(HASH_PATTERN, { error: hashError });

  const selection = z.strictObject(
    { anchor: nonNegative(), head: nonNegative() },
    { error: 'must be an object { anchor, head }' },
  );
  const selections = z
    .array(z.unknown(), { error: 'must be an array of selections' })
    .min(1, { error: 'must hold at least one selection' })
    .max(limits.maxCursors, { error: `must hold at most ${limits.maxCursors} selections` })
    .pipe(z.array(selection));

  const visible = z.strictObject({ start: nonNegative(), end: nonNegative() }, { error: 'must be an object { start, end }' });

  const assignableRole = z.enum(ASSIGNABLE_ROLES, { error: "must be 'editor' or 'viewer'" });
  const role = z.enum(ROLES, { error: "must be 'owner', 'editor' or 'viewer'" });
  const decision = z.enum(JOIN_DECISIONS, { error: "must be 'editor', 'viewer' or 'deny'" });

  return {
    id,
    roomId,
    clientId,
    op,
    content,
    path,
    normalPath,
    language,
    hash,
    selections,
    visible,
    assignableRole,
    role,
    decision,
    activeFileId: idString(ID_PATTERN, 1, 64, ', or null').nullable(),
    version: nonNegative(),
    seq: positive(),
  };
}

type Fields = ReturnType<typeof fieldSchemas>;

// ---------------------------------------------------------------------------------------------
// Client→server payloads

/** One schema per client→server event: a missing entry fails to compile. */
type ClientSchemas = { readonly [K in ClientEventName]: z.ZodType<ClientPayload<K>> };

function clientSchemas(f: Fields): ClientSchemas {
  const s = z.strictObject;
  return {
    'room:join': s({ roomId: f.roomId }),
    'room:leave': s({ roomId: f.roomId }),
    'room:requestJoin': s({ roomId: f.roomId, role: f.assignableRole }),
    'room:answerJoin': s({ roomId: f.roomId, requestId: f.id, decision: f.decision }),
    'room:delete': s({ roomId: f.roomId }),
    'participant:setRole': s({ roomId: f.roomId, userId: f.id, role: f.assignableRole }),
    'participant:remove': s({ roomId: f.roomId, userId: f.id }),
    'file:create': s({ roomId: f.roomId, path: f.path, language: f.language, content: f.content }),
    'file:rename': s({ roomId: f.roomId, fileId: f.id, path: f.path }),
    'file:delete': s({ roomId: f.roomId, fileId: f.id }),
    'file:open': s({
      roomId: f.roomId,
      fileId: f.id,
      clientId: f.clientId,
      knownVersion: f.version.optional(),
      fenceSeq: f.seq.optional(),
    }),
    'file:close': s({ roomId: f.roomId, fileId: f.id }),
    'op:submit': s({
      roomId: f.roomId,
      fileId: f.id,
      clientId: f.clientId,
      seq: f.seq,
      baseVersion: f.version,
      op: f.op,
    }),
    'ops:fetch': s({ roomId: f.roomId, fileId: f.id, from: f.version, to: f.version }),
    'file:verify': s({ roomId: f.roomId, fileId: f.id, version: f.version, hash: f.hash }),
    'cursor:update': s({
      roomId: f.roomId,
      fileId: f.id,
      version: f.version,
      selections: f.selections,
      visible: f.visible.optional(),
    }),
    'presence:update': s({ roomId: f.roomId, activeFileId: f.activeFileId }),
  };
}

/** Checks that involve several fields, run once the schema has passed. */
type CrossChecks = { readonly [K in ClientEventName]?: (payload: ClientPayload<K>, limits: Limits) => ErrorBody | undefined };

const clientCrossChecks: CrossChecks = {
  'ops:fetch': ({ from, to }, limits) => {
    const range = (message: string): ErrorBody => ({ code: ErrorCode.INVALID_RANGE, message: `ops:fetch: ${message}` });
    if (from < 1) return range(`field 'from': must be at least 1 (version 0 has no op), got ${from}`);
    if (to < from) return range(`field 'to' (${to}) is less than field 'from' (${from})`);
    if (to - from + 1 > limits.maxFetchOps) {
      return range(`fields 'from'..'to' span ${to - from + 1} versions; the limit is ${limits.maxFetchOps}`);
    }
    return undefined;
  },
  'file:open': ({ knownVersion, fenceSeq }) => {
    if (knownVersion !== undefined && fenceSeq !== undefined) {
      return {
        code: ErrorCode.INVALID_MESSAGE,
        message: "file:open: field 'fenceSeq' is only allowed without 'knownVersion' (when resynchronising)",
      };
    }
    return undefined;
  },
  'cursor:update': ({ visible }) => visibleProblem('cursor:update', visible),
};

function visibleProblem(event: string, visible: { start: number; end: number } | undefined): ErrorBody | undefined {
  if (visible && visible.start > visible.end) {
    return {
      code: ErrorCode.INVALID_MESSAGE,
      message: `${event}: field 'visible': start (${visible.start}) is after end (${visible.end})`,
    };
  }
  return undefined;
}

const CLIENT_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENT_NAMES);

/** True when `name` is a client→server event. */
export function isClientEventName(name: unknown): name is ClientEventName {
  return typeof name === 'string' && CLIENT_EVENTS.has(name);
}

/**
 * Validates the payload of a client→server event. On success the value is the payload as the
 * server should use it (paths normalised); otherwise the error names the field at fault. An
 * unknown event name is `INVALID_MESSAGE`.
 */
export function validateClientPayload<K extends ClientEventName>(
  event: K,
  payload: unknown,
  limits?: Limits,
): Result<ClientPayload<K>>;
export function validateClientPayload(event: string, payload: unknown, limits?: Limits): Result<ClientPayload<ClientEventName>>;
export function validateClientPayload(event: string, payload: unknown, limits: Limits = DEFAULT_LIMITS): Result<unknown> {
  if (!isClientEventName(event)) return fail(ErrorCode.INVALID_MESSAGE, `unknown event ${printable(event)}`);
  if (!isPlainObject(payload)) {
    return fail(ErrorCode.INVALID_MESSAGE, `${event}: the payload must be an object, not ${typeName(payload)}`);
  }
  const schema: z.ZodType = tablesFor(limits).client[event];
  const parsed = schema.safeParse(payload);
  if (!parsed.success) return { ok: false, error: toErrorBody(event, parsed.error.issues, payload) };
  const cross = clientCrossChecks[event] as ((p: unknown, l: Limits) => ErrorBody | undefined) | undefined;
  const problem = cross?.(parsed.data, limits);
  if (problem) return { ok: false, error: problem };
  return ok(parsed.data);
}

// ---------------------------------------------------------------------------------------------
// Server→client payloads and replies (lenient: unknown keys are dropped)

function modelSchemas(f: Fields) {
  const o = z.object;
  const username = z
    .string({ error: 'must be a string of 1 to 256 characters' })
    .min(1, { error: 'must be a string of 1 to 256 characters' })
    .max(256, { error: 'must be a string of 1 to 256 characters' });
  const colorError = 'must be a CSS colour or a theme colour id (1 to 64 characters)';
  const participant = o({
    userId: f.id,
    username,
    role: f.role,
    color: z.string({ error: colorError }).regex(COLOR_PATTERN, { error: colorError }),
    activeFileId: f.activeFileId,
    online: z.boolean({ error: 'must be a boolean' }),
  });
  const fileInfo = o({ id: f.id, path: f.normalPath, language: f.language, version: f.version });
  const roomInfo = o({
    roomId: f.roomId,
    ownerId: f.id,
    isPrivate: z.boolean({ error: 'must be a boolean' }),
    createdAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time string' }),
  });
  const wireOp = o({
    fileId: f.id,
    version: positive(),
    op: f.op,
    clientId: f.clientId,
    seq: f.seq,
    author: f.id,
    at: nonNegative(),
  });
  const limitsSchema = o({
    maxDocumentLength: positive(),
    maxOpInsertLength: positive(),
    maxOpComponents: positive(),
    maxCursors: positive(),
    maxFrameBytes: positive(),
    maxPathLength: positive(),
    maxFilesPerRoom: positive(),
    maxRoomsPerUser: positive(),
    opsPerSecond: positive(),
    opsBurst: positive(),
    cursorsPerSecond: positive(),
    cursorsBurst: positive(),
    maxFetchOps: positive(),
  } satisfies { [K in keyof Limits]: unknown });
  const errorBody = o({
    code: z.enum(ALL_ERROR_CODES, { error: 'must be a known error code' }),
    message: z.string({ error: 'must be a string' }),
    retryAfterMs: nonNegative().optional(),
  });
  const lastCommitted = o(
    { seq: f.seq, version: positive() },
    { error: 'must be an object { seq, version } or null' },
  ).nullable();
  return { participant, fileInfo, roomInfo, wireOp, limitsSchema, errorBody, lastCommitted };
}

/** Most events in one `participants` frame (the server sends at most 200). */
const MAX_PARTICIPANT_CHANGES = 1000;

type ServerSchemas = { readonly [K in ServerEventName]: z.ZodType<ServerPayload<K>> };

function serverSchemas(f: Fields, m: ReturnType<typeof modelSchemas>): ServerSchemas {
  const o = z.object;
  const fileEvent = m.fileInfo.extend({ roomId: f.roomId });
  const participantEvent = m.participant.extend({ roomId: f.roomId });
  return {
    op: m.wireOp,
    ops: o({
      fileId: f.id,
      ops: z.array(m.wireOp, { error: 'must be an array of ops' }).min(2, { error: 'must hold at least two ops' }),
    }).refine((b) => b.ops.every((op, i) => op.fileId === b.fileId && (i === 0 || op.version === (b.ops[i - 1]?.version ?? 0) + 1)), {
      error: 'must hold ops of its file with consecutive versions',
    }),
    cursor: o({
      fileId: f.id,
      userId: f.id,
      clientId: f.clientId,
      version: f.version,
      selections: f.selections,
      visible: f.visible.optional(),
    }),
    'cursor:clear': o({ fileId: f.id, userId: f.id, clientId: f.clientId }),
    'participant:joined': participantEvent,
    'participant:left': o({ roomId: f.roomId, userId: f.id }),
    'participant:updated': participantEvent,
    participants: o({
      roomId: f.roomId,
      changes: z
        .array(o({ event: z.enum(['participant:joined', 'participant:updated'], { error: "must be 'participant:joined' or 'participant:updated'" }), participant: participantEvent }), {
          error: 'must be an array of participant events',
        })
        .min(2, { error: 'must hold at least two events' })
        .max(MAX_PARTICIPANT_CHANGES, { error: `must hold at most ${MAX_PARTICIPANT_CHANGES} events` }),
    }).refine((b) => b.changes.every((c) => c.participant.roomId === b.roomId), { error: 'must hold events of its room' }),
    'role:changed': o({ roomId: f.roomId, role: f.assignableRole }),
    'room:removed': o({ roomId: f.roomId, reason: z.enum(['removed', 'deleted'], { error: "must be 'removed' or 'deleted'" }) }),
    'file:created': fileEvent,
    'file:renamed': fileEvent,
    'file:deleted': o({ roomId: f.roomId, fileId: f.id }),
    joinRequest: o({
      roomId: f.roomId,
      requestId: f.id,
      user: o({ id: f.id, username: m.participant.shape.username }),
      role: f.assignableRole,
    }),
    'joinRequest:resolved': o({ roomId: f.roomId, requestId: f.id, decision: f.decision }),
    'session:error': m.errorBody.extend({
      event: z
        .string({ error: 'must be a string of at most 64 characters' })
        .max(64, { error: 'must be a string of at most 64 characters' })
        .optional(),
    }),
  };
}

/** One reply schema (the fields besides `ok`) per client→server request: a missing entry fails to compile. */
type ReplySchemas = { readonly [K in ClientRequestEventName]: z.ZodType<ClientReply<K>> };

function replySchemas(f: Fields, m: ReturnType<typeof modelSchemas>): ReplySchemas {
  const o = z.object;
  const empty = o({});
  const file = o({ file: m.fileInfo });
  return {
    'room:join': o({
      room: m.roomInfo,
      you: m.participant,
      participants: z.array(m.participant, { error: 'must be an array of participants' }),
      files: z.array(m.fileInfo, { error: 'must be an array of files' }),
      limits: m.limitsSchema,
    }),
    'room:leave': empty,
    'room:requestJoin': o({ requestId: f.id }),
    'room:answerJoin': empty,
    'room:delete': empty,
    'participant:setRole': empty,
    'participant:remove': empty,
    'file:create': file,
    'file:rename': file,
    'file:delete': empty,
    'file:open': z.discriminatedUnion(
      'mode',
      [
        o({
          mode: z.literal('snapshot'),
          version: f.version,
          text: z.string({ error: 'must be a string' }),
          lastCommitted: m.lastCommitted,
        }),
        o({
          mode: z.literal('ops'),
          version: f.version,
          ops: z.array(m.wireOp, { error: 'must be an array of ops' }),
          lastCommitted: m.lastCommitted,
        }),
      ],
      { error: "must be 'snapshot' or 'ops'" },
    ),
    'file:close': empty,
    'op:submit': o({ version: positive(), duplicate: z.boolean({ error: 'must be a boolean' }) }),
    'ops:fetch': o({ ops: z.array(m.wireOp, { error: 'must be an array of ops' }) }),
    'file:verify': o({ head: f.version, match: z.boolean({ error: 'must be a boolean or null' }).nullable() }),
  };
}

const SERVER_EVENTS: ReadonlySet<string> = new Set(SERVER_EVENT_NAMES);

/** True when `name` is a server→client event. */
export function isServerEventName(name: unknown): name is ServerEventName {
  return typeof name === 'string' && SERVER_EVENTS.has(name);
}

/**
 * Validates the payload of a server→client event, as a client should before acting on it.
 * Unknown keys are dropped from the value. Pass the limits from `room:join` once known.
 */
export function validateServerPayload<K extends ServerEventName>(
  event: K,
  payload: unknown,
  limits?: Limits,
): Result<ServerPayload<K>>;
export function validateServerPayload(event: string, payload: unknown, limits?: Limits): Result<ServerPayload<ServerEventName>>;
export function validateServerPayload(event: string, payload: unknown, limits: Limits = DEFAULT_LIMITS): Result<unknown> {
  if (!isServerEventName(event)) return fail(ErrorCode.INVALID_MESSAGE, `unknown event ${printable(event)}`);
  if (!isPlainObject(payload)) {
    return fail(ErrorCode.INVALID_MESSAGE, `${event}: the payload must be an object, not ${typeName(payload)}`);
  }
  const schema: z.ZodType = tablesFor(limits).server[event];
  const parsed = schema.safeParse(payload);
  if (!parsed.success) return { ok: false, error: toErrorBody(event, parsed.error.issues, payload) };
  if (event === 'cursor') {
    const problem = visibleProblem(event, (parsed.data as ServerPayload<'cursor'>).visible);
    if (problem) return { ok: false, error: problem };
  }
  return ok(parsed.data);
}

/**
 * Validates the reply a client received through the ack of a request: either `ok: true` with the
 * event's reply fields, or `ok: false` with an error body. Unknown keys are dropped.
 */
export function validateReply<K extends ClientRequestEventName>(
  event: K,
  reply: unknown,
  limits: Limits = DEFAULT_LIMITS,
): Result<Reply<ClientReply<K>>> {
  if (!isClientEventName(event)) return fail(ErrorCode.INVALID_MESSAGE, `unknown event ${printable(event)}`);
  const tables = tablesFor(limits);
  const schema: z.ZodType | undefined = (tables.replies as Partial<Record<string, z.ZodType>>)[event];
  if (!schema) return fail(ErrorCode.INVALID_MESSAGE, `${event} has no reply`);
  const where = `${event} reply`;
  if (!isPlainObject(reply)) return fail(ErrorCode.INVALID_MESSAGE, `${where}: must be an object, not ${typeName(reply)}`);
  if (reply.ok === false) {
    const parsed = z.object({ error: tables.model.errorBody }).safeParse(reply);
    if (!parsed.success) return { ok: false, error: toErrorBody(where, parsed.error.issues, reply) };
    return ok({ ok: false, error: parsed.data.error } as Reply<ClientReply<K>>);
  }
  if (reply.ok !== true) return fail(ErrorCode.INVALID_MESSAGE, `${where}: field 'ok': must be true or false`);
  const parsed = schema.safeParse(reply);
  if (!parsed.success) return { ok: false, error: toErrorBody(where, parsed.error.issues, reply) };
  return ok({ ok: true, ...(parsed.data as object) } as Reply<ClientReply<K>>);
}

// ---------------------------------------------------------------------------------------------
// Plumbing

interface Tables {
  readonly client: ClientSchemas;
  readonly server: ServerSchemas;
  readonly replies: ReplySchemas;
  readonly model: ReturnType<typeof modelSchemas>;
}

const tableCache = new WeakMap<Limits, Tables>();

/** The schemas for a set of limits, built once per limits object. */
function tablesFor(limits: Limits): Tables {
  let tables = tableCache.get(limits);
  if (!tables) {
    const f = fieldSchemas(limits);
    const model = modelSchemas(f);
    tables = { client: clientSchemas(f), server: serverSchemas(f, model), replies: replySchemas(f, model), model };
    tableCache.set(limits, tables);
  }
  return tables;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'a non-plain object';
  return `a ${typeof v}`;
}

/** A name from the input, quoted and cut short for use in a message. */
function printable(v: unknown): string {
  if (typeof v !== 'string') return `of type ${typeof v}`;
  const cut = v.length > 64 ? `${v.slice(0, 64)}…` : v;
  return JSON.stringify(cut);
}

function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const name = String(seg);
      const safe = /^[A-Za-z0-9_$-]{1,64}$/.test(name) ? name : printable(name);
      out += out === '' ? safe : `.${safe}`;
    }
  }
  return out;
}

/** True when the key the path ends with is absent from its (object) parent in the input. */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  let parent: unknown = input;
  for (let i = 0; i < path.length - 1; i++) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[path[i] as PropertyKey];
  }
  const last = path[path.length - 1];
  if (typeof parent !== 'object' || parent === null || Array.isArray(parent) || last === undefined) return false;
  return !Object.prototype.hasOwnProperty.call(parent, last);
}

const KNOWN_CODES: ReadonlySet<unknown> = new Set(ALL_ERROR_CODES);

function issueToError(where: string, issue: z.core.$ZodIssue, input: unknown): ErrorBody {
  const path = issue.path;
  if (path.length > 0 && isMissing(input, path)) {
    return { code: ErrorCode.INVALID_MESSAGE, message: `${where}: field '${fieldName(path)}' is missing` };
  }
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.slice(0, 5).map((k) => `'${fieldName([...path, k])}'`);
    const more = issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : '';
    const noun = issue.keys.length === 1 ? 'field' : 'fields';
    return { code: ErrorCode.INVALID_MESSAGE, message: `${where}: unknown ${noun} ${names.join(', ')}${more}` };
  }
  const field = path.length > 0 ? `field '${fieldName(path)}'` : 'payload';
  const coded: unknown = issue.code === 'custom' ? issue.params?.['code'] : undefined;
  const code = KNOWN_CODES.has(coded) ? (coded as ErrorCode) : ErrorCode.INVALID_MESSAGE;
  return { code, message: `${where}: ${field}: ${issue.message}` };
}

/** The error to report for a failed parse: the first schema problem, else the first coded one. */
function toErrorBody(where: string, issues: readonly z.core.$ZodIssue[], input: unknown): ErrorBody {
  let firstCoded: ErrorBody | undefined;
  for (const issue of issues) {
    const error = issueToError(where, issue, input);
    if (error.code === ErrorCode.INVALID_MESSAGE) return error;
    firstCoded ??= error;
  }
  return firstCoded ?? { code: ErrorCode.INVALID_MESSAGE, message: `${where}: invalid payload` };
}
