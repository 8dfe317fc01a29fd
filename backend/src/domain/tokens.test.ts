import { strict as assert } from 'node:assert';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jwt from 'jsonwebtoken';
import { ErrorCode, type Result } from '@collab/protocol';
import { JWT_SECRET_FILE, TokenService, loadOrCreateJwtSecret, resolveJwtSecret, type AuthUser } from './tokens';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const USER = { id: '6f1c7c57-1d1e-4d8b-9d43-6a1f8b1f0a11', username: 'ada' };

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Builds a JWT by hand: header and payload as given, signed with HS256 and `secret` (or not at all). */
function handMade(header: object, payload: object, secret?: string): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  const signature = secret === undefined ? '' : createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

function code(result: Result<AuthUser>): string {
  return result.ok ? 'ok' : result.error.code;
}

describe('domain: tokens', () => {
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it('signs HS256 tokens with sub, username, iss and a 12 h expiry, and verifies them', () => {
    const tokens = new TokenService({ secret: SECRET });
    const token = tokens.sign(USER);
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { alg: string };
    assert.equal(header.alg, 'HS256');
    const claims = jwt.decode(token) as jwt.JwtPayload;
    assert.equal(claims.sub, USER.id);
    assert.equal(claims['username'], USER.username);
    assert.equal(claims.iss, 'collab');
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 12 * 3600);
    assert.deepEqual(tokens.verifyToken(token), { ok: true, value: { userId: USER.id, username: 'ada', expiresAt: (claims.exp ?? 0) * 1000 } });
  });

  it('honours a configured lifetime and reports expiry as TOKEN_EXPIRED', () => {
    let now = Date.UTC(2030, 0, 1);
    const tokens = new TokenService({ secret: SECRET, ttlSeconds: 60, now: () => now });
    const token = tokens.sign(USER);
    now += 59_000;
    assert.equal(code(tokens.verifyToken(token)), 'ok');
    now += 2_000;
    assert.equal(code(tokens.verifyToken(token)), ErrorCode.TOKEN_EXPIRED);
  });

  it('refuses an expired token built with jsonwebtoken', () => {
    const tokens = new TokenService({ secret: SECRET });
    const expired = jwt.sign({ username: 'ada', iat: nowSeconds() - 100 }, SECRET, { algorithm: 'HS256', expiresIn: 10, issuer: 'collab', subject: USER.id });
    assert.equal(code(tokens.verifyToken(expired)), ErrorCode.TOKEN_EXPIRED);
  });

  it('refuses missing, malformed and oversized tokens as UNAUTHENTICATED', () => {
    const tokens = new TokenService({ secret: SECRET });
    for (const bad of [undefined, null, 42, {}, '', 'abc', 'a.b.c', `${'a'.repeat(5000)}.b.c`]) {
      assert.equal(code(tokens.verifyToken(bad)), ErrorCode.UNAUTHENTICATED, String(bad));
    }
  });

  it('refuses a tampered payload (a changed username or user id)', () => {
    const tokens = new TokenService({ secret: SECRET });
    const [header, payload, signature] = tokens.sign(USER).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${header}.${b64url({ ...claims, username: 'root', sub: '00000000-0000-4000-8000-000000000000' })}.${signature}`;
    assert.equal(code(tokens.verifyToken(forged)), ErrorCode.UNAUTHENTICATED);
    const flipped = `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    assert.equal(code(tokens.verifyToken(flipped)), ErrorCode.UNAUTHENTICATED);
  });

  it("refuses alg: none, whether built by hand or by jsonwebtoken", () => {
    const tokens = new TokenService({ secret: SECRET });
    const claims = { sub: USER.id, username: 'ada', iss: 'collab', iat: nowSeconds(), exp: nowSeconds() + 3600 };
    assert.equal(code(tokens.verifyToken(handMade({ alg: 'none', typ: 'JWT' }, claims))), ErrorCode.UNAUTHENTICATED);
    assert.equal(code(tokens.verifyToken(handMade({ alg: 'None', typ: 'JWT' }, claims))), ErrorCode.UNAUTHENTICATED);
    const unsigned = jwt.sign(claims, '', { algorithm: 'none' });
    assert.equal(code(tokens.verifyToken(unsigned)), ErrorCode.UNAUTHENTICATED);
  });

  it('refuses a token signed with another secret', () => {
    const tokens = new TokenService({ secret: SECRET });
    const other = new TokenService({ secret: `${SECRET}-but-different` }).sign(USER);
    assert.equal(code(tokens.verifyToken(other)), ErrorCode.UNAUTHENTICATED);
    const claims = { sub: USER.id, username: 'ada', iss: 'collab', iat: nowSeconds(), exp: nowSeconds() + 3600 };
    assert.equal(code(tokens.verifyToken(handMade({ alg: 'HS256', typ: 'JWT' }, claims, 'wrong-secret'))), ErrorCode.UNAUTHENTICATED);
    assert.equal(code(tokens.verifyToken(handMade({ alg: 'HS256', typ: 'JWT' }, claims, SECRET))), 'ok', 'the hand-made signer is right');
  });

  it('refuses other algorithms: HS512 with the right secret, and RS256 (key confusion)', () => {
    const tokens = new TokenService({ secret: SECRET });
    const claims = { username: 'ada' };
    const hs512 = jwt.sign(claims, SECRET, { algorithm: 'HS512', expiresIn: 3600, issuer: 'collab', subject: USER.id });
    assert.equal(code(tokens.verifyToken(hs512)), ErrorCode.UNAUTHENTICATED);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs256 = jwt.sign(claims, privateKey, { algorithm: 'RS256', expiresIn: 3600, issuer: 'collab', subject: USER.id });
    assert.equal(code(tokens.verifyToken(rs256)), ErrorCode.UNAUTHENTICATED);
  });

  it('refuses another issuer and tokens missing sub, username or exp', () => {
    const tokens = new TokenService({ secret: SECRET });
    const base = { sub: USER.id, username: 'ada', iss: 'collab', iat: nowSeconds(), exp: nowSeconds() + 3600 };
    const header = { alg: 'HS256', typ: 'JWT' };
    assert.equal(code(tokens.verifyToken(handMade(header, { ...base, iss: 'someone-else' }, SECRET))), ErrorCode.UNAUTHENTICATED);
    for (const drop of ['sub', 'username', 'exp', 'iss'] as const) {
      const claims: Record<string, unknown> = { ...base };
      delete claims[drop];
      assert.equal(code(tokens.verifyToken(handMade(header, claims, SECRET))), ErrorCode.UNAUTHENTICATED, `without ${drop}`);
    }
    assert.equal(code(tokens.verifyToken(handMade(header, { ...base, sub: 42 }, SECRET))), ErrorCode.UNAUTHENTICATED);
  });

  it('refuses a forged expired token as UNAUTHENTICATED, not TOKEN_EXPIRED', () => {
    const tokens = new TokenService({ secret: SECRET });
    const claims = { sub: USER.id, username: 'ada', iss: 'collab', iat: nowSeconds() - 100, exp: nowSeconds() - 10 };
    assert.equal(code(tokens.verifyToken(handMade({ alg: 'HS256', typ: 'JWT' }, claims, 'not-the-secret'))), ErrorCode.UNAUTHENTICATED);
  });

  it('refuses a short secret', () => {
    assert.throws(() => new TokenService({ secret: 'short' }), /at least 32/);
  });

  describe('the secret', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-jwt-'));
    });
    afterEach(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('is generated once into <dataDir>/jwt-secret with mode 0600 and reused', () => {
      const dataDir = path.join(dir, 'data');
      const first = loadOrCreateJwtSecret(dataDir);
      assert.ok(first.length >= 32);
      const file = path.join(dataDir, JWT_SECRET_FILE);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(loadOrCreateJwtSecret(dataDir), first);
      assert.deepEqual(fs.readdirSync(dataDir), [JWT_SECRET_FILE], 'no temporary file is left behind');
    });

    it('keeps an existing secret, tightening a too-open file to 0600', () => {
      const file = path.join(dir, JWT_SECRET_FILE);
      fs.writeFileSync(file, `${'k'.repeat(40)}\n`, { mode: 0o644 });
      fs.chmodSync(file, 0o644);
      assert.equal(loadOrCreateJwtSecret(dir), 'k'.repeat(40));
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    it('lives only in memory without a data directory', () => {
      const a = loadOrCreateJwtSecret(undefined);
      const b = loadOrCreateJwtSecret(undefined);
      assert.ok(a.length >= 32);
      assert.notEqual(a, b);
    });

    it('comes from JWT_SECRET when configured, and refuses a corrupt file', () => {
      assert.equal(resolveJwtSecret('c'.repeat(40), dir), 'c'.repeat(40));
      assert.equal(fs.existsSync(path.join(dir, JWT_SECRET_FILE)), false);
      assert.throws(() => resolveJwtSecret('short', dir), /at least 32/);
      fs.writeFileSync(path.join(dir, JWT_SECRET_FILE), 'tiny\n');
      assert.throws(() => resolveJwtSecret(undefined, dir), /no usable secret/);
    });
  });
});
