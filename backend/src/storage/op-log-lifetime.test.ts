import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { forEachDatabase } from '../test-support/databases';
import { insertUser } from '../test-support/service-fixtures';
import type { AuthUser } from '../domain/tokens';
import { isForeignKeyViolation } from './database';
import { FilesRepo } from './files-repo';
import { migrateDownLast, migrateToLatest } from './migrations';
import { OpsRepo } from './ops-repo';
import { RoomsRepo, type RoomRecord } from './rooms-repo';
import { UsersRepo } from './users-repo';

// Since migration 002 the op log and the progress rows have no foreign keys: a file's deletion
// removes them through a trigger, and nothing writes them for a file that is gone.
forEachDatabase('storage: the op log lives and dies with its file', (ctx) => {
  let knex: Knex;
  let files: FilesRepo;
  let rooms: RoomsRepo;
  let owner: AuthUser;
  let room: RoomRecord;
  let n = 0;

  before(async () => {
    knex = ctx.current().db.knex;
    files = new FilesRepo(knex);
    rooms = new RoomsRepo(knex);
    owner = await insertUser(new UsersRepo(knex));
    room = await newRoom();
  });

  async function newRoom(): Promise<RoomRecord> {
    const created = await rooms.create({ ownerId: owner.userId, name: null, isPrivate: true }, 100);
    assert.ok(created.ok);
    return created.value;
  }

  /** A file of `inRoom` with two committed ops and a progress row, written as the group commit writes them. */
  async function fileWithLog(inRoom: RoomRecord): Promise<string> {
    const created = await files.create({ roomUuid: inRoom.roomUuid, path: `f${n++}.txt`, language: 'plaintext', content: '', createdBy: owner.userId }, 100);
    assert.ok(created.ok);
    const id = created.value.id;
    await knex('file_ops').insert([1, 2].map((version) => ({ file_id: id, version, op: JSON.stringify(['x']), author: owner.userId, client_id: 'c1', seq: version })));
    await knex('client_progress').insert({ file_id: id, client_id: 'c1', last_seq: 2, last_version: 2 });
    return id;
  }

  async function logRows(fileId: string): Promise<{ ops: number; progress: number }> {
    const [ops, progress] = await Promise.all([knex('file_ops').where('file_id', fileId).count<{ n: string }[]>({ n: '*' }), knex('client_progress').where('file_id', fileId).count<{ n: string }[]>({ n: '*' })]);
    return { ops: Number(ops[0]?.n), progress: Number(progress[0]?.n) };
  }

  it("deleting a file deletes its ops and progress rows, and nothing of another file's", async () => {
    const doomed = await fileWithLog(room);
    const kept = await fileWithLog(room);
    assert.ok(await files.delete(room.roomUuid, doomed));
    assert.deepEqual(await logRows(doomed), { ops: 0, progress: 0 });
    assert.deepEqual(await logRows(kept), { ops: 2, progress: 1 });
  });

  it('deleting a room deletes the op log of every one of its files', async () => {
    const other = await newRoom();
    const a = await fileWithLog(other);
    const b = await fileWithLog(other);
    assert.ok(await rooms.delete(other.roomUuid));
    assert.deepEqual([await logRows(a), await logRows(b)], [{ ops: 0, progress: 0 }, { ops: 0, progress: 0 }]);
  });

  it('a fence on a deleted file writes no progress row (none may outlive its file)', async () => {
    const gone = await fileWithLog(room);
    assert.ok(await files.delete(room.roomUuid, gone));
    const progress = await new OpsRepo(knex).fenceAndReadProgress(gone, 'c2', 5);
    assert.deepEqual(progress, { lastCommitted: undefined, fencedSeq: 0 });
    assert.deepEqual(await logRows(gone), { ops: 0, progress: 0 });
  });

  it('an op whose author is not a user is kept (authorship history), and the group commit finds a deleted file gone', async () => {
    const id = await fileWithLog(room);
    await knex('file_ops').insert({ file_id: id, version: 3, op: JSON.stringify(['y']), author: randomUUID(), client_id: 'c9', seq: 1 });
    assert.equal((await logRows(id)).ops, 3);
    assert.ok(await files.delete(room.roomUuid, id));
    const [attempt] = await new OpsRepo(knex).commitFiles([
      {
        fileId: id,
        roomUuid: room.roomUuid,
        head: 3,
        submitters: [{ userId: owner.userId, clientId: 'c1', seq: 3 }],
        absorb: () => undefined,
        decide: () => ({ kind: 'commit', version: 4, op: ['z'] }),
      },
    ]);
    assert.deepEqual(attempt, { kind: 'gone' });
    assert.deepEqual(await logRows(id), { ops: 0, progress: 0 });
  });

  it('migration 002 reverts (the foreign keys back, orphans refused) and applies again', async () => {
    await migrateDownLast(knex);
    try {
      await assert.rejects(
        knex('file_ops').insert({ file_id: randomUUID(), version: 1, op: JSON.stringify(['x']), client_id: 'c1', seq: 1 }),
        (err: unknown) => isForeignKeyViolation(err),
      );
    } finally {
      await migrateToLatest(knex);
    }
    const doomed = await fileWithLog(room);
    assert.ok(await files.delete(room.roomUuid, doomed));
    assert.deepEqual(await logRows(doomed), { ops: 0, progress: 0 });
  });
});
