/**
 * Accounts: sign-up and sign-in, each returning a session token.
 *
 * Sign-in never says whether the username exists: an unknown user and a wrong password give the
 * same `BAD_CREDENTIALS`, and both run one scrypt verification, so the timing is alike too.
 * Sign-in attempts are rate limited per username and per client (IP address); sign-ups per client,
 * since each costs one scrypt hash.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode, fail, ok, type ErrorBody, type Result, type UserInfo } from '@collab/protocol';
import { lookupKey, type UsersRepo } from '../storage/users-repo';
import { checkPasswordStrength, type PasswordHasher } from './passwords';
import { KeyedRateLimiter, type BucketSpec, type Clock } from './rate-limit';
import type { TokenService } from './tokens';

/** Usernames: 3 to 32 characters from A–Z, a–z, 0–9, '_', '.', '-'; unique regardless of case. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
/** Longest e-mail address accepted, in characters. */
export const MAX_EMAIL_LENGTH = 254;

/** The login rate limits: failed attempts allowed per username and per client. */
export interface LoginLimits {
  readonly perUsername: BucketSpec;
  readonly perClient: BucketSpec;
}

/** Default login limits: a burst of 10 attempts, then 5 per minute, per username and per client. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = Object.freeze({
  perUsername: Object.freeze({ capacity: 10, refillPerSecond: 5 / 60 }),
  perClient: Object.freeze({ capacity: 10, refillPerSecond: 5 / 60 }),
});

/** Default sign-up limit per client (IP address): 20 at once, then 20 an hour. */
export const DEFAULT_REGISTRATION_LIMIT: BucketSpec = Object.freeze({ capacity: 20, refillPerSecond: 20 / 3600 });

/** The sign-up limit allowing `perHour` sign-ups per client, all of them at once at most. */
export function registrationLimitPerHour(perHour: number): BucketSpec {
  return { capacity: perHour, refillPerSecond: perHour / 3600 };
}

/** A signed-in user and their token. */
export interface Session {
  readonly user: UserInfo;
  readonly token: string;
}

/** What `register` accepts; `clientKey` identifies the client for rate limiting (its IP address). */
export interface RegisterInput {
  readonly username: string;
  readonly email?: string | null;
  readonly password: string;
  readonly clientKey: string;
}

/** What `login` accepts; `clientKey` identifies the client for rate limiting (its IP address). */
export interface LoginInput {
  readonly username: string;
  readonly password: string;
  readonly clientKey: string;
}

/** What an AccountService needs. */
export interface AccountServiceDeps {
  readonly users: UsersRepo;
  readonly passwords: PasswordHasher;
  readonly tokens: TokenService;
  readonly loginLimits?: LoginLimits;
  /** Sign-ups per client. @default DEFAULT_REGISTRATION_LIMIT */
  readonly registrationLimit?: BucketSpec;
  /** For the rate limiters. @default Date.now */
  readonly now?: Clock;
}

/** Sign-up and sign-in. */
export class AccountService {
  private readonly users: UsersRepo;
  private readonly passwords: PasswordHasher;
  private readonly tokens: TokenService;
  private readonly byUsername: KeyedRateLimiter;
  private readonly byClient: KeyedRateLimiter;
  private readonly registrationsByClient: KeyedRateLimiter;
  private dummyHash: Promise<string> | undefined;

  constructor(deps: AccountServiceDeps) {
    this.users = deps.users;
    this.passwords = deps.passwords;
    this.tokens = deps.tokens;
    const limits = deps.loginLimits ?? DEFAULT_LOGIN_LIMITS;
    this.byUsername = new KeyedRateLimiter({ ...limits.perUsername, now: deps.now });
    this.byClient = new KeyedRateLimiter({ ...limits.perClient, now: deps.now });
    this.registrationsByClient = new KeyedRateLimiter({ ...(deps.registrationLimit ?? DEFAULT_REGISTRATION_LIMIT), now: deps.now });
    // Prepare the dummy hash now, so that even the first unknown-user sign-in costs one scrypt, not two.
    this.dummy().catch(() => {
      this.dummyHash = undefined;
    });
  }

