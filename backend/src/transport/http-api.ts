/**
 * The HTTP API (mounted under `/api`): sign-up and sign-in, and REST access to rooms, participants,
 * join requests and files for signed-in users (`Authorization: Bearer <token>`).
 *
 * This layer only parses and validates requests (zod), calls the domain services, and maps their
 * Results to HTTP: success as JSON, failure as `{ error: { code, message } }` with a status chosen
 * from the stable code. Passwords, tokens and request bodies are never logged.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { ASSIGNABLE_ROLES, ErrorCode, JOIN_DECISIONS, fail, type ErrorBody, type Result } from '@collab/protocol';
import type { AccountService } from '../domain/accounts';
import type { FileService } from '../domain/files';
import type { RoomService } from '../domain/rooms';
import type { AuthUser, TokenService, VerifiedToken } from '../domain/tokens';

/** The minimal logger the API writes unexpected errors to (pino's Logger fits). */
export interface HttpLogger {
  error(obj: object, msg?: string): void;
}

/** What `createHttpApi` needs. */
export interface HttpApiDeps {
  readonly accounts: AccountService;
  readonly rooms: RoomService;
  readonly files: FileService;
  readonly tokens: TokenService;
  readonly logger?: HttpLogger;
  /**
   * Largest JSON body accepted. File content may be 2 Mi UTF-16 units, up to ~6 MiB as UTF-8 JSON
   * (more if it is mostly characters JSON escapes). @default '8mb'
   */
  readonly jsonLimit?: string | number;
}

/** The HTTP status for an error code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
    case ErrorCode.TOKEN_EXPIRED:
    case ErrorCode.BAD_CREDENTIALS:
      return 401;
    case ErrorCode.FORBIDDEN:
    case ErrorCode.NOT_A_PARTICIPANT:
    case ErrorCode.CLIENT_ID_TAKEN:
      return 403;
    case ErrorCode.ROOM_NOT_FOUND:
    case ErrorCode.FILE_NOT_FOUND:
    case ErrorCode.USER_NOT_FOUND:
      return 404;
    case ErrorCode.USERNAME_TAKEN:
    case ErrorCode.PATH_TAKEN:
    case ErrorCode.TOO_MANY_FILES:
    case ErrorCode.TOO_MANY_ROOMS:
    case ErrorCode.COMMIT_CONFLICT:
      return 409;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.UNAVAILABLE:
    case ErrorCode.SHUTTING_DOWN:
      return 503;
    case ErrorCode.INTERNAL:
      return 500;
    default:
      return 400;
  }
}

/** Sends `{ error }` with the status for its code (and `Retry-After` for `RATE_LIMITED`). */
export function sendError(res: Response, error: ErrorBody): void {
  if (error.code === ErrorCode.RATE_LIMITED && error.retryAfterMs !== undefined) {
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
  }
  if (error.code === ErrorCode.UNAUTHENTICATED || error.code === ErrorCode.TOKEN_EXPIRED) {
    res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
  }
  res.status(httpStatusFor(error.code)).json({ error });
}

/**
 * The user a token names, for the Socket.IO handshake as for HTTP: `UNAUTHENTICATED` for a missing
 * or invalid token (anything but a string included), `TOKEN_EXPIRED` for an expired one.
 */
export function authenticateToken(tokens: TokenService, token: unknown): Result<VerifiedToken> {
  return tokens.verifyToken(token);
}

/** The authenticated user of a request that passed `authenticateBearer`. */
export function requestUser(res: Response): AuthUser {
  const user = res.locals['user'] as AuthUser | undefined;
  if (!user) throw new Error('requestUser called on a route without authenticateBearer');
  return user;
}

/** Middleware: requires `Authorization: Bearer <token>`, puts the user in `res.locals.user`, else 401. */
export function authenticateBearer(tokens: TokenService): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
    const verified = match ? authenticateToken(tokens, match[1]) : fail<VerifiedToken>(ErrorCode.UNAUTHENTICATED, 'sign in first: no bearer token was sent');
    if (!verified.ok) {
      sendError(res, verified.error);
      return;
    }
    const user: AuthUser = { userId: verified.value.userId, username: verified.value.username };
    res.locals['user'] = user;
    next();
  };
}

