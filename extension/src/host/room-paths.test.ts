import { strict as assert } from 'node:assert';
import { folderRelative, localPathFor, roomPathFor } from './room-paths';

describe('host room paths', () => {
  const one = [{ name: 'proj', path: '/home/me/proj' }];
  const two = [
    { name: 'app', path: '/w/app' },
    { name: 'lib', path: '/w/app/lib' },
  ];

  it('uses the path relative to the single folder', () => {
    assert.equal(roomPathFor(one, '/home/me/proj/src/a.ts'), 'src/a.ts');
    assert.equal(localPathFor(one, 'src/a.ts'), '/home/me/proj/src/a.ts');
  });

  it('prefixes the folder name in multi-root workspaces, choosing the deepest folder', () => {
    assert.equal(roomPathFor(two, '/w/app/main.ts'), 'app/main.ts');
    assert.equal(roomPathFor(two, '/w/app/lib/x.ts'), 'lib/x.ts');
    assert.equal(localPathFor(two, 'lib/x.ts'), '/w/app/lib/x.ts');
    assert.equal(localPathFor(two, 'other/x.ts'), undefined);
    assert.equal(folderRelative(two, 'lib/x.ts'), 'x.ts');
  });

  it('uses the file name outside every folder', () => {
    assert.equal(roomPathFor(one, '/tmp/notes.md'), 'notes.md');
    assert.equal(roomPathFor([], '/tmp/notes.md'), 'notes.md');
    assert.equal(roomPathFor(one, '/home/me/project2/a.ts'), 'a.ts', 'a sibling folder with a common prefix is outside');
  });
});
