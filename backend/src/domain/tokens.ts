/**
 * Session tokens: JWTs signed with HS256 and a server secret. Claims: `sub` (user id), `username`,
 * `iss: 'collab'`, `iat`, `exp`. Verification accepts HS256 only, so `alg: none` and algorithm
 * confusion (an RS256 token "signed" with the secret as a public key) are refused.
 *
 * The secret comes from `JWT_SECRET`, or is generated once and kept in `<dataDir>/jwt-secret`
 * (mode 0600), or, without a data directory (tests), lives only in memory.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import jwt from 'jsonwebtoken';
import { ErrorCode, fail, ok, type Result } from '@collab/protocol';

/** Who a valid token says the caller is. */
export interface AuthUser {
  readonly userId: string;
  readonly username: string;
}

/** A verified token: the user, and when the token expires (ms since the epoch) so a socket can be cut then. */
export interface VerifiedToken extends AuthUser {
  readonly expiresAt: number;
}

/** Options of a `TokenService`. */
export interface TokenServiceOptions {
  /** The HMAC secret, at least 32 bytes of entropy. */
  readonly secret: string;
  /** Token lifetime in seconds. @default 43200 (12 h) */
  readonly ttlSeconds?: number;
  /** Milliseconds since the epoch (tests pass a fake). @default Date.now */
  readonly now?: () => number;
}

/** The issuer claim of every token. */
export const TOKEN_ISSUER = 'collab';
/** Longest token accepted for verification, in characters (ours are a few hundred). */
export const MAX_TOKEN_LENGTH = 4096;
/** Name of the file under the data directory that keeps the generated secret. */
export const JWT_SECRET_FILE = 'jwt-secret';

const MIN_SECRET_LENGTH = 32;

/** Signs and verifies session tokens. */
export class TokenService {
  /**
   * The secret as a key object, made once: given a string, jsonwebtoken first tries to parse it as
   * a public key (throwing and catching) on every call, which cost ~0.3 ms per verification.
   */
  private readonly key: KeyObject;
  private readonly now: () => number;
  /** Token lifetime in seconds. */
  readonly ttlSeconds: number;

  constructor(options: TokenServiceOptions) {
    if (options.secret.length < MIN_SECRET_LENGTH) throw new Error(`the token secret must be at least ${MIN_SECRET_LENGTH} characters long`);
    this.key = createSecretKey(Buffer.from(options.secret, 'utf8'));
    this.ttlSeconds = options.ttlSeconds ?? 12 * 60 * 60;
    if (!Number.isInteger(this.ttlSeconds) || this.ttlSeconds <= 0) throw new Error(`ttlSeconds must be a positive integer, got ${this.ttlSeconds}`);
    this.now = options.now ?? Date.now;
  }

  /** A fresh token for `user`, valid for `ttlSeconds` from now. */
  sign(user: { readonly id: string; readonly username: string }): string {
    const iat = Math.floor(this.now() / 1000);
    return jwt.sign({ username: user.username, iat }, this.key, {
      algorithm: 'HS256',
      expiresIn: this.ttlSeconds,
      issuer: TOKEN_ISSUER,
      subject: user.id,
    });
  }

  /**
   * The user a token names. `TOKEN_EXPIRED` when it is authentic but expired; `UNAUTHENTICATED`
   * for anything else (missing, malformed, tampered, another algorithm or secret, another issuer,
   * missing claims). The signature is checked before expiry, so a forged expired token is
   * `UNAUTHENTICATED`, never `TOKEN_EXPIRED`.
   */
  verifyToken(token: unknown): Result<VerifiedToken> {
    if (typeof token !== 'string' || token.length === 0) return fail(ErrorCode.UNAUTHENTICATED, 'no token was presented');
    if (token.length > MAX_TOKEN_LENGTH) return fail(ErrorCode.UNAUTHENTICATED, 'the token is not valid');
    let payload: string | jwt.JwtPayload;
    try {
      payload = jwt.verify(token, this.key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        clockTimestamp: Math.floor(this.now() / 1000),
      });
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) return fail(ErrorCode.TOKEN_EXPIRED, 'the token has expired; sign in again');
      return fail(ErrorCode.UNAUTHENTICATED, 'the token is not valid');
    }
    if (typeof payload !== 'object' || payload === null) return fail(ErrorCode.UNAUTHENTICATED, 'the token is not valid');
    const { sub, username, exp } = payload as { sub?: unknown; username?: unknown; exp?: unknown };
    // jsonwebtoken accepts tokens without `exp`; ours always carry one.
    if (typeof sub !== 'string' || sub === '' || typeof username !== 'string' || username === '' || typeof exp !== 'number') {
      return fail(ErrorCode.UNAUTHENTICATED, 'the token is not valid');
    }
    return ok({ userId: sub, username, expiresAt: exp * 1000 });
  }
}

/**
 * The token secret to use: `configured` (from `JWT_SECRET`) if set, otherwise the one kept in
 * `<dataDir>/jwt-secret` (generated on first use), otherwise, without a data directory, a fresh
 * in-memory secret (tokens then die with the process).
 */
export function resolveJwtSecret(configured: string | undefined, dataDir: string | undefined): string {
  if (configured !== undefined) {
    if (configured.length < MIN_SECRET_LENGTH) throw new Error(`JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters long`);
    return configured;
  }
  return loadOrCreateJwtSecret(dataDir);
}

/**
 * The secret kept in `<dataDir>/jwt-secret`, created (32 random bytes, base64url, file mode 0600)
 * if absent. Without `dataDir`, a fresh secret that is kept nowhere.
 *
 * Race: two processes starting on one data directory must end up with the same secret. The new
 * secret is written to a private temporary file and then hard-linked into place; `link` fails if
 * the name exists, so exactly one secret wins, and everybody reads the winner's complete file.
 */
export function loadOrCreateJwtSecret(dataDir: string | undefined): string {
  const fresh = randomBytes(32).toString('base64url');
  if (dataDir === undefined) return fresh;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, JWT_SECRET_FILE);
  if (!fs.existsSync(file)) {
    const temp = path.join(dataDir, `.${JWT_SECRET_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    fs.writeFileSync(temp, `${fresh}\n`, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(temp, { force: true });
    }
  }
  tightenMode(file);
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`${file} holds no usable secret (fewer than ${MIN_SECRET_LENGTH} characters); delete it to generate a new one`);
  }
  return secret;
}

/** Makes a secret file readable by its owner only, if it was more open (best effort: never fatal). */
function tightenMode(file: string): void {
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  } catch {
    // Not ours to change (another owner, read-only mount): use it as it is.
  }
}
