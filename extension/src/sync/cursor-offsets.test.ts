import { strict as assert } from 'node:assert';
import { createSyncState } from '@collab/protocol';
import { DocumentBinding } from '../binding/document-binding';
import { rangeToServer, selectionsFromServer, selectionsToServer } from './cursor-offsets';

const pos = (line: number, character: number) => ({ line, character });

describe('cursor offsets', () => {
  it('maps carets straight through when nothing is pending', () => {
    const b = new DocumentBinding(createSyncState('Axxxxxxxxxxxxxxx', 4, 'ab\ncd'), '\r\n');
    assert.deepEqual(selectionsToServer(b, [{ anchor: pos(1, 1), head: pos(1, 1) }, { anchor: pos(0, 0), head: pos(1, 2) }]), [
      { anchor: 4, head: 4 },
      { anchor: 0, head: 5 },
    ]);
    assert.deepEqual(rangeToServer(b, { start: pos(1, 0), end: pos(0, 1) }), { start: 1, end: 3 });
  });

  it('maps through remote ops the editor does not show yet', () => {
    const b = new DocumentBinding(createSyncState('Axxxxxxxxxxxxxxx', 0, 'abc'), '\n');
    b.onSyncEvent({ type: 'remote', op: { version: 1, op: ['XY', 3], clientId: 'B', seq: 1 } });
    assert.equal(b.editorText, 'abc');
    // Caret after "a" in the editor is after "XYa" on the server (version 1).
    assert.deepEqual(selectionsToServer(b, [{ anchor: pos(0, 1), head: pos(0, 1) }]), [{ anchor: 3, head: 3 }]);
    assert.equal(b.state.version, 1);
  });

  it('maps through the inverse of our unacknowledged edits', () => {
    const b = new DocumentBinding(createSyncState('Axxxxxxxxxxxxxxx', 0, 'abc'), '\n');
    b.onEditorChange([{ range: { start: pos(0, 0), end: pos(0, 0) }, text: 'zz' }]);
    assert.equal(b.modelText, 'zzabc');
    // Caret after "zza" locally: "a" is the server's offset 1.
    assert.deepEqual(selectionsToServer(b, [{ anchor: pos(0, 3), head: pos(0, 3) }]), [{ anchor: 1, head: 1 }]);
    // Inside our own insert: collapses to where it was inserted.
    assert.deepEqual(selectionsToServer(b, [{ anchor: pos(0, 1), head: pos(0, 1) }]), [{ anchor: 0, head: 0 }]);
  });

  it('maps a remote cursor at our version back to editor positions', () => {
    const b = new DocumentBinding(createSyncState('Axxxxxxxxxxxxxxx', 2, 'one\ntwo'), '\n');
    assert.deepEqual(selectionsFromServer(b, 2, [{ anchor: 4, head: 7 }]), [{ anchor: pos(1, 0), head: pos(1, 3) }]);
    assert.equal(selectionsFromServer(b, 1, [{ anchor: 0, head: 0 }]), undefined, 'another version');
    b.onEditorChange([{ range: { start: pos(0, 0), end: pos(0, 0) }, text: '>' }]);
    assert.deepEqual(selectionsFromServer(b, 2, [{ anchor: 4, head: 4 }]), [{ anchor: pos(1, 0), head: pos(1, 0) }]);
    b.onSyncEvent({ type: 'remote', op: { version: 3, op: [7, '!'], clientId: 'B', seq: 1 } });
    assert.deepEqual(selectionsFromServer(b, 3, [{ anchor: 8, head: 8 }]), [{ anchor: pos(1, 3), head: pos(1, 3) }], 'clamped to what the editor shows');
  });
});
