import { strict as assert } from 'node:assert';
import { COLOR_PATTERN, ErrorCode } from '@collab/protocol';
import { PARTICIPANT_COLORS, participantColor } from './colors';
import { canEdit, canManage, requireRole } from './permissions';

describe('domain: permissions', () => {
  it('lets owners and editors edit, not viewers', () => {
    assert.equal(canEdit('owner'), true);
    assert.equal(canEdit('editor'), true);
    assert.equal(canEdit('viewer'), false);
  });

  it('lets only the owner manage', () => {
    assert.equal(canManage('owner'), true);
    assert.equal(canManage('editor'), false);
    assert.equal(canManage('viewer'), false);
  });

  it('requireRole orders viewer < editor < owner and refuses with FORBIDDEN', () => {
    assert.deepEqual(requireRole('editor', 'viewer'), { ok: true, value: 'editor' });
    assert.deepEqual(requireRole('owner', 'editor'), { ok: true, value: 'owner' });
    const viewer = requireRole('viewer', 'editor');
    assert.ok(!viewer.ok);
    assert.equal(viewer.error.code, ErrorCode.FORBIDDEN);
    const editor = requireRole('editor', 'owner');
    assert.ok(!editor.ok);
    assert.match(editor.error.message, /only the owner/);
  });
});

describe('domain: participant colours', () => {
  it('has twelve distinct colours that the protocol accepts', () => {
    assert.equal(PARTICIPANT_COLORS.length, 12);
    assert.equal(new Set(PARTICIPANT_COLORS).size, 12);
    for (const c of PARTICIPANT_COLORS) assert.match(c, COLOR_PATTERN);
  });

  it('is stable per (room, user) and spreads users over the palette', () => {
    assert.equal(participantColor('room-a', 'user-1'), participantColor('room-a', 'user-1'));
    const used = new Set(Array.from({ length: 200 }, (_, i) => participantColor('room-a', `user-${i}`)));
    assert.equal(used.size, 12);
    const perRoom = new Set(Array.from({ length: 50 }, (_, i) => participantColor(`room-${i}`, 'user-1')));
    assert.ok(perRoom.size > 1, 'the same user gets different colours in different rooms');
  });
});
