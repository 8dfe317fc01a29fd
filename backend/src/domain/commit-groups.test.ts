/**
 * How CommitGroups forms group transactions: everything ready in one tick leaves together, no more
 * than `maxConcurrent` transactions are open, batches wait for a free slot and then leave together,
 * groups respect `maxSubmissions`, and a failed transaction rejects exactly its own batches.
 * (The transactions themselves are tested against real databases in file-sessions.test.ts.)
 */
import { strict as assert } from 'node:assert';
import type { CommitAttempt, CommitBatchArgs } from '../storage/ops-repo';
import { CommitGroups, type GroupCommitStore } from './commit-groups';

/** A store that records each group and finishes it when the test says so. */
class ControlledStore implements GroupCommitStore {
  readonly groups: string[][] = [];
  private readonly finishers: ((error?: Error) => void)[] = [];
  open = 0;
  maxOpen = 0;

  commitFiles(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
    this.groups.push(batches.map((b) => b.fileId));
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    return new Promise((resolve, reject) => {
      this.finishers.push((error) => {
        this.open--;
        if (error) reject(error);
        else resolve(batches.map((): CommitAttempt => ({ kind: 'done', results: [] })));
      });
    });
  }

  /** Finishes the oldest open transaction. */
  finish(error?: Error): void {
    const finisher = this.finishers.shift();
    assert.ok(finisher, 'no open transaction');
    finisher(error);
  }
}

function batch(fileId: string, submissions = 1): CommitBatchArgs {
  return {
    fileId,
    roomUuid: 'room',
    head: 0,
    submitters: Array.from({ length: submissions }, (_, i) => ({ userId: 'u', clientId: `${fileId}-${i}`, seq: 1 })),
    absorb: () => undefined,
    decide: () => ({ kind: 'reject', error: { code: 'INTERNAL', message: 'unused' } }) as never,
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('commit groups', () => {
  it('sends the batches ready in one tick as one group', async () => {
    const store = new ControlledStore();
    const groups = new CommitGroups(store, { maxConcurrent: 1 });
    const done = ['a', 'b', 'c'].map((f) => groups.commit(batch(f)));
    await tick();
    assert.deepEqual(store.groups, [['a', 'b', 'c']]);
    store.finish();
    assert.deepEqual((await Promise.all(done)).map((a) => a.kind), ['done', 'done', 'done']);
  });

  it('keeps at most maxConcurrent transactions open; what arrives meanwhile leaves together in the next free slot', async () => {
    const store = new ControlledStore();
    const groups = new CommitGroups(store, { maxConcurrent: 2 });
    const all: Promise<CommitAttempt>[] = [groups.commit(batch('a'))];
    await tick();
    all.push(groups.commit(batch('b')));
    await tick();
    assert.deepEqual(store.groups, [['a'], ['b']]);
    // Both slots busy: these wait, whatever the number of ticks.
    for (const f of ['c', 'd', 'e']) {
      all.push(groups.commit(batch(f)));
      await tick();
    }
    assert.equal(store.groups.length, 2);
    assert.equal(groups.pending, 3);
    store.finish();
    await tick();
    await tick();
    assert.deepEqual(store.groups, [['a'], ['b'], ['c', 'd', 'e']]);
    store.finish();
    store.finish();
    await Promise.all(all);
    assert.equal(store.maxOpen, 2);
  });

  it('opens a second group beside a young one only after overlapAfterMs; a group that returns sooner takes what waited', async () => {
    let now = 1000;
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    const store = new ControlledStore();
    const groups = new CommitGroups(store, { maxConcurrent: 2, overlapAfterMs: 20, now: () => now });
    const all: Promise<CommitAttempt>[] = [groups.commit(batch('a'))];
    await tick();
    all.push(groups.commit(batch('b')), groups.commit(batch('c')));
    await sleep(5);
    assert.deepEqual(store.groups, [['a']], 'a is young: b and c wait for it');
    // a returns before the delay: b and c leave together, as with one slot.
    store.finish();
    await tick();
    await tick();
    assert.deepEqual(store.groups, [['a'], ['b', 'c']]);
    // b+c is out; d arrives and waits until b+c has been out 20 ms by the clock, then overlaps it.
    all.push(groups.commit(batch('d')));
    await sleep(30);
    assert.deepEqual(store.groups.length, 2, 'the clock has not moved: still waiting');
    now += 20;
    await sleep(30);
    assert.deepEqual(store.groups, [['a'], ['b', 'c'], ['d']]);
    assert.equal(store.open, 2, 'd overlaps the slow group');
    store.finish();
    store.finish();
    await Promise.all(all);
  });

  it('caps a group at maxSubmissions over all its files, but never splits a batch', async () => {
    const store = new ControlledStore();
    const groups = new CommitGroups(store, { maxConcurrent: 1, maxSubmissions: 5 });
    const all = [groups.commit(batch('a', 3)), groups.commit(batch('b', 2)), groups.commit(batch('c', 1)), groups.commit(batch('d', 9))];
    for (let i = 0; i < 3; i++) {
      // One tick for the finished group's slot to be released, one for the next group to leave.
      await tick();
      await tick();
      store.finish();
    }
    await Promise.all(all);
    assert.deepEqual(store.groups, [['a', 'b'], ['c'], ['d']]);
  });

  it('a failed transaction rejects its own batches only; the next group is unaffected', async () => {
    const store = new ControlledStore();
    const groups = new CommitGroups(store, { maxConcurrent: 1 });
    const failed = [groups.commit(batch('a')), groups.commit(batch('b'))];
    await tick();
    const later = groups.commit(batch('c'));
    store.finish(new Error('connection lost'));
    for (const p of failed) await assert.rejects(p, /connection lost/);
    await tick();
    store.finish();
    assert.equal((await later).kind, 'done');
    assert.deepEqual(store.groups, [['a', 'b'], ['c']]);
  });
});