// ---------------------------------------------------------------------------------------------
// Request bodies

const role = z.enum(ASSIGNABLE_ROLES);
const bodies = {
  register: z.strictObject({
    username: z.string().max(256),
    email: z.string().max(320).nullable().optional(),
    password: z.string().max(4096),
  }),
  login: z.strictObject({ username: z.string().min(1).max(256), password: z.string().max(4096) }),
  createRoom: z.strictObject({ name: z.string().max(1000).nullable().optional(), isPrivate: z.boolean().optional() }),
  invite: z.strictObject({ username: z.string().min(1).max(256), role }),
  setRole: z.strictObject({ role }),
  requestJoin: z.strictObject({ role }),
  answerJoin: z.strictObject({ decision: z.enum(JOIN_DECISIONS) }),
  createFile: z.strictObject({ path: z.string(), language: z.string(), content: z.string() }),
  renameFile: z.strictObject({ path: z.string() }),
};

/** Parses a body against its schema; on failure sends 400 `INVALID_MESSAGE` naming the field and returns undefined. */
function parseBody<T>(schema: z.ZodType<T>, req: Request, res: Response): T | undefined {
  const parsed = schema.safeParse(req.body ?? undefined);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `field '${issue.path.map(String).join('.')}'` : 'the request body';
  const what = issue?.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}` : `${where}: ${issue?.message ?? 'invalid'}`;
  const hint = req.body === undefined ? ' (send a JSON object with Content-Type: application/json)' : '';
  sendError(res, { code: ErrorCode.INVALID_MESSAGE, message: `${what}${hint}` });
  return undefined;
}

/** A route parameter as a string ('' when absent: the domain then finds nothing). */
function param(req: Request, name: string): string {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : '';
}

/** Sends a Result: its value as JSON with `status`, or its error. */
function reply<T>(res: Response, result: Result<T>, status = 200, body: (value: T) => unknown = (v) => v): void {
  if (!result.ok) {
    sendError(res, result.error);
    return;
  }
  if (status === 204) res.status(204).end();
  else res.status(status).json(body(result.value));
}

// ---------------------------------------------------------------------------------------------
// The router

/** Builds the API router (mount it under `/api`). Clients are identified for rate limiting by `req.ip` (set `trust proxy` on the app behind a proxy). */
export function createHttpApi(deps: HttpApiDeps): Router {
  const { accounts, rooms, files } = deps;
  const router = express.Router();
  const auth = authenticateBearer(deps.tokens);

  router.use((_req, res, next) => {
    // Responses carry tokens and per-user data: never cache them.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(express.json({ limit: deps.jsonLimit ?? '8mb' }));

  // --- Accounts

  router.post('/auth/register', async (req, res) => {
    const body = parseBody(bodies.register, req, res);
    if (!body) return;
    const clientKey = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    reply(res, await accounts.register({ ...body, clientKey }), 201);
  });

  router.post('/auth/login', async (req, res) => {
    const body = parseBody(bodies.login, req, res);
    if (!body) return;
    const clientKey = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    reply(res, await accounts.login({ ...body, clientKey }));
  });

  // --- Rooms

  router.get('/rooms', auth, async (_req, res) => {
    reply(res, await rooms.listMine(requestUser(res)), 200, (list) => ({ rooms: list }));
  });

  router.post('/rooms', auth, async (req, res) => {
    const body = parseBody(bodies.createRoom, req, res);
    if (!body) return;
    reply(res, await rooms.create(requestUser(res), body), 201, (room) => ({ room }));
  });

  router.get('/rooms/:roomId', auth, async (req, res) => {
    reply(res, await rooms.get(param(req, 'roomId'), requestUser(res)));
  });

  router.delete('/rooms/:roomId', auth, async (req, res) => {
    reply(res, await rooms.deleteRoom(param(req, 'roomId'), requestUser(res)), 204);
  });

  router.post('/rooms/:roomId/join', auth, async (req, res) => {
    reply(res, await rooms.join(param(req, 'roomId'), requestUser(res)), 200, ({ room, you, participants, added }) => ({ room, you, participants, added }));
  });

  // --- Participants

  router.post('/rooms/:roomId/participants', auth, async (req, res) => {
    const body = parseBody(bodies.invite, req, res);
    if (!body) return;
    const result = await rooms.invite(param(req, 'roomId'), requestUser(res), body.username, body.role);
    reply(res, result, result.ok && result.value.added ? 201 : 200, ({ participant }) => ({ participant }));
  });

  router.patch('/rooms/:roomId/participants/:userId', auth, async (req, res) => {
    const body = parseBody(bodies.setRole, req, res);
    if (!body) return;
    reply(res, await rooms.setRole(param(req, 'roomId'), requestUser(res), param(req, 'userId'), body.role), 200, (participant) => ({ participant }));
  });

  router.delete('/rooms/:roomId/participants/:userId', auth, async (req, res) => {
    reply(res, await rooms.removeParticipant(param(req, 'roomId'), requestUser(res), param(req, 'userId')), 204);
  });

  // --- Join requests (the HTTP twins of room:requestJoin / room:answerJoin)

  router.get('/rooms/:roomId/join-requests', auth, async (req, res) => {
    reply(res, await rooms.listJoinRequests(param(req, 'roomId'), requestUser(res)), 200, (requests) => ({ requests }));
  });

  router.post('/rooms/:roomId/join-requests', auth, async (req, res) => {
    const body = parseBody(bodies.requestJoin, req, res);
    if (!body) return;
    const result = await rooms.requestJoin(param(req, 'roomId'), requestUser(res), body.role);
    reply(res, result, result.ok && result.value.created ? 201 : 200, ({ requestId }) => ({ requestId }));
  });

  router.post('/rooms/:roomId/join-requests/:requestId', auth, async (req, res) => {
    const body = parseBody(bodies.answerJoin, req, res);
    if (!body) return;
    reply(res, await rooms.answerJoin(param(req, 'roomId'), param(req, 'requestId'), body.decision, requestUser(res)));
  });

  // --- Files

  router.get('/rooms/:roomId/files', auth, async (req, res) => {
    reply(res, await files.list(param(req, 'roomId'), requestUser(res)), 200, (list) => ({ files: list }));
  });

  router.post('/rooms/:roomId/files', auth, async (req, res) => {
    const body = parseBody(bodies.createFile, req, res);
    if (!body) return;
    reply(res, await files.create(param(req, 'roomId'), requestUser(res), body), 201, (file) => ({ file }));
  });

  router.patch('/rooms/:roomId/files/:fileId', auth, async (req, res) => {
    const body = parseBody(bodies.renameFile, req, res);
    if (!body) return;
    reply(res, await files.rename(param(req, 'roomId'), requestUser(res), param(req, 'fileId'), body.path), 200, (file) => ({ file }));
  });

  router.delete('/rooms/:roomId/files/:fileId', auth, async (req, res) => {
    reply(res, await files.delete(param(req, 'roomId'), requestUser(res), param(req, 'fileId')), 204);
  });

  router.use(errorHandler(deps.logger));
  return router;
}

/**
 * Turns thrown errors into JSON: body-parser's client errors (bad JSON, too large, wrong charset)
 * keep their 4xx status as `INVALID_MESSAGE`; anything else is logged (message and stack only:
 * never the body, which may hold a password) and answered 500 `INTERNAL`.
 */
function errorHandler(logger: HttpLogger | undefined) {
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { status?: unknown; type?: unknown; message?: unknown; stack?: unknown; code?: unknown } | null;
    const status = typeof e?.status === 'number' ? e.status : 500;
    if (status >= 400 && status < 500) {
      const message =
        e?.type === 'entity.too.large'
          ? 'the request body is too large'
          : e?.type === 'entity.parse.failed'
            ? 'the request body is not valid JSON'
            : 'the request body could not be read';
      res.status(status).json({ error: { code: ErrorCode.INVALID_MESSAGE, message } });
      return;
    }
    logger?.error({ err: { message: String(e?.message ?? err), code: e?.code, stack: e?.stack } }, 'HTTP API request failed');
    res.status(500).json({ error: { code: ErrorCode.INTERNAL, message: 'an unexpected server error occurred' } });
  };
}
