import { strict as assert } from 'node:assert';
import { ErrorCode, type Result } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { uniqueUsername, wireServices, type Services } from '../test-support/service-fixtures';
import { checkEmail, checkUsername, type Session } from './accounts';

const PASSWORD = 'a perfectly fine passphrase';

function codeOf(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

describe('domain: account input rules', () => {
  it('accepts usernames of 3 to 32 characters from [A-Za-z0-9_.-]', () => {
    for (const good of ['abc', 'Ada.Lovelace', 'a_b-c.d', 'x'.repeat(32), '007']) assert.ok(checkUsername(good).ok, good);
    for (const bad of ['ab', 'x'.repeat(33), 'has space', 'émile', 'a/b', '', 'tab\tbed', 42, undefined]) {
      assert.equal(codeOf(checkUsername(bad)), ErrorCode.INVALID_MESSAGE, String(bad));
    }
  });

  it('treats a missing e-mail as none and refuses implausible ones', () => {
    assert.deepEqual(checkEmail(undefined), { ok: true, value: null });
    assert.deepEqual(checkEmail(''), { ok: true, value: null });
    assert.deepEqual(checkEmail('ada@example.org'), { ok: true, value: 'ada@example.org' });
    for (const bad of ['ada', 'ada@', '@example.org', 'a b@example.org', `${'a'.repeat(250)}@example.org`]) {
      assert.equal(codeOf(checkEmail(bad)), ErrorCode.INVALID_MESSAGE, bad);
    }
  });
});

forEachDatabase('domain: AccountService', (ctx) => {
  let clock: number;
  let s: Services;

  before(() => {
    clock = Date.UTC(2030, 0, 1);
    s = wireServices(ctx.current().db, { now: () => clock });
  });

  async function register(username = uniqueUsername(), password = PASSWORD): Promise<Session> {
    const r = await s.accounts.register({ username, password, clientKey: '10.9.0.1' });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return r.value;
  }

  it('registers and returns the user with a token that names them', async () => {
    const username = uniqueUsername('Ada');
    const session = await register(username);
    assert.equal(session.user.username, username);
    const verified = s.tokens.verifyToken(session.token);
    assert.ok(verified.ok);
    assert.deepEqual({ ...verified.value, expiresAt: 0 }, { userId: session.user.id, username, expiresAt: 0 });
    const stored = await s.users.findById(session.user.id);
    assert.match(stored?.passwordHash ?? '', /^scrypt\$/);
    assert.ok(!stored?.passwordHash.includes(PASSWORD));
  });

  it('refuses a username taken in another case', async () => {
    const username = uniqueUsername('Grace');
    await register(username);
    assert.equal(codeOf(await s.accounts.register({ username: username.toUpperCase(), password: PASSWORD, clientKey: '10.9.0.1' })), ErrorCode.USERNAME_TAKEN);
    assert.equal(codeOf(await s.accounts.register({ username: username.toLowerCase(), password: PASSWORD, clientKey: '10.9.0.1' })), ErrorCode.USERNAME_TAKEN);
  });

  it('refuses weak passwords and bad usernames before storing anything', async () => {
    const username = uniqueUsername();
    assert.equal(codeOf(await s.accounts.register({ username, password: 'short', clientKey: '10.9.0.1' })), ErrorCode.WEAK_PASSWORD);
    assert.equal(codeOf(await s.accounts.register({ username, password: username.toUpperCase(), clientKey: '10.9.0.1' })), ErrorCode.WEAK_PASSWORD);
    assert.equal(codeOf(await s.accounts.register({ username, password: 'password123', clientKey: '10.9.0.1' })), ErrorCode.WEAK_PASSWORD);
    assert.equal(codeOf(await s.accounts.register({ username: 'no', password: PASSWORD, clientKey: '10.9.0.1' })), ErrorCode.INVALID_MESSAGE);
    assert.equal(codeOf(await s.accounts.register({ username, password: PASSWORD, email: 'nope', clientKey: '10.9.0.1' })), ErrorCode.INVALID_MESSAGE);
    assert.equal(await s.users.findByUsername(username), undefined);
  });

  it('limits sign-ups per client before hashing: refused ones cost no scrypt and store nothing, other clients go on, the bucket refills', async () => {
    const limited = wireServices(ctx.current().db, { now: () => clock, registrationLimit: { capacity: 2, refillPerSecond: 1 / 60 } });
    let hashes = 0;
    const hash = limited.passwords.hash.bind(limited.passwords);
    limited.passwords.hash = (password: string) => {
      hashes++;
      return hash(password);
    };
    const signUp = (clientKey: string, username = uniqueUsername(), password = PASSWORD) => limited.accounts.register({ username, password, clientKey });
    assert.equal(codeOf(await signUp('10.1.0.1')), 'ok');
    assert.equal(codeOf(await signUp('10.1.0.1')), 'ok');
    assert.equal(hashes, 2);
    // A weak password is refused before the limit: not charged, no hash.
    assert.equal(codeOf(await signUp('10.1.0.1', uniqueUsername(), 'short')), ErrorCode.WEAK_PASSWORD);
    const refusedName = uniqueUsername();
    const refused = await signUp('10.1.0.1', refusedName);
    assert.equal(codeOf(refused), ErrorCode.RATE_LIMITED);
    assert.ok(!refused.ok && refused.error.retryAfterMs !== undefined && refused.error.retryAfterMs > 59_000 && refused.error.retryAfterMs <= 60_000);
    assert.equal(hashes, 2, 'a refused sign-up costs no scrypt hash');
    assert.equal(await limited.users.findByUsername(refusedName), undefined);
    assert.equal(codeOf(await signUp('10.1.0.2')), 'ok', 'another client has its own bucket');
    clock += 60_000;
    assert.equal(codeOf(await signUp('10.1.0.1', refusedName)), 'ok', 'one more after a minute');
    assert.equal(codeOf(await signUp('10.1.0.1')), ErrorCode.RATE_LIMITED);
  });

  it('logs in with the right password, in any case of the username', async () => {
    const username = uniqueUsername('Linus');
    const registered = await register(username);
    const r = await s.accounts.login({ username: username.toUpperCase(), password: PASSWORD, clientKey: '10.0.0.1' });
    assert.ok(r.ok);
    assert.equal(r.value.user.id, registered.user.id);
    assert.equal(r.value.user.username, username, 'the username as registered');
    assert.ok(s.tokens.verifyToken(r.value.token).ok);
  });

  it('answers BAD_CREDENTIALS alike for a wrong password and an unknown user', async () => {
    const username = uniqueUsername();
    await register(username);
    const wrong = await s.accounts.login({ username, password: 'not the password', clientKey: '10.0.0.2' });
    const unknown = await s.accounts.login({ username: uniqueUsername('ghost'), password: PASSWORD, clientKey: '10.0.0.2' });
    const invalid = await s.accounts.login({ username: 'not a valid name!', password: PASSWORD, clientKey: '10.0.0.2' });
    assert.ok(!wrong.ok && !unknown.ok && !invalid.ok);
    assert.deepEqual(wrong.error, unknown.error);
    assert.deepEqual(wrong.error, invalid.error);
    assert.equal(wrong.error.code, ErrorCode.BAD_CREDENTIALS);
  });

  it('runs a password verification for unknown users too (no timing shortcut)', async () => {
    let verifications = 0;
    const original = s.passwords.verify.bind(s.passwords);
    s.passwords.verify = async (password, stored) => {
      verifications += 1;
      return original(password, stored);
    };
    try {
      await s.accounts.login({ username: uniqueUsername('ghost'), password: PASSWORD, clientKey: '10.0.0.3' });
      assert.equal(verifications, 1);
    } finally {
      s.passwords.verify = original;
    }
  });

  it('rate limits failed logins per username, then lets them through after the refill', async () => {
    const username = uniqueUsername();
    await register(username);
    for (let i = 0; i < 10; i++) {
      const r = await s.accounts.login({ username, password: 'wrong password!', clientKey: `192.0.2.${i}` });
      assert.equal(codeOf(r), ErrorCode.BAD_CREDENTIALS, `attempt ${i + 1}`);
    }
    const limited = await s.accounts.login({ username, password: PASSWORD, clientKey: '192.0.2.200' });
    assert.ok(!limited.ok);
    assert.equal(limited.error.code, ErrorCode.RATE_LIMITED);
    assert.equal(limited.error.retryAfterMs, 12_000, 'one attempt refills in 60 s / 5');
    assert.equal(codeOf(await s.accounts.login({ username: username.toUpperCase(), password: PASSWORD, clientKey: '192.0.2.201' })), ErrorCode.RATE_LIMITED, 'the username key ignores case');
    clock += 12_000;
    assert.equal(codeOf(await s.accounts.login({ username, password: PASSWORD, clientKey: '192.0.2.202' })), 'ok');
  });

  it('rate limits failed logins per client across usernames', async () => {
    const clientKey = '198.51.100.7';
    for (let i = 0; i < 10; i++) {
      assert.equal(codeOf(await s.accounts.login({ username: uniqueUsername('spray'), password: 'guess guess guess', clientKey })), ErrorCode.BAD_CREDENTIALS);
    }
    const username = uniqueUsername();
    await register(username);
    assert.equal(codeOf(await s.accounts.login({ username, password: PASSWORD, clientKey })), ErrorCode.RATE_LIMITED);
    assert.equal(codeOf(await s.accounts.login({ username, password: PASSWORD, clientKey: '198.51.100.8' })), 'ok', 'other clients are unaffected');
  });

  it('does not count successful logins against the limits', async () => {
    const username = uniqueUsername();
    await register(username);
    for (let i = 0; i < 15; i++) {
      assert.equal(codeOf(await s.accounts.login({ username, password: PASSWORD, clientKey: '203.0.113.9' })), 'ok', `login ${i + 1}`);
    }
  });
});
