/**
 * What a node remembers for one-round-trip commits: when it predicts, what, and what it forgets.
 * (The database's check of the predictions is tested against real databases in file-sessions.test.ts.)
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import type { CommitBatchArgs, CommitReads, PlannedRow } from './commit-plan';
import { CommitPredictions } from './commit-predictions';

const room = randomUUID();
const user = randomUUID();

function batch(fileId: string, clients: readonly string[], head = 0): CommitBatchArgs {
  return {
    fileId,
    roomUuid: room,
    head,
    submitters: clients.map((clientId, i) => ({ userId: user, clientId, seq: i + 1 })),
    absorb: () => undefined,
    decide: () => {
      throw new Error('nothing is decided here');
    },
  };
}

function reads(partial: Partial<CommitReads>): CommitReads {
  return { locked: new Set(), progress: [], roles: [], newer: [], ...partial };
}

function row(fileId: string, clientId: string, seq: number, version: number): PlannedRow {
  return { fileId, clientId, seq, version, userId: user, op: ['x'] };
}

describe('CommitPredictions', () => {
  const file = randomUUID();

  it('predicts nothing until every progress row and role of the group has been read', () => {
    const p = new CommitPredictions();
    const b = batch(file, ['c1', 'c2']);
    assert.equal(p.predict([b]), undefined);
    // Read under lock: c1 has a row, c2 none; the user is an editor.
    p.learnReads([b], reads({ locked: new Set([file]), progress: [{ file_id: file, client_id: 'c1', last_seq: '7', last_version: 12, fenced_seq: '3' }], roles: [{ room_id: room, user_id: user, role: 'editor' }] }));
    const predicted = p.predict([b]);
    assert.ok(predicted);
    assert.deepEqual(predicted.progress, [
      { fileId: file, clientId: 'c1', fact: { lastSeq: 7, lastVersion: 12, fencedSeq: 3 } },
      { fileId: file, clientId: 'c2', fact: null },
    ]);
    assert.deepEqual(predicted.roles, [{ fileId: file, roomUuid: room, userId: user, role: 'editor' }]);
    // The reads to decide on: every file live, nothing past the head, only rows that exist.
    assert.deepEqual([...predicted.reads.locked], [file]);
    assert.deepEqual(predicted.reads.newer, []);
    assert.deepEqual(predicted.reads.progress, [{ file_id: file, client_id: 'c1', last_seq: 7, last_version: 12, fenced_seq: 3 }]);
    // A client not read yet spoils the whole group.
    assert.equal(p.predict([batch(file, ['c1', 'c3'])]), undefined);
  });

  it('remembers "not a participant" as a prediction too', () => {
    const p = new CommitPredictions();
    const b = batch(file, ['c1']);
    p.learnReads([b], reads({ locked: new Set([file]) }));
    assert.deepEqual(p.predict([b])?.roles, [{ fileId: file, roomUuid: room, userId: user, role: null }]);
    assert.deepEqual(p.predict([b])?.reads.roles, []);
  });

  it('advances progress by what a committed group wrote, keeping the fence it read', () => {
    const p = new CommitPredictions();
    const b = batch(file, ['c1', 'c2']);
    p.learnReads([b], reads({ progress: [{ file_id: file, client_id: 'c1', last_seq: 1, last_version: 1, fenced_seq: 5 }] }));
    p.learnCommitted([row(file, 'c1', 6, 9), row(file, 'c2', 1, 10), row(file, 'c9', 1, 11)]);
    assert.deepEqual(p.predict([b])?.progress.map((x) => x.fact), [
      { lastSeq: 6, lastVersion: 9, fencedSeq: 5 },
      { lastSeq: 1, lastVersion: 10, fencedSeq: 0 },
    ]);
    // c9 was never read, so its fence is unknown: not remembered.
    assert.equal(p.size.progress, 2);
  });

  it('a file with ops past the head, or a wrong prediction, is not predicted for a while', () => {
    let now = 1000;
    const p = new CommitPredictions({ sharedForMs: 500, now: () => now });
    const b = batch(file, ['c1']);
    const other = randomUUID();
    const ob = batch(other, ['c1']);
    p.learnReads([b, ob], reads({ newer: [{ file_id: file, version: 1, op: ['y'], author: null, client_id: 'z', seq: 1, created_at: new Date() }] }));
    assert.equal(p.predict([b]), undefined);
    assert.ok(p.predict([ob]), 'the other file is predicted');
    assert.equal(p.predict([b, ob]), undefined, 'a group with a shared file is not');
    now += 501;
    assert.ok(p.predict([b]));
    p.mispredicted(b);
    assert.equal(p.predict([b]), undefined);
    now += 1000;
    assert.equal(p.predict([b]), undefined, 'and what it relied on is forgotten');
  });

  it('forgets a fenced client, and the oldest entries beyond its capacity', () => {
    const p = new CommitPredictions({ capacity: 3 });
    const clients = ['c1', 'c2', 'c3', 'c4'];
    p.learnReads([batch(file, clients)], reads({}));
    assert.equal(p.size.progress, 3);
    assert.equal(p.predict([batch(file, ['c1'])]), undefined, 'c1 was the oldest');
    assert.ok(p.predict([batch(file, ['c4'])]));
    p.forgetProgress(file, 'c4');
    assert.equal(p.predict([batch(file, ['c4'])]), undefined);
  });
});
