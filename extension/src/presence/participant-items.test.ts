import { strict as assert } from 'node:assert';
import type { FileInfo, Participant } from '@collab/protocol';
import { participantItems } from './participant-items';

const p = (userId: string, role: Participant['role'], activeFileId: string | null = null, online = true): Participant => ({ userId, username: userId, role, color: '#123456', activeFileId, online });

describe('participant items', () => {
  it('describes role, online state and file, with context values for the menus', () => {
    const files = [{ id: 'f1', path: 'src/a.ts' } as unknown as FileInfo];
    const people = [p('own', 'owner', 'f1'), p('ed', 'editor', null, false), p('vi', 'viewer', 'f1')];
    const asOwner = participantItems(people, files, 'own', 'owner', 'vi');
    assert.deepEqual(
      asOwner.map((i) => [i.label, i.description, i.contextValue]),
      [
        ['own (you)', 'owner · a.ts', 'participant;self'],
        ['ed', 'editor · offline', 'participant;other;manageable'],
        ['vi', 'viewer · a.ts · following', 'participant;other;followable;followed;manageable'],
      ],
    );
    const asViewer = participantItems(people, files, 'vi', 'viewer', undefined);
    assert.equal(asViewer[0]!.contextValue, 'participant;other;followable');
    assert.match(asViewer[0]!.tooltip, /in src\/a\.ts/);
  });
});
