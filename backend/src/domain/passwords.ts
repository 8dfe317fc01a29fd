/**
 * Password hashing with scrypt (memory-hard, from node:crypto) and the password strength rules.
 *
 * Stored format: `scrypt$N$r$p$salt$hash`, salt and hash in base64. The cost travels with each
 * hash, so raising the cost later leaves existing hashes verifiable.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ErrorCode, fail, ok, type Result } from '@collab/protocol';

/** scrypt's cost parameters: N (CPU/memory cost, a power of two), r (block size), p (parallelism). */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** The production cost: N=2^15, r=8, p=1 (32 MiB and roughly 50–100 ms per hash). */
export const PRODUCTION_SCRYPT_COST: ScryptCost = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/** A cheap cost for tests only (N=2^10): never use it in production. */
export const TEST_SCRYPT_COST: ScryptCost = Object.freeze({ N: 2 ** 10, r: 8, p: 1 });

/** Shortest accepted password, in characters. */
export const MIN_PASSWORD_LENGTH = 10;
/** Longest accepted password, in characters (bounds the hashing work per request). */
export const MAX_PASSWORD_LENGTH = 256;

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds on the cost read back from a stored hash, so a corrupt row cannot stall the server. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

/** Hashes and verifies passwords at a fixed cost. */
export class PasswordHasher {
  constructor(readonly cost: ScryptCost = PRODUCTION_SCRYPT_COST) {
    checkCost(cost);
  }

  /** A fresh salted hash of `password` in the stored format. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, this.cost);
    const { N, r, p } = this.cost;
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /**
   * True when `password` matches `stored`. Compares in constant time; a malformed `stored` value is
   * simply a mismatch (after doing comparable work, so that it is not distinguishable by timing).
   */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseStored(stored);
    if (!parsed) {
      await derive(password, randomBytes(SALT_BYTES), this.cost);
      return false;
    }
    const key = await derive(password, parsed.salt, parsed.cost, parsed.hash.length);
    return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
  }
}

/**
 * Checks the strength rules: 10 to 256 characters, not the username (in any case), not one
 * character repeated, and not one of a short list of very common passwords. Fails with
 * `WEAK_PASSWORD` and a message that says which rule was broken.
 */
export function checkPasswordStrength(password: string, username: string): Result<void> {
  const weak = (why: string) => fail<void>(ErrorCode.WEAK_PASSWORD, why);
  const chars = Array.from(password);
  if (chars.length < MIN_PASSWORD_LENGTH) return weak(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (chars.length > MAX_PASSWORD_LENGTH) return weak(`the password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  const lower = password.toLowerCase();
  if (username !== '' && lower === username.toLowerCase()) return weak('the password must not be the username');
  if (chars.every((c) => c === chars[0])) return weak('the password must not be one character repeated');
  if (COMMON_PASSWORDS.has(lower)) return weak('the password is one of the most common passwords');
  return ok(undefined);
}

/**
 * Very common passwords of at least 10 characters (shorter ones fail the length rule anyway),
 * lowercase; compared case-insensitively.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '1234567890',
  '0123456789',
  '0987654321',
  '12345678910',
  '123456789a',
  'a123456789',
  '1234567891',
  '1234512345',
  '1q2w3e4r5t',
  '1qaz2wsx3edc',
  'zaq12wsxcde',
  'qwertyuiop',
  'qwerty1234',
  'qwerty12345',
  'qwerty123456',
  'asdfghjkl1',
  'password12',
  'password123',
  'password1234',
  'password!1',
  'passw0rd123',
  'p@ssw0rd123',
  'iloveyou12',
  'iloveyou123',
  'letmein123',
  'welcome123',
  'welcome1234',
  'administrator',
  'admin12345',
  'changeme123',
  'football123',
  'baseball123',
  'superman123',
  'trustno1234',
  'abcdefghij',
  'abcd123456',
  'abc1234567',
  'princess123',
  'sunshine123',
  'monkey12345',
  'dragon12345',
  'starwars123',
  'whatever123',
  'computer123',
  'internet123',
]);

function checkCost(cost: ScryptCost): void {
  const { N, r, p } = cost;
  const powerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N) throw new Error(`scrypt N must be a power of two from 2 to ${MAX_N}, got ${N}`);
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) throw new Error(`scrypt r must be an integer from 1 to ${MAX_R}, got ${r}`);
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) throw new Error(`scrypt p must be an integer from 1 to ${MAX_P}, got ${p}`);
}

function parseStored(stored: string): { cost: ScryptCost; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  try {
    checkCost(cost);
  } catch {
    return undefined;
  }
  const saltBytes = Buffer.from(salt, 'base64');
  const hashBytes = Buffer.from(hash, 'base64');
  if (saltBytes.length === 0 || hashBytes.length < 16 || hashBytes.length > 64) return undefined;
  return { cost, salt: saltBytes, hash: hashBytes };
}

/** scrypt on the libuv thread pool (never blocks the event loop). NFC-normalises the password first. */
function derive(password: string, salt: Buffer, cost: ScryptCost, keyLength = KEY_BYTES): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node refuses anything above `maxmem` (32 MiB by default), which the
  // production cost reaches exactly, so give it explicit headroom.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
