import { strict as assert } from 'node:assert';
import { collabPath, parseCollabPath } from './collab-path';
import { VirtualTree } from './virtual-tree';

const ROOM = 'AbCdEfGhIjKlMnOpQrStUv';

describe('guest file tree', () => {
  it('maps collab: URI paths both ways', () => {
    assert.equal(collabPath(ROOM), `/${ROOM}`);
    assert.equal(collabPath(ROOM, 'src/a.ts'), `/${ROOM}/src/a.ts`);
    assert.deepEqual(parseCollabPath(`/${ROOM}/src/a.ts`), { roomId: ROOM, filePath: 'src/a.ts' });
    assert.deepEqual(parseCollabPath(`/${ROOM}`), { roomId: ROOM, filePath: '' });
    assert.deepEqual(parseCollabPath(`/${ROOM}/`), { roomId: ROOM, filePath: '' });
    assert.equal(parseCollabPath('/short/a'), undefined);
    assert.equal(parseCollabPath(`/${ROOM}/../x`), undefined);
  });

  it('derives folders from file paths', () => {
    const tree = new VirtualTree();
    tree.setFiles(['README.md', 'src/a.ts', 'src/lib/b.ts']);
    assert.equal(tree.kindOf(''), 'directory');
    assert.equal(tree.kindOf('src'), 'directory');
    assert.equal(tree.kindOf('src/lib'), 'directory');
    assert.equal(tree.kindOf('src/a.ts'), 'file');
    assert.equal(tree.kindOf('sr'), undefined);
    assert.deepEqual(tree.list(''), [['README.md', 'file'], ['src', 'directory']]);
    assert.deepEqual(tree.list('src'), [['a.ts', 'file'], ['lib', 'directory']]);
    assert.deepEqual(tree.filesUnder('src').sort(), ['src/a.ts', 'src/lib/b.ts']);
  });

  it('keeps empty local folders until removed or renamed', () => {
    const tree = new VirtualTree();
    tree.addDirectory('new/deep');
    assert.equal(tree.kindOf('new'), 'directory');
    assert.equal(tree.kindOf('new/deep'), 'directory');
    assert.deepEqual(tree.list(''), [['new', 'directory']]);
    tree.renameDirectory('new', 'old');
    assert.equal(tree.kindOf('new'), undefined);
    assert.equal(tree.kindOf('old/deep'), 'directory');
    tree.removeDirectory('old');
    assert.equal(tree.kindOf('old'), undefined);
  });

  it('follows file additions and removals', () => {
    const tree = new VirtualTree();
    tree.addFile('a/b.txt');
    assert.equal(tree.kindOf('a'), 'directory');
    tree.removeFile('a/b.txt');
    assert.equal(tree.kindOf('a'), undefined);
  });
});
