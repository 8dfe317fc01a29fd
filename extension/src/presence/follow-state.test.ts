import { strict as assert } from 'node:assert';
import type { Participant, RemoteCursor } from '@collab/protocol';
import { followHint, followPlan, FollowState } from './follow-state';

const p = (userId: string, role: Participant['role'], activeFileId: string | null = null, online = true): Participant => ({ userId, username: userId.toUpperCase(), role, color: '#123456', activeFileId, online });

describe('follow state', () => {
  it('starts and stops by hand; never follows ourselves', () => {
    const s = new FollowState();
    assert.equal(s.start('me', 'me'), false);
    assert.equal(s.following, undefined);
    assert.equal(s.start('bob', 'me'), true);
    assert.equal(s.following, 'bob');
    assert.equal(s.stop('user'), true);
    assert.equal(s.stop('user'), false);
  });

  it('stops when we type or switch to another file, not when it opens their file', () => {
    const s = new FollowState();
    s.start('bob', 'me');
    s.willOpen('f1');
    assert.equal(s.activeFileChanged(undefined, 'f1'), false, 'the old editor closing');
    assert.equal(s.activeFileChanged('f1', 'f1'), false);
    assert.equal(s.activeFileChanged('f1', 'f1'), false);
    assert.equal(s.activeFileChanged('f2', 'f1'), true);
    assert.equal(s.following, undefined);
    s.start('bob', 'me');
    assert.equal(s.typed(), true);
    assert.equal(s.following, undefined);
  });

  it('stops when the followed participant leaves or goes offline', () => {
    const s = new FollowState();
    s.start('bob', 'me');
    assert.equal(s.participantsChanged([p('me', 'owner'), p('bob', 'editor')]), false);
    assert.equal(s.participantsChanged([p('me', 'owner'), p('bob', 'editor', null, false)]), true);
    s.start('bob', 'me');
    assert.equal(s.participantsChanged([p('me', 'owner')]), true);
  });

  it('viewers follow the owner by default until they stop by hand', () => {
    const s = new FollowState();
    const room = [p('own', 'owner'), p('me', 'viewer')];
    assert.equal(s.autoTarget('viewer', false, room, 'me'), undefined, 'setting off');
    assert.equal(s.autoTarget('editor', true, room, 'me'), undefined, 'editors do not');
    assert.equal(s.autoTarget('viewer', true, room, 'me'), 'own');
    s.start('own', 'me', true);
    assert.equal(s.automatic, true);
    assert.equal(s.autoTarget('viewer', true, room, 'me'), undefined, 'already following');
    s.typed();
    assert.equal(s.autoTarget('viewer', true, room, 'me'), undefined, 'opted out');
    s.roleChanged('editor');
    assert.equal(s.autoTarget('viewer', true, room, 'me'), 'own', 'a new demotion resets');
    s.start('own', 'me', true);
    s.stop('left');
    assert.equal(s.autoTarget('viewer', true, room, 'me'), 'own', 'the owner coming back is followed again');
    assert.equal(s.autoTarget('viewer', true, [p('own', 'owner', null, false), p('me', 'viewer')], 'me'), undefined, 'offline owner');
  });

  it('plans the file to open and the range to reveal', () => {
    const cursors: RemoteCursor[] = [
      { fileId: 'f1', userId: 'bob', clientId: 'B', version: 3, selections: [{ anchor: 9, head: 4 }] },
      { fileId: 'f1', userId: 'eve', clientId: 'E', version: 3, selections: [{ anchor: 0, head: 0 }], visible: { start: 0, end: 1 } },
    ];
    assert.equal(followPlan(p('bob', 'editor'), 'f1', cursors), undefined, 'no active file');
    assert.deepEqual(followPlan(p('bob', 'editor', 'f1'), 'f2', cursors), { fileId: 'f1', open: true, reveal: { kind: 'caret', version: 3, start: 4, end: 9 } });
    const withVisible = [{ ...cursors[0]!, visible: { start: 100, end: 300 } }];
    assert.deepEqual(followPlan(p('bob', 'editor', 'f1'), 'f1', withVisible), { fileId: 'f1', open: false, reveal: { kind: 'visible', version: 3, start: 100, end: 300 } });
    assert.deepEqual(followPlan(p('bob', 'editor', 'f9'), 'f1', cursors), { fileId: 'f9', open: true });
    assert.equal(followHint('Bob', false), '$(eye) Following Bob');
  });
});
