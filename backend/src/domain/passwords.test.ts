import { strict as assert } from 'node:assert';
import { ErrorCode } from '@collab/protocol';
import { PRODUCTION_SCRYPT_COST, PasswordHasher, TEST_SCRYPT_COST, checkPasswordStrength } from './passwords';

describe('domain: passwords', () => {
  const hasher = new PasswordHasher(TEST_SCRYPT_COST);

  it('hashes in the scrypt$N$r$p$salt$hash format with a fresh salt each time', async () => {
    const a = await hasher.hash('correct horse battery');
    const b = await hasher.hash('correct horse battery');
    assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a.split('$')[4] ?? '', 'base64').length, 16);
    assert.equal(Buffer.from(a.split('$')[5] ?? '', 'base64').length, 32);
  });

  it('verifies the right password and refuses others', async () => {
    const stored = await hasher.hash('correct horse battery');
    assert.equal(await hasher.verify('correct horse battery', stored), true);
    assert.equal(await hasher.verify('correct horse batterY', stored), false);
    assert.equal(await hasher.verify('', stored), false);
  });

  it('verifies with the cost stored in the hash, not the current one', async () => {
    const stored = await new PasswordHasher({ N: 2 ** 11, r: 4, p: 1 }).hash('an older password!');
    assert.equal(await hasher.verify('an older password!', stored), true);
  });

  it('treats NFC and NFD spellings of a password as the same', async () => {
    const stored = await hasher.hash('caf\u00e9 au lait!');
    assert.equal(await hasher.verify('cafe\u0301 au lait!', stored), true);
  });

  it('treats malformed or hostile stored values as a mismatch', async () => {
    for (const bad of ['', 'plain', 'scrypt$1024$8$1$$', 'bcrypt$1024$8$1$c2FsdA==$aGFzaA==', 'scrypt$1000$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', `scrypt$${2 ** 30}$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==`]) {
      assert.equal(await hasher.verify('whatever you like', bad), false, bad);
    }
  });

  it('uses N=2^15, r=8, p=1 in production and refuses invalid costs', async () => {
    assert.deepEqual({ ...PRODUCTION_SCRYPT_COST }, { N: 32768, r: 8, p: 1 });
    assert.throws(() => new PasswordHasher({ N: 1000, r: 8, p: 1 }), /power of two/);
    assert.throws(() => new PasswordHasher({ N: 1024, r: 0, p: 1 }), /r must be/);
    assert.throws(() => new PasswordHasher({ N: 1024, r: 8, p: 0 }), /p must be/);
  });

  it('hashes at the production cost (32 MiB) without hitting Node\'s memory cap', async function () {
    this.timeout(10_000);
    const production = new PasswordHasher();
    const stored = await production.hash('a production password');
    assert.match(stored, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await production.verify('a production password', stored), true);
  });

  describe('checkPasswordStrength', () => {
    const weak: [string, string, RegExp][] = [
      ['short', 'alice', /at least 10 characters/],
      ['x'.repeat(257), 'alice', /at most 256/],
      ['alice_the_admin', 'Alice_The_Admin', /not be the username/],
      ['aaaaaaaaaaaa', 'alice', /one character repeated/],
      ['Password123', 'alice', /most common/],
      ['QWERTYUIOP', 'alice', /most common/],
      ['1234567890', 'alice', /most common/],
      ['😀😀😀😀😀😀😀😀😀😀😀', 'alice', /one character repeated/],
    ];
    for (const [password, username, why] of weak) {
      it(`refuses ${JSON.stringify(password.length > 20 ? `${password.slice(0, 10)}…` : password)}`, () => {
        const r = checkPasswordStrength(password, username);
        assert.ok(!r.ok);
        assert.equal(r.error.code, ErrorCode.WEAK_PASSWORD);
        assert.match(r.error.message, why);
      });
    }

    it('accepts reasonable passwords, counting characters rather than UTF-16 units', () => {
      assert.ok(checkPasswordStrength('correct horse battery staple', 'alice').ok);
      assert.ok(checkPasswordStrength('x'.repeat(256).replace(/^x/, 'y'), 'alice').ok);
      assert.ok(checkPasswordStrength('0123456789a', 'alice').ok);
      // Five astral characters are ten UTF-16 units but only five characters.
      assert.ok(!checkPasswordStrength('😀😁😂😃😄', 'alice').ok);
    });
  });
});
