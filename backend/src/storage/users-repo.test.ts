import { strict as assert } from 'node:assert';
import { ErrorCode } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { uniqueUsername } from '../test-support/service-fixtures';
import { UsersRepo } from './users-repo';

forEachDatabase('storage: UsersRepo', (ctx) => {
  let users: UsersRepo;
  before(() => {
    users = new UsersRepo(ctx.current().db.knex);
  });

  it('creates a user and finds it by id and by username in any case', async () => {
    const name = `Ada_${uniqueUsername()}`;
    const created = await users.create({ username: name, email: `${name}@example.org`, passwordHash: 'h' });
    assert.ok(created.ok);
    assert.equal(created.value.username, name);
    assert.match(created.value.id, /^[0-9a-f-]{36}$/);
    assert.ok(created.value.createdAt instanceof Date);
    assert.deepEqual(await users.findById(created.value.id), created.value);
    assert.deepEqual(await users.findByUsername(name.toUpperCase()), created.value);
    assert.deepEqual(await users.findByUsername(name.toLowerCase()), created.value);
  });

  it('refuses a username taken in another case with USERNAME_TAKEN', async () => {
    const name = uniqueUsername('Bob');
    assert.ok((await users.create({ username: name, passwordHash: 'h' })).ok);
    const again = await users.create({ username: name.toUpperCase(), passwordHash: 'h' });
    assert.ok(!again.ok);
    assert.equal(again.error.code, ErrorCode.USERNAME_TAKEN);
  });

  it('refuses an e-mail address taken in another case with USERNAME_TAKEN', async () => {
    const email = `${uniqueUsername()}@Example.org`;
    assert.ok((await users.create({ username: uniqueUsername(), email, passwordHash: 'h' })).ok);
    const again = await users.create({ username: uniqueUsername(), email: email.toLowerCase(), passwordHash: 'h' });
    assert.ok(!again.ok);
    assert.equal(again.error.code, ErrorCode.USERNAME_TAKEN);
    assert.match(again.error.message, /e-mail/);
  });

  it('lets many users have no e-mail address', async () => {
    assert.ok((await users.create({ username: uniqueUsername(), passwordHash: 'h' })).ok);
    assert.ok((await users.create({ username: uniqueUsername(), email: null, passwordHash: 'h' })).ok);
  });

  it('answers "not found" for unknown and non-UUID ids without an error', async () => {
    assert.equal(await users.findById('00000000-0000-4000-8000-000000000000'), undefined);
    assert.equal(await users.findById('not-a-uuid'), undefined);
    assert.equal(await users.findByUsername('nobody-here'), undefined);
  });

  it('lets exactly one of two concurrent sign-ups with one name win', async () => {
    const name = uniqueUsername();
    const results = await Promise.all([
      users.create({ username: name, passwordHash: 'h' }),
      users.create({ username: name.toUpperCase(), passwordHash: 'h' }),
    ]);
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.error.code === ErrorCode.USERNAME_TAKEN).length, 1);
  });
});
