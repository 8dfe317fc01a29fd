import { strict as assert } from 'node:assert';
import { DEFAULT_LIMITS, type Participant, type RoomJoinReply } from '@collab/protocol';
import { RoomState } from './room-state';
import { isAuthError, safeLanguage } from './collab-session';

const ROOM = { roomId: 'R'.repeat(22), ownerId: 'own', isPrivate: true, createdAt: '2025-01-01T00:00:00.000Z' };
const owner: Participant = { userId: 'own', username: 'olga', role: 'owner', color: '#111', activeFileId: null, online: true };
const me: Participant = { userId: 'me', username: 'mia', role: 'editor', color: '#222', activeFileId: null, online: true };
const bob: Participant = { userId: 'bob', username: 'bob', role: 'viewer', color: '#333', activeFileId: null, online: false };

function reply(overrides: Partial<RoomJoinReply> = {}): RoomJoinReply {
  return {
    room: ROOM,
    you: me,
    participants: [owner, me, bob],
    files: [{ id: 'f1', path: 'a.ts', language: 'typescript', version: 3 }],
    limits: DEFAULT_LIMITS,
    ...overrides,
  };
}

describe('room state', () => {
  it('starts from the join reply', () => {
    const s = new RoomState(reply());
    assert.equal(s.roomId, ROOM.roomId);
    assert.equal(s.role, 'editor');
    assert.ok(s.canEdit);
    assert.deepEqual(s.participants.map((p) => p.username), ['olga', 'bob', 'mia']);
    assert.equal(s.onlineCount, 2);
    assert.equal(s.participantCount, 3);
    assert.equal(s.fileByPath('a.ts')?.id, 'f1');
  });

  it('applies participant events idempotently', () => {
    const s = new RoomState(reply());
    assert.ok(s.upsertParticipant({ ...bob, online: true }));
    assert.ok(!s.upsertParticipant({ ...bob, online: true }), 'a repeat changes nothing');
    assert.equal(s.onlineCount, 3);
    assert.ok(s.removeParticipant('bob'));
    assert.ok(!s.removeParticipant('bob'));
    assert.ok(s.upsertParticipant({ ...me, role: 'viewer' }));
    assert.equal(s.role, 'viewer', 'an update of ourselves updates our role');
  });

  it('changes our own role', () => {
    const s = new RoomState(reply());
    assert.ok(s.setOwnRole('viewer'));
    assert.ok(!s.canEdit);
    assert.equal(s.participant('me')?.role, 'viewer');
    assert.ok(!s.setOwnRole('viewer'));
  });

  it('applies file events, ignoring repeats', () => {
    const s = new RoomState(reply());
    const created = s.fileCreated({ id: 'f2', path: 'b.ts', language: 'typescript', version: 0 });
    assert.equal(created?.kind, 'created');
    assert.equal(s.fileCreated({ id: 'f2', path: 'b.ts', language: 'typescript', version: 0 }), undefined);
    const renamed = s.fileRenamed({ id: 'f2', path: 'c.ts', language: 'typescript', version: 0 });
    assert.deepEqual(renamed && renamed.kind === 'renamed' ? [renamed.oldPath, renamed.file.path] : [], ['b.ts', 'c.ts']);
    assert.equal(s.fileRenamed({ id: 'f2', path: 'c.ts', language: 'typescript', version: 0 }), undefined);
    assert.equal(s.fileDeleted('f2')?.kind, 'deleted');
    assert.equal(s.fileDeleted('f2'), undefined);
    assert.deepEqual(s.files.map((f) => f.path), ['a.ts']);
  });

  it('diffs a re-join against what it knew', () => {
    const s = new RoomState(reply());
    const diff = s.rejoined(
      reply({
        you: { ...me, role: 'viewer' },
        participants: [owner, { ...me, role: 'viewer' }],
        files: [
          { id: 'f1', path: 'moved.ts', language: 'typescript', version: 9 },
          { id: 'f3', path: 'new.ts', language: 'typescript', version: 0 },
        ],
      }),
    );
    assert.ok(diff.roleChanged && diff.participantsChanged);
    assert.deepEqual(
      diff.fileChanges.map((c) => `${c.kind}:${c.file.path}`),
      ['renamed:moved.ts', 'created:new.ts'],
    );
    assert.equal(s.file('f1')?.version, 9);
    const again = s.rejoined(reply({ you: { ...me, role: 'viewer' }, participants: [owner, { ...me, role: 'viewer' }], files: [] }));
    assert.deepEqual(again.fileChanges.map((c) => `${c.kind}:${c.file.path}`), ['deleted:moved.ts', 'deleted:new.ts']);
    assert.ok(!again.roleChanged && !again.participantsChanged);
  });
});

describe('session helpers', () => {
  it('keeps language ids the server accepts', () => {
    assert.equal(safeLanguage('typescript'), 'typescript');
    assert.equal(safeLanguage('c++'), 'c++');
    assert.equal(safeLanguage('has space'), 'plaintext');
    assert.equal(safeLanguage(''), 'plaintext');
    assert.ok(isAuthError({ code: 'TOKEN_EXPIRED', message: '' }) && isAuthError({ code: 'UNAUTHENTICATED', message: '' }));
    assert.ok(!isAuthError({ code: 'FORBIDDEN', message: '' }) && !isAuthError(undefined));
  });
});