  /**
   * Creates an account and signs it in. Refuses: `INVALID_MESSAGE` (username or e-mail format),
   * `WEAK_PASSWORD`, `USERNAME_TAKEN` (username or e-mail already registered, in any case),
   * `RATE_LIMITED` (with `retryAfterMs`) once the client has used up its sign-ups. Only a sign-up
   * that gets as far as hashing the password is charged (a refused username or password costs
   * nothing and is not counted); one that then finds the username taken still is, as its hash was
   * paid for.
   */
  async register(input: RegisterInput): Promise<Result<Session>> {
    const username = checkUsername(input.username);
    if (!username.ok) return username;
    const email = checkEmail(input.email);
    if (!email.ok) return email;
    const strong = checkPasswordStrength(input.password, username.value);
    if (!strong.ok) return strong;
    const allowed = this.registrationsByClient.tryTake(input.clientKey.slice(0, 128));
    if (!allowed.ok) return { ok: false, error: rateLimited('too many sign-ups from this address', allowed.retryAfterMs) };
    const passwordHash = await this.passwords.hash(input.password);
    const created = await this.users.create({ username: username.value, email: email.value, passwordHash });
    if (!created.ok) return created;
    const user = { id: created.value.id, username: created.value.username };
    return ok({ user, token: this.tokens.sign(user) });
  }

  /**
   * Checks a username and password. `BAD_CREDENTIALS` for an unknown user or a wrong password
   * alike; `RATE_LIMITED` (with `retryAfterMs`) once the username or the client has used up its
   * attempts.
   *
   * Race: attempts are charged before the password is checked and refunded on success, so that
   * many concurrent guesses cannot all pass the limiter before any failure is recorded.
   */
  async login(input: LoginInput): Promise<Result<Session>> {
    const userKey = lookupKey(input.username).slice(0, 64);
    const clientKey = input.clientKey.slice(0, 128);
    const limited = this.charge(userKey, clientKey);
    if (limited) return { ok: false, error: limited };

    const user = USERNAME_PATTERN.test(input.username) ? await this.users.findByUsername(input.username) : undefined;
    // No such user: verify against a dummy hash anyway, so the answer takes as long as a real check.
    const matches = await this.passwords.verify(input.password, user ? user.passwordHash : await this.dummy());
    if (!user || !matches) return fail(ErrorCode.BAD_CREDENTIALS, 'unknown username or wrong password');

    this.byUsername.refund(userKey);
    this.byClient.refund(clientKey);
    const info = { id: user.id, username: user.username };
    return ok({ user: info, token: this.tokens.sign(info) });
  }

  /** Takes one attempt from both buckets, or none and returns the `RATE_LIMITED` error. */
  private charge(userKey: string, clientKey: string): ErrorBody | undefined {
    const byUser = this.byUsername.tryTake(userKey);
    const byClient = this.byClient.tryTake(clientKey);
    if (byUser.ok && byClient.ok) return undefined;
    if (byUser.ok) this.byUsername.refund(userKey);
    if (byClient.ok) this.byClient.refund(clientKey);
    return rateLimited('too many sign-in attempts', Math.max(byUser.ok ? 0 : byUser.retryAfterMs, byClient.ok ? 0 : byClient.retryAfterMs));
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= this.passwords.hash(randomBytes(18).toString('base64'));
    return this.dummyHash;
  }
}

/** The `RATE_LIMITED` error: what was refused, and when to try again. */
function rateLimited(what: string, retryAfterMs: number): ErrorBody {
  return { code: ErrorCode.RATE_LIMITED, message: `${what}; try again in ${Math.ceil(retryAfterMs / 1000)} s`, retryAfterMs };
}

/** `ok(username)` when it follows the username rules, otherwise `INVALID_MESSAGE` saying why. */
export function checkUsername(username: unknown): Result<string> {
  if (typeof username === 'string' && USERNAME_PATTERN.test(username)) return ok(username);
  return fail(ErrorCode.INVALID_MESSAGE, "a username must be 3 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'");
}

/** `ok(null)` for no address, `ok(address)` for a plausible one, otherwise `INVALID_MESSAGE`. */
export function checkEmail(email: unknown): Result<string | null> {
  if (email === undefined || email === null || email === '') return ok(null);
  if (typeof email === 'string' && email.length <= MAX_EMAIL_LENGTH && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return ok(email);
  return fail(ErrorCode.INVALID_MESSAGE, 'the e-mail address is not valid');
}
