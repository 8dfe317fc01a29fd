import { strict as assert } from 'node:assert';
import { ErrorCode, type Result } from '@collab/protocol';
import { forEachDatabase } from '../test-support/databases';
import { insertUser, wireServices, type Services } from '../test-support/service-fixtures';
import type { AuthUser } from './tokens';

function codeOf(r: Result<unknown>): string {
  return r.ok ? 'ok' : r.error.code;
}

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`expected success, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

forEachDatabase('domain: FileService', (ctx) => {
  let s: Services;
  let owner: AuthUser;
  let editor: AuthUser;
  let viewer: AuthUser;
  let stranger: AuthUser;
  let roomId: string;

  before(async () => {
    s = wireServices(ctx.current().db, { limits: { maxOpInsertLength: 1000, maxFilesPerRoom: 50, maxPathLength: 64 } });
    [owner, editor, viewer, stranger] = await Promise.all([insertUser(s.users), insertUser(s.users), insertUser(s.users), insertUser(s.users)]);
    roomId = value(await s.rooms.create(owner)).roomId;
    value(await s.rooms.invite(roomId, owner, editor.username, 'editor'));
    value(await s.rooms.invite(roomId, owner, viewer.username, 'viewer'));
  });

  beforeEach(() => s.recorder.clear());

  it('lets an editor create a file with a normalised path at version 0, emitting fileCreated', async () => {
    const file = value(await s.files.create(roomId, editor, { path: './src//main.ts/', language: 'typescript', content: 'let x = 1;\n' }));
    assert.equal(file.path, 'src/main.ts');
    assert.equal(file.version, 0);
    assert.equal(file.language, 'typescript');
    assert.deepEqual(s.recorder.of('fileCreated'), [{ roomId, file }]);
    assert.deepEqual(value(await s.files.get(roomId, viewer, file.id)), file);
  });

  it('refuses viewers and non-participants', async () => {
    assert.equal(codeOf(await s.files.create(roomId, viewer, { path: 'v.txt', language: 'plaintext', content: '' })), ErrorCode.FORBIDDEN);
    assert.equal(codeOf(await s.files.create(roomId, stranger, { path: 's.txt', language: 'plaintext', content: '' })), ErrorCode.ROOM_NOT_FOUND);
    const file = value(await s.files.create(roomId, owner, { path: 'protected.txt', language: 'plaintext', content: '' }));
    assert.equal(codeOf(await s.files.rename(roomId, viewer, file.id, 'moved.txt')), ErrorCode.FORBIDDEN);
    assert.equal(codeOf(await s.files.delete(roomId, viewer, file.id)), ErrorCode.FORBIDDEN);
    assert.equal(codeOf(await s.files.list(roomId, stranger)), ErrorCode.ROOM_NOT_FOUND);
    assert.equal(codeOf(await s.files.get(roomId, stranger, file.id)), ErrorCode.ROOM_NOT_FOUND);
    assert.deepEqual(s.recorder.names(), ['fileCreated']);
  });

  for (const path of ['../x', '/etc/passwd', 'a/../../b', 'a\u0000b', 'C:/Windows/win.ini', 'a\\b', '', '.', 'x'.repeat(65)]) {
    it(`refuses the path ${JSON.stringify(path.length > 20 ? `${path.slice(0, 8)}…` : path)} with INVALID_PATH`, async () => {
      assert.equal(codeOf(await s.files.create(roomId, editor, { path, language: 'plaintext', content: '' })), ErrorCode.INVALID_PATH);
    });
  }

  it('refuses bad content and language ids', async () => {
    const create = (content: string, language = 'plaintext') => s.files.create(roomId, editor, { path: `c-${Math.random()}.txt`, language, content });
    assert.equal(codeOf(await create('a\r\nb')), ErrorCode.INVALID_TEXT);
    assert.equal(codeOf(await create('lone \ud800 surrogate')), ErrorCode.INVALID_TEXT);
    assert.equal(codeOf(await create('x'.repeat(1001))), ErrorCode.OP_TOO_LARGE);
    assert.ok((await create('x'.repeat(1000))).ok);
    assert.equal(codeOf(await create('', 'not a language')), ErrorCode.INVALID_MESSAGE);
    assert.equal(codeOf(await create('', '')), ErrorCode.INVALID_MESSAGE);
  });

  it('refuses a taken path with PATH_TAKEN, also after normalisation', async () => {
    value(await s.files.create(roomId, editor, { path: 'docs/readme.md', language: 'markdown', content: '# hi\n' }));
    assert.equal(codeOf(await s.files.create(roomId, owner, { path: './docs//readme.md', language: 'markdown', content: '' })), ErrorCode.PATH_TAKEN);
  });

  it('renames (emitting fileRenamed only on change) and deletes (emitting fileDeleted)', async () => {
    const file = value(await s.files.create(roomId, editor, { path: 'old/name.txt', language: 'plaintext', content: 'x' }));
    s.recorder.clear();
    const renamed = value(await s.files.rename(roomId, editor, file.id, 'new/name.txt'));
    assert.deepEqual(renamed, { ...file, path: 'new/name.txt' });
    assert.deepEqual(s.recorder.of('fileRenamed'), [{ roomId, file: renamed }]);
    s.recorder.clear();
    assert.deepEqual(value(await s.files.rename(roomId, editor, file.id, './new/name.txt')), renamed);
    assert.deepEqual(s.recorder.names(), []);
    assert.equal(codeOf(await s.files.rename(roomId, editor, file.id, '../escape')), ErrorCode.INVALID_PATH);
    assert.equal(codeOf(await s.files.rename(roomId, editor, file.id, 'docs/readme.md')), ErrorCode.PATH_TAKEN);

    value(await s.files.delete(roomId, owner, file.id));
    assert.deepEqual(s.recorder.of('fileDeleted'), [{ roomId, fileId: file.id }]);
    assert.equal(codeOf(await s.files.get(roomId, editor, file.id)), ErrorCode.FILE_NOT_FOUND);
    assert.equal(codeOf(await s.files.delete(roomId, owner, file.id)), ErrorCode.FILE_NOT_FOUND);
    assert.equal(codeOf(await s.files.rename(roomId, owner, file.id, 'again.txt')), ErrorCode.FILE_NOT_FOUND);
    assert.equal(codeOf(await s.files.get(roomId, owner, 'not-a-uuid')), ErrorCode.FILE_NOT_FOUND);
  });

  it('lists files by path for any participant', async () => {
    const list = value(await s.files.list(roomId, viewer));
    const paths = list.map((f) => f.path);
    assert.deepEqual(paths, [...paths].sort());
    assert.ok(paths.includes('src/main.ts'));
  });

  it('refuses files beyond maxFilesPerRoom with TOO_MANY_FILES', async () => {
    const small = wireServices(ctx.current().db, { limits: { maxFilesPerRoom: 2 } });
    const room = value(await small.rooms.create(owner)).roomId;
    value(await small.files.create(room, owner, { path: 'a', language: 'x', content: '' }));
    value(await small.files.create(room, owner, { path: 'b', language: 'x', content: '' }));
    assert.equal(codeOf(await small.files.create(room, owner, { path: 'c', language: 'x', content: '' })), ErrorCode.TOO_MANY_FILES);
  });

  it('reports the live head version when a lookup is supplied', async () => {
    let fileId = '';
    const withHead = wireServices(ctx.current().db, { headVersion: (id) => (id === fileId ? 42 : undefined) });
    const file = value(await withHead.files.create(roomId, owner, { path: 'head.txt', language: 'x', content: '' }));
    assert.equal(file.version, 0, 'a new file is at version 0');
    fileId = file.id;
    assert.equal(value(await withHead.files.get(roomId, owner, file.id)).version, 42);
    const listed = value(await withHead.files.list(roomId, owner));
    assert.equal(listed.find((f) => f.id === file.id)?.version, 42);
    assert.ok(listed.filter((f) => f.id !== file.id).every((f) => f.version === 0));
  });

  it('a viewer promoted to editor can create files at once; demoted, cannot', async () => {
    value(await s.rooms.setRole(roomId, owner, viewer.userId, 'editor'));
    value(await s.files.create(roomId, viewer, { path: 'promoted.txt', language: 'x', content: '' }));
    value(await s.rooms.setRole(roomId, owner, viewer.userId, 'viewer'));
    assert.equal(codeOf(await s.files.create(roomId, viewer, { path: 'demoted.txt', language: 'x', content: '' })), ErrorCode.FORBIDDEN);
  });
});
