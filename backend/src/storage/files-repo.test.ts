import { strict as assert } from 'node:assert';
import { ErrorCode } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { insertUser } from '../test-support/service-fixtures';
import type { AuthUser } from '../domain/tokens';
import { FilesRepo } from './files-repo';
import { RoomsRepo, type RoomRecord } from './rooms-repo';
import { UsersRepo } from './users-repo';

forEachDatabase('storage: FilesRepo', (ctx) => {
  let files: FilesRepo;
  let rooms: RoomsRepo;
  let owner: AuthUser;
  let room: RoomRecord;

  before(async () => {
    const knex = ctx.current().db.knex;
    files = new FilesRepo(knex);
    rooms = new RoomsRepo(knex);
    owner = await insertUser(new UsersRepo(knex));
    const created = await rooms.create({ ownerId: owner.userId, name: null, isPrivate: true }, 100);
    assert.ok(created.ok);
    room = created.value;
  });

  function newFile(path: string, content = 'hello\n', maxFiles = 100) {
    return files.create({ roomUuid: room.roomUuid, path, language: 'plaintext', content, createdBy: owner.userId }, maxFiles);
  }

  it('creates a file at version 0 with its content as the snapshot', async () => {
    const created = await newFile('src/a.ts', 'export {};\n');
    assert.ok(created.ok);
    assert.equal(created.value.version, 0);
    assert.equal(created.value.path, 'src/a.ts');
    assert.equal(created.value.createdBy, owner.userId);
    const row = await ctx.current().db.knex('files').where('id', created.value.id).first('content', 'version');
    assert.deepEqual({ content: row.content, version: Number(row.version) }, { content: 'export {};\n', version: 0 });
    assert.deepEqual(await files.get(room.roomUuid, created.value.id), created.value);
  });

  it('knows a file only by the id it issued: an uppercase spelling of it is not found', async () => {
    const created = await newFile('src/case.ts');
    assert.ok(created.ok);
    const shouted = created.value.id.toUpperCase();
    assert.notEqual(shouted, created.value.id);
    assert.equal(await files.get(room.roomUuid, shouted), undefined);
    const renamed = await files.rename(room.roomUuid, shouted, 'src/other.ts');
    assert.equal(!renamed.ok && renamed.error.code, 'FILE_NOT_FOUND');
  });

  it('refuses a second file at the same path with PATH_TAKEN (case-sensitively)', async () => {
    assert.ok((await newFile('dup.txt')).ok);
    const again = await newFile('dup.txt');
    assert.ok(!again.ok);
    assert.equal(again.error.code, ErrorCode.PATH_TAKEN);
    assert.ok((await newFile('DUP.txt')).ok, 'paths compare exactly');
  });

  it('renames, refusing a taken path, and deletes', async () => {
    const a = await newFile('r/one.txt');
    const b = await newFile('r/two.txt');
    assert.ok(a.ok && b.ok);
    const moved = await files.rename(room.roomUuid, a.value.id, 'r/uno.txt');
    assert.ok(moved.ok);
    assert.equal(moved.value.path, 'r/uno.txt');
    const clash = await files.rename(room.roomUuid, a.value.id, 'r/two.txt');
    assert.ok(!clash.ok);
    assert.equal(clash.error.code, ErrorCode.PATH_TAKEN);
    const missing = await files.rename(room.roomUuid, 'nope', 'x');
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, ErrorCode.FILE_NOT_FOUND);
    assert.equal(await files.delete(room.roomUuid, b.value.id), true);
    assert.equal(await files.delete(room.roomUuid, b.value.id), false);
    assert.equal(await files.get(room.roomUuid, b.value.id), undefined);
  });

  it('lists by path and never shows a file through another room', async () => {
    const other = await rooms.create({ ownerId: owner.userId, name: null, isPrivate: true }, 100);
    assert.ok(other.ok);
    const f = await files.create({ roomUuid: other.value.roomUuid, path: 'b.txt', language: 'x', content: '', createdBy: owner.userId }, 10);
    assert.ok(f.ok);
    await files.create({ roomUuid: other.value.roomUuid, path: 'a.txt', language: 'x', content: '', createdBy: owner.userId }, 10);
    assert.deepEqual((await files.list(other.value.roomUuid)).map((x) => x.path), ['a.txt', 'b.txt']);
    assert.equal(await files.get(room.roomUuid, f.value.id), undefined);
    assert.equal(await files.delete(room.roomUuid, f.value.id), false);
    const renamed = await files.rename(room.roomUuid, f.value.id, 'stolen.txt');
    assert.ok(!renamed.ok);
  });

  it('enforces the per-room file quota exactly, even under concurrency', async () => {
    const r = await rooms.create({ ownerId: owner.userId, name: null, isPrivate: true }, 100);
    assert.ok(r.ok);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        files.create({ roomUuid: r.value.roomUuid, path: `f${i}`, language: 'x', content: '', createdBy: owner.userId }, 4),
      ),
    );
    assert.equal(results.filter((x) => x.ok).length, 4);
    assert.ok(results.every((x) => x.ok || x.error.code === ErrorCode.TOO_MANY_FILES));
    assert.equal(await files.count(r.value.roomUuid), 4);
  });

  it('answers ROOM_NOT_FOUND when the room is gone', async () => {
    const r = await rooms.create({ ownerId: owner.userId, name: null, isPrivate: true }, 100);
    assert.ok(r.ok);
    await rooms.delete(r.value.roomUuid);
    const created = await files.create({ roomUuid: r.value.roomUuid, path: 'x', language: 'x', content: '', createdBy: owner.userId }, 4);
    assert.ok(!created.ok);
    assert.equal(created.error.code, ErrorCode.ROOM_NOT_FOUND);
  });
});
