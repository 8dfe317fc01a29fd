/**
 * The commit path against a real database (PGlite, and PostgreSQL when reachable): ordering,
 * de-duplication, races between nodes, compaction, fences and restarts.
 */
import { strict as assert } from 'node:assert';
import { apply, ErrorCode, replaceOp, type CommittedOp, type Submission } from '@collab/protocol';
import { CommitPredictions } from '../storage/commit-predictions';
import { OpsRepo, type CommitAttempt, type CommitBatchArgs } from '../storage/ops-repo';
import { forEachDatabase } from '../test-support/databases';
import { createFile, createUserAndRoom, newClientId, type Fixture } from '../test-support/fixtures';
import { watchGroupCommits, type GroupCommitWatch } from '../test-support/round-trips';
import { FileSessions, type SubmitOutcome } from './file-sessions';

forEachDatabase('file sessions', (ctx) => {
  let fixture: Fixture;
  let repo: OpsRepo;

  before(async () => {
    const { knex } = ctx.current().db;
    fixture = await createUserAndRoom(knex);
    repo = new OpsRepo(knex);
  });

  async function dbOps(fileId: string): Promise<CommittedOp[]> {
    return repo.opsBetween(fileId, 0);
  }

  function sub(clientId: string, seq: number, baseVersion: number, op: Submission['op']): Submission {
    return { clientId, seq, baseVersion, op };
  }

  it('commits at the head and acknowledges with the new version', async () => {
    const fileId = await createFile(ctx.current().db.knex, fixture, 'hello');
    const sessions = new FileSessions(repo);
    const c = newClientId();
    const out = await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [5, ' world']));
    assert.equal(out.kind, 'committed');
    assert.equal(out.kind === 'committed' && out.op.version, 1);
    const opened = await sessions.open(fileId, c);
    assert.ok(opened.ok && opened.value.mode === 'snapshot');
    assert.equal(opened.value.mode === 'snapshot' && opened.value.text, 'hello world');
    assert.deepEqual(opened.value.lastCommitted, { seq: 1, version: 1 });
    await sessions.close();
  });

  it('N simultaneous submits at one base version get gapless versions and equal a serial replay', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, 'base');
    const sessions = new FileSessions(repo);
    const clients = Array.from({ length: 12 }, () => newClientId());
    const outcomes = await Promise.all(
      clients.map((c, i) => sessions.submit(fileId, fixture.userId, sub(c, 1, 0, replaceOp(4, i % 5, 0, `<${i}>`)))),
    );
    assert.ok(outcomes.every((o) => o.kind === 'committed'), JSON.stringify(outcomes));
    const ops = await dbOps(fileId);
    assert.deepEqual(ops.map((o) => o.version), clients.map((_, i) => i + 1));
    let text = 'base';
    for (const op of ops) text = apply(op.op, text);
    const opened = await sessions.open(fileId, clients[0] as string);
    assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, text);
    await sessions.close();
  });

  it('a duplicate resubmission, sequential or concurrent, is acknowledged once with one row', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '');
    const sessions = new FileSessions(repo);
    const c = newClientId();
    const s1 = sub(c, 1, 0, ['a']);
    const first = await sessions.submit(fileId, fixture.userId, s1);
    const again = await sessions.submit(fileId, fixture.userId, s1);
    assert.deepEqual(again, { kind: 'duplicate', version: 1 });
    const s2 = sub(c, 2, 1, [1, 'b']);
    const both = await Promise.all([sessions.submit(fileId, fixture.userId, s2), sessions.submit(fileId, fixture.userId, s2)]);
    assert.deepEqual(both.map((o) => o.kind).sort(), ['committed', 'duplicate']);
    assert.equal(first.kind, 'committed');
    const ops = await dbOps(fileId);
    assert.equal(ops.length, 2);
    const rows = await knex('file_ops').where({ file_id: fileId, client_id: c, seq: 2 }).count<{ count: string }[]>('* as count');
    assert.equal(Number(rows[0]?.count), 1);
    await sessions.close();
  });

  it('two nodes (two session caches on one database) never assign one version twice', async function () {
    this.timeout(60_000);
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '');
    let conflicts = 0;
    const hooks = { onConflict: () => void conflicts++ };
    const nodeA = new FileSessions(new OpsRepo(knex), {}, hooks);
    const nodeB = new FileSessions(new OpsRepo(knex), {}, hooks);
    // Each client keeps one op in flight and knows only what its own acks told it, like a real
    // client that has not yet received the other node's broadcasts.
    const run = async (node: FileSessions, clientId: string, rounds: number): Promise<SubmitOutcome[]> => {
      const outcomes: SubmitOutcome[] = [];
      let base = 0;
      let length = 0;
      for (let seq = 1; seq <= rounds; seq++) {
        // Base on the version of our own last ack, with a length we learn from the server.
        const opened = await node.open(fileId, clientId, undefined);
        assert.ok(opened.ok && opened.value.mode === 'snapshot');
        base = opened.value.version;
        length = opened.value.text.length;
        node.release(fileId);
        const out = await node.submit(fileId, fixture.userId, sub(clientId, seq, base, replaceOp(length, 0, 0, 'x')));
        outcomes.push(out);
      }
      return outcomes;
    };
    const results = await Promise.all([
      run(nodeA, newClientId(), 15),
      run(nodeB, newClientId(), 15),
      run(nodeA, newClientId(), 15),
      run(nodeB, newClientId(), 15),
    ]);
    assert.ok(results.flat().every((o) => o.kind === 'committed'), JSON.stringify(results.flat().filter((o) => o.kind !== 'committed')));
    const ops = await dbOps(fileId);
    assert.deepEqual(ops.map((o) => o.version), Array.from({ length: 60 }, (_, i) => i + 1));
    assert.ok(conflicts > 0, 'the nodes raced for versions (and recovered)');
    await Promise.all([nodeA.close(), nodeB.close()]);
  });

  it('a restarted server (fresh caches) still has every acknowledged op', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '');
    const before = new FileSessions(repo, { snapshotEvery: 7 });
    const c = newClientId();
    let text = '';
    for (let seq = 1; seq <= 20; seq++) {
      const op = replaceOp(text.length, text.length, 0, String(seq % 10));
      const out = await before.submit(fileId, fixture.userId, sub(c, seq, seq - 1, op));
      assert.equal(out.kind, 'committed');
      text = apply(op, text);
    }
    // No close(): as if the process died. The snapshot may lag; the op log may not.
    const after = new FileSessions(new OpsRepo(knex));
    const opened = await after.open(fileId, c);
    assert.ok(opened.ok && opened.value.mode === 'snapshot');
    assert.equal(opened.value.text, text);
    assert.equal(opened.value.version, 20);
    await after.close();
    await before.close();
  });

  it('catch-up by version returns the missed ops; after compaction it says HISTORY_COMPACTED', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '');
    const sessions = new FileSessions(repo, { snapshotEvery: 5, compactKeepOps: 2, recentOps: 3 });
    const c = newClientId();
    let text = '';
    for (let seq = 1; seq <= 12; seq++) {
      const op = replaceOp(text.length, 0, 0, 'z');
      await sessions.submit(fileId, fixture.userId, sub(c, seq, seq - 1, op));
      text = apply(op, text);
    }
    await sessions.close(); // writes the snapshot at 12 and compacts up to 10
    const fresh = new FileSessions(new OpsRepo(knex), { compactKeepOps: 2 });
    const recent = await fresh.open(fileId, c, 10);
    assert.ok(recent.ok && recent.value.mode === 'ops');
    assert.deepEqual(recent.value.ops.map((o) => o.version), [11, 12]);
    const old = await fresh.open(fileId, c, 3);
    assert.equal(!old.ok && old.error.code, ErrorCode.HISTORY_COMPACTED);
    const fetched = await fresh.fetch(fileId, 4, 8);
    assert.equal(!fetched.ok && fetched.error.code, ErrorCode.HISTORY_COMPACTED);
    // A resubmission of a long-compacted op is still recognised (durable de-dup).
    const dup = await fresh.submit(fileId, fixture.userId, sub(c, 12, 3, ['q']));
    assert.deepEqual(dup, { kind: 'duplicate', version: 12 });
    // A new op based before the compaction point is refused without changing anything.
    const stale = await fresh.submit(fileId, fixture.userId, sub(c, 13, 3, [3, 'q']));
    assert.equal(stale.kind === 'rejected' && stale.error.code, ErrorCode.HISTORY_COMPACTED);
    await fresh.close();
  });

  it('a resync fence refuses the abandoned in-flight op if it arrives late', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, 'ab');
    const sessions = new FileSessions(repo);
    const c = newClientId();
    await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [2, 'c']));
    // The client resyncs while seq 2 is still travelling to some node.
    const opened = await sessions.open(fileId, c, undefined, 2);
    assert.ok(opened.ok);
    assert.deepEqual(opened.value.lastCommitted, { seq: 1, version: 1 });
    const late = await sessions.submit(fileId, fixture.userId, sub(c, 2, 1, [3, 'd']));
    assert.equal(late.kind === 'rejected' && late.error.code, ErrorCode.STALE_SUBMISSION);
    const fresh = await sessions.submit(fileId, fixture.userId, sub(c, 3, 1, [3, 'd']));
    assert.equal(fresh.kind, 'committed');
    await sessions.close();
  });

  it('checks the submitter’s role in the commit transaction: viewers and strangers are refused', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, 'x');
    const sessions = new FileSessions(repo);
    const other = await createUserAndRoom(knex);
    await knex('room_participants').insert({ room_id: fixture.roomUuid, user_id: other.userId, role: 'editor' });
    const c = newClientId();
    const first = await sessions.submit(fileId, other.userId, sub(c, 1, 0, [1, 'a']));
    assert.equal(first.kind, 'committed');
    await knex('room_participants').where({ room_id: fixture.roomUuid, user_id: other.userId }).update({ role: 'viewer' });
    const next = await sessions.submit(fileId, other.userId, sub(c, 2, 1, [2, 'b']));
    assert.equal(next.kind === 'rejected' && next.error.code, ErrorCode.FORBIDDEN);
    // Its earlier op, resent after the demotion, is still acknowledged as a duplicate.
    assert.deepEqual(await sessions.submit(fileId, other.userId, sub(c, 1, 0, [1, 'a'])), { kind: 'duplicate', version: 1 });
    await knex('room_participants').where({ room_id: fixture.roomUuid, user_id: other.userId }).delete();
    const gone = await sessions.submit(fileId, other.userId, sub(c, 3, 1, [2, 'b']));
    assert.equal(gone.kind === 'rejected' && gone.error.code, ErrorCode.NOT_A_PARTICIPANT);
    assert.equal((await dbOps(fileId)).length, 1);
    await sessions.close();
  });

  it('commits text and client ids full of quotes, backslashes and SQL exactly as given (literals in the group commit)', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '');
    const sessions = new FileSessions(repo);
    const nasty = `'); DROP TABLE file_ops; -- \\' " $$ E'\\x00' \\\\ ''' \u00e9\u{1F600}`;
    const c = `o'brien\\${newClientId()}`;
    // The group commit inlines them as literals in a multi-statement query (PostgreSQL and PGlite alike).
    const out = await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [nasty]));
    assert.ok(out.kind === 'committed', JSON.stringify(out));
    assert.deepEqual(await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [nasty])), { kind: 'duplicate', version: 1 });
    const ops = await dbOps(fileId);
    assert.deepEqual(ops.map((o) => [o.clientId, o.op]), [[c, [nasty]]]);
    const progress = await knex('client_progress').where({ file_id: fileId }).select('client_id');
    assert.deepEqual(progress.map((r: { client_id: string }) => r.client_id), [c]);
    if (ctx.current().db.kind !== 'postgres') {
      // PGlite has one connection (a pool of PostgreSQL's may answer from another session): the
      // commit went through the prepared group-commit statements, not one Knex statement per step.
      const prepared = (await knex.raw(`SELECT name FROM pg_prepared_statements WHERE name LIKE 'collab_%' ORDER BY name`)) as { rows: { name: string }[] };
      assert.deepEqual(
        prepared.rows.map((r) => r.name),
        ['collab_commit_predicted', 'collab_insert_ops', 'collab_lock_files', 'collab_lock_progress', 'collab_newer', 'collab_roles', 'collab_upsert_progress'],
      );
    }
    await sessions.close();
  });

  it('a refused op changes nothing', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, '😀');
    const sessions = new FileSessions(repo);
    const c = newClientId();
    const out = await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [1, 'x', 1]));
    assert.equal(out.kind === 'rejected' && out.error.code, ErrorCode.INVALID_TEXT);
    assert.equal((await dbOps(fileId)).length, 0);
    const ahead = await sessions.submit(fileId, fixture.userId, sub(c, 2, 9, [2, 'x']));
    assert.equal(ahead.kind === 'rejected' && ahead.error.code, ErrorCode.VERSION_AHEAD);
    const head = await sessions.headHash(fileId);
    assert.ok(head.ok && head.value.version === 0);
    await sessions.close();
  });

  it('a node with a stale cache takes the other node’s ops from the commit transaction (no lost race), and open reads past its cached head', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, 'ab');
    let races = 0;
    const nodeA = new FileSessions(new OpsRepo(knex), {}, { onConflict: () => void races++ });
    const nodeB = new FileSessions(new OpsRepo(knex));
    const a = newClientId();
    const b = newClientId();
    assert.equal((await nodeA.submit(fileId, fixture.userId, sub(a, 1, 0, ['A', 2]))).kind, 'committed');
    // Node B commits twice; node A's cache still says head 1.
    assert.equal((await nodeB.submit(fileId, fixture.userId, sub(b, 1, 1, [3, 'B']))).kind, 'committed');
    assert.equal((await nodeB.submit(fileId, fixture.userId, sub(b, 2, 2, [4, 'C']))).kind, 'committed');
    assert.equal(nodeA.cachedHead(fileId), 1);
    // A's client, based on version 1, inserts at the start: rebased over B's two ops, committed as 4.
    const out = await nodeA.submit(fileId, fixture.userId, sub(a, 2, 1, ['x', 3]));
    assert.ok(out.kind === 'committed', JSON.stringify(out));
    assert.equal(out.op.version, 4);
    assert.equal(races, 1, 'one `behind` round, no failed insert');
    const opened = await nodeB.open(fileId, newClientId());
    assert.ok(opened.ok && opened.value.mode === 'snapshot');
    assert.deepEqual({ version: opened.value.version, text: opened.value.text }, { version: 4, text: 'xAabBC' });
    nodeB.release(fileId);
    // B's cache was at 3: the resend of A's seq 2 through B is the same op, not a new one.
    const again = await nodeB.submit(fileId, fixture.userId, sub(a, 2, 1, ['x', 3]));
    assert.deepEqual(again, { kind: 'duplicate', version: 4 });
    await Promise.all([nodeA.close(), nodeB.close()]);
  });

  it('a commit into a file deleted by another node is refused FILE_NOT_FOUND (not UNAVAILABLE) and the session is evicted', async () => {
    const { knex } = ctx.current().db;
    const fileId = await createFile(knex, fixture, 'doomed');
    const sessions = new FileSessions(new OpsRepo(knex));
    const c = newClientId();
    assert.equal((await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, ['x', 6]))).kind, 'committed');
    await knex('files').where({ id: fileId }).delete();
    const out = await sessions.submit(fileId, fixture.userId, sub(c, 2, 1, ['y', 7]));
    assert.equal(out.kind, 'rejected');
    assert.equal(out.kind === 'rejected' && out.error.code, ErrorCode.FILE_NOT_FOUND);
    assert.equal(sessions.cachedHead(fileId), undefined, 'evicted');
    await sessions.close();
  });

  describe('group commit', () => {
    /** Submits all at once (same tick), so that they wait together in the file's queue. */
    function submitAll(sessions: FileSessions, fileId: string, subs: readonly [string, Submission][]): Promise<SubmitOutcome[]> {
      return Promise.all(subs.map(([userId, s]) => sessions.submit(fileId, userId, s)));
    }

    /** A session whose file is loaded and whose cache is fresh (so later submissions queue at once). */
    async function warmed(fileId: string, options: Partial<ConstructorParameters<typeof FileSessions>[1]> = {}, r: OpsRepo = repo) {
      const batches: number[] = [];
      const sessions = new FileSessions(r, options, { onBatch: (size) => void batches.push(size) });
      assert.ok((await sessions.headHash(fileId)).ok);
      return { sessions, batches };
    }

    it('commits concurrent submissions to one file in fewer transactions than ops, gapless and in queue order', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'base');
      const { sessions, batches } = await warmed(fileId);
      const clients = Array.from({ length: 30 }, () => newClientId());
      const outcomes = await submitAll(sessions, fileId, clients.map((c, i) => [fixture.userId, sub(c, 1, 0, replaceOp(4, i % 5, 0, `<${i}>`))]));
      assert.deepEqual(outcomes.map((o) => o.kind === 'committed' && o.op.version), clients.map((_, i) => i + 1));
      assert.equal(batches.reduce((a, b) => a + b, 0), 30);
      assert.ok(batches.length < 30, `30 ops in ${batches.length} transactions`);
      const ops = await dbOps(fileId);
      assert.deepEqual(ops.map((o) => [o.version, o.clientId, o.seq, o.author]), clients.map((c, i) => [i + 1, c, 1, fixture.userId]));
      let text = 'base';
      for (const op of ops) text = apply(op.op, text);
      const head = await sessions.open(fileId, newClientId());
      assert.equal(head.ok && head.value.mode === 'snapshot' && head.value.text, text);
      // The cache holds the committed ops with their commit times (as the database has them).
      const cached = await sessions.fetch(fileId, 1, 30);
      assert.deepEqual(cached.ok && cached.value.map((o) => o.at), ops.map((o) => o.at));
      const progress = await knex('client_progress').where({ file_id: fileId }).count<{ count: string }[]>('* as count');
      assert.equal(Number(progress[0]?.count), 30);
      await sessions.close();
    });

    it('publishes a batch of several ops as one call, before answering any of its submitters, who are told it was published', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'ab');
      const { sessions } = await warmed(fileId);
      const log: string[] = [];
      sessions.publishBatchesWith((published, ops) => {
        assert.equal(published, fileId);
        log.push(`publish ${ops.map((o) => o.version).join(',')}`);
      });
      const clients = [newClientId(), newClientId(), newClientId()];
      const outcomes = await Promise.all(
        clients.map((c, i) =>
          sessions.submit(fileId, fixture.userId, sub(c, 1, 0, [2, String(i)])).then((o) => {
            log.push(`answer ${o.kind === 'committed' ? o.op.version : o.kind}`);
            return o;
          }),
        ),
      );
      assert.deepEqual(log, ['publish 1,2,3', 'answer 1', 'answer 2', 'answer 3']);
      assert.ok(outcomes.every((o) => o.kind === 'committed' && o.published === true), JSON.stringify(outcomes));
      // A lone submission is not published by the session: the caller broadcasts it.
      const alone = await sessions.submit(fileId, fixture.userId, sub(clients[0] as string, 2, 3, [5, 'z']));
      assert.ok(alone.kind === 'committed' && !alone.published);
      assert.equal(log.length, 4, 'nothing more was published');
      await sessions.close();
    });

    it('puts the ops another node committed, read while committing, in front of its own in one frame (up to 64; beyond, readers fetch)', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, '');
      const nodeA = new FileSessions(repo);
      const { sessions: nodeB } = await warmed(fileId);
      const frames: [versions: number[], relayed: number][] = [];
      nodeB.publishBatchesWith((_, ops, relayed) => void frames.push([ops.map((o) => o.version), relayed]));
      const a = newClientId();
      const b = newClientId();
      let length = 0;
      const commitOnA = async (n: number, from: number) => {
        for (let seq = from; seq < from + n; seq++) {
          assert.equal((await nodeA.submit(fileId, fixture.userId, sub(a, seq, length, replaceOp(length, length, 0, 'a')))).kind, 'committed');
          length++;
        }
      };
      // Node A commits 3 ops node B has not seen; B's lone op (based on version 0) commits as 4.
      await commitOnA(3, 1);
      const lone = await nodeB.submit(fileId, fixture.userId, sub(b, 1, 0, ['b']));
      assert.ok(lone.kind === 'committed' && lone.op.version === 4 && lone.published === true, JSON.stringify(lone));
      assert.deepEqual(frames, [[[1, 2, 3, 4], 3]]);
      length++;
      // Nothing new from A: B's next lone op is not published by the session (the caller broadcasts it).
      const next = await nodeB.submit(fileId, fixture.userId, sub(b, 2, 4, replaceOp(length, length, 0, 'b')));
      assert.ok(next.kind === 'committed' && next.op.version === 5 && !next.published, JSON.stringify(next));
      length++;
      // More than 64 ops behind: not relayed; B's readers fetch them as before.
      await commitOnA(65, 4);
      const far = await nodeB.submit(fileId, fixture.userId, sub(b, 3, 5, replaceOp(5, 5, 0, 'b')));
      assert.ok(far.kind === 'committed' && far.op.version === 71 && !far.published, JSON.stringify(far));
      assert.equal(frames.length, 1, JSON.stringify(frames));
      await Promise.all([nodeA.close(), nodeB.close()]);
    });

    it('caps a batch at maxCommitBatch submissions', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, '');
      const { sessions, batches } = await warmed(fileId, { maxCommitBatch: 4 });
      const c = Array.from({ length: 10 }, () => newClientId());
      const outcomes = await submitAll(sessions, fileId, c.map((id) => [fixture.userId, sub(id, 1, 0, ['x'])]));
      assert.ok(outcomes.every((o) => o.kind === 'committed'));
      assert.ok(batches.every((n) => n <= 4) && batches.length >= 3, JSON.stringify(batches));
      await sessions.close();
    });

    it('a refused submission in the middle of a batch refuses only itself; the others commit', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'ab');
      const viewer = await createUserAndRoom(knex);
      await knex('room_participants').insert({ room_id: fixture.roomUuid, user_id: viewer.userId, role: 'viewer' });
      const stranger = await createUserAndRoom(knex);
      const { sessions, batches } = await warmed(fileId);
      const [a, v, b, x, s2, c] = Array.from({ length: 6 }, () => newClientId()) as [string, string, string, string, string, string];
      const outcomes = await submitAll(sessions, fileId, [
        [fixture.userId, sub(a, 1, 0, ['A', 2])],
        [viewer.userId, sub(v, 1, 0, ['V', 2])],
        [fixture.userId, sub(b, 1, 0, [2, 'B'])],
        [fixture.userId, sub(x, 1, 0, [5, 'X'])], // base length 5, the text has 2
        [stranger.userId, sub(s2, 1, 0, ['S', 2])],
        [fixture.userId, sub(c, 1, 0, [1, 'C', 1])],
      ]);
      assert.deepEqual(batches, [6]);
      assert.deepEqual(
        outcomes.map((o) => (o.kind === 'rejected' ? o.error.code : o.kind === 'committed' ? o.op.version : o.kind)),
        [1, ErrorCode.FORBIDDEN, 2, ErrorCode.OP_BASE_LENGTH_MISMATCH, ErrorCode.NOT_A_PARTICIPANT, 3],
      );
      const ops = await dbOps(fileId);
      assert.deepEqual(ops.map((o) => o.clientId), [a, b, c]);
      const head = await sessions.open(fileId, newClientId());
      assert.equal(head.ok && head.value.mode === 'snapshot' && head.value.text, 'AaCbB');
      const refused = await knex('client_progress').where({ file_id: fileId }).whereIn('client_id', [v, x, s2]);
      assert.equal(refused.length, 0, 'a refused submission advances no progress');
      await sessions.close();
    });

    it('acknowledges duplicates inside and outside a batch with the original version, one row each', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, '');
      const { sessions, batches } = await warmed(fileId);
      const [c, d] = [newClientId(), newClientId()];
      const old = sub(c, 1, 0, ['a']);
      assert.equal((await sessions.submit(fileId, fixture.userId, old)).kind, 'committed');
      batches.length = 0;
      const outcomes = await submitAll(sessions, fileId, [
        [fixture.userId, sub(d, 1, 1, [1, 'd'])],
        [fixture.userId, old], // committed before the batch (version 1)
        [fixture.userId, sub(c, 2, 1, [1, 'b'])],
        [fixture.userId, sub(d, 1, 1, [1, 'd'])], // a resend of the batch's first op
        [fixture.userId, sub(c, 3, 3, [3, 'c'])], // the same client's next op, based on its own seq 2
        [fixture.userId, sub(c, 2, 1, [1, 'b'])],
      ]);
      assert.deepEqual(batches, [6]);
      assert.deepEqual(outcomes, [
        { kind: 'committed', op: (outcomes[0] as { op: CommittedOp }).op },
        { kind: 'duplicate', version: 1 },
        { kind: 'committed', op: (outcomes[2] as { op: CommittedOp }).op },
        { kind: 'duplicate', version: 2 },
        { kind: 'committed', op: (outcomes[4] as { op: CommittedOp }).op },
        { kind: 'duplicate', version: 3 },
      ]);
      assert.deepEqual(
        outcomes.flatMap((o) => (o.kind === 'committed' ? [o.op.version] : [])),
        [2, 3, 4],
      );
      const ops = await dbOps(fileId);
      assert.deepEqual(ops.map((o) => [o.clientId, o.seq]), [[c, 1], [d, 1], [c, 2], [c, 3]]);
      const progress = await knex('client_progress').where({ file_id: fileId, client_id: c }).first('last_seq', 'last_version');
      assert.deepEqual([Number(progress.last_seq), Number(progress.last_version)], [3, 4]);
      // After the batch, a resend through a fresh node is still a duplicate.
      const fresh = new FileSessions(new OpsRepo(knex));
      assert.deepEqual(await fresh.submit(fileId, fixture.userId, sub(d, 1, 1, [1, 'd'])), { kind: 'duplicate', version: 2 });
      await Promise.all([sessions.close(), fresh.close()]);
    });

    /** An OpsRepo whose group transaction fails after its decisions were made (then works again). */
    class FailingRepo extends OpsRepo {
      failures: unknown[] = [];
      override async commitFiles(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
        const failure = this.failures.shift();
        if (failure === undefined) return super.commitFiles(batches);
        const last = batches.length - 1;
        return super.commitFiles(
          batches.map((args, b) => ({
            ...args,
            decide: (index, progress, role) => {
              const decision = args.decide(index, progress, role);
              if (b === last && index === args.submitters.length - 1) throw failure;
              return decision;
            },
          })),
        );
      }
    }

    it('a database failure answers UNAVAILABLE to every submission of the batch, acknowledges none, and leaves no trace in the cache', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'xy');
      const failing = new FailingRepo(knex);
      const { sessions, batches } = await warmed(fileId, {}, failing);
      failing.failures.push(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }));
      const clients = [newClientId(), newClientId(), newClientId()];
      const outcomes = await submitAll(sessions, fileId, clients.map((c, i) => [fixture.userId, sub(c, 1, 0, [2, String(i)])]));
      assert.deepEqual(batches, [3]);
      assert.deepEqual(outcomes.map((o) => o.kind === 'rejected' && o.error.code), [ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE]);
      assert.equal((await dbOps(fileId)).length, 0);
      // The retries commit, against the text as the database has it (the failed batch's ops are gone).
      const retried = await submitAll(sessions, fileId, clients.map((c, i) => [fixture.userId, sub(c, 1, 0, [2, String(i)])]));
      assert.deepEqual(retried.map((o) => o.kind === 'committed' && o.op.version), [1, 2, 3]);
      const head = await sessions.headHash(fileId);
      assert.ok(head.ok && head.value.version === 3);
      const opened = await sessions.open(fileId, newClientId());
      assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, 'xy012');
      await sessions.close();
    });

    it('a lost race (unique violation) retries the whole batch without acknowledging anything twice', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, '');
      const failing = new FailingRepo(knex);
      let conflicts = 0;
      const sessions = new FileSessions(failing, {}, { onConflict: () => void conflicts++ });
      assert.ok((await sessions.headHash(fileId)).ok);
      failing.failures.push(Object.assign(new Error('duplicate key'), { code: '23505' }));
      const clients = [newClientId(), newClientId(), newClientId()];
      const outcomes = await submitAll(sessions, fileId, clients.map((c, i) => [fixture.userId, sub(c, 1, 0, [String(i)])]));
      assert.deepEqual(outcomes.map((o) => o.kind === 'committed' && o.op.version), [1, 2, 3]);
      assert.equal(conflicts, 1);
      const ops = await dbOps(fileId);
      assert.deepEqual(ops.map((o) => o.clientId), clients);
      const opened = await sessions.open(fileId, newClientId());
      let text = '';
      for (const op of ops) text = apply(op.op, text);
      assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, text);
      assert.equal(text.length, 3);
      await sessions.close();
    });

      describe('group commit across files', () => {
      /** Sessions whose files are loaded with fresh caches, recording every group transaction. */
      async function warmedFiles(fileIds: readonly string[], r: OpsRepo = repo, options: Partial<ConstructorParameters<typeof FileSessions>[1]> = {}) {
        const groups: [files: number, submissions: number][] = [];
        const sessions = new FileSessions(r, options, { onGroup: (files, submissions) => void groups.push([files, submissions]) });
        for (const fileId of fileIds) assert.ok((await sessions.headHash(fileId)).ok);
        return { sessions, groups };
      }
  
      it('commits the batches of many files that are ready together in fewer transactions than files', async () => {
        const { knex } = ctx.current().db;
        const fileIds: string[] = [];
        for (let i = 0; i < 20; i++) fileIds.push(await createFile(knex, fixture, `f${i}`));
        const { sessions, groups } = await warmedFiles(fileIds, repo, { commitConcurrency: 1 });
        // Two clients per file, all submitted in one tick: 40 submissions over 20 files.
        const subs = fileIds.flatMap((fileId) => [newClientId(), newClientId()].map((c, k) => ({ fileId, s: sub(c, 1, 0, replaceOp(`f${fileIds.indexOf(fileId)}`.length, 0, 0, String(k))) })));
        const outcomes = await Promise.all(subs.map(({ fileId, s }) => sessions.submit(fileId, fixture.userId, s)));
        assert.deepEqual(outcomes.map((o) => o.kind === 'committed' && o.op.version), subs.map((_, i) => (i % 2) + 1));
        assert.equal(groups.reduce((n, [, s]) => n + s, 0), 40);
        assert.ok(groups.length < 20, `20 files in ${groups.length} transactions: ${JSON.stringify(groups)}`);
        assert.ok(groups.some(([files]) => files > 1), JSON.stringify(groups));
        for (const [i, fileId] of fileIds.entries()) {
          const ops = await dbOps(fileId);
          assert.deepEqual(ops.map((o) => o.version), [1, 2]);
          const opened = await sessions.open(fileId, newClientId());
          assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, `01f${i}`);
        }
        await sessions.close();
      });
  
      it('in one group, a deleted file is refused FILE_NOT_FOUND and a viewer FORBIDDEN while the other files commit', async () => {
        const { knex } = ctx.current().db;
        const doomed = await createFile(knex, fixture, 'doomed');
        const viewed = await createFile(knex, fixture, 'viewed');
        const fine = await createFile(knex, fixture, 'fine');
        const viewer = await createUserAndRoom(knex);
        await knex('room_participants').insert({ room_id: fixture.roomUuid, user_id: viewer.userId, role: 'viewer' });
        const { sessions, groups } = await warmedFiles([doomed, viewed, fine], repo, { commitConcurrency: 1 });
        await knex('files').where({ id: doomed }).delete();
        const [gone, forbidden, committed] = await Promise.all([
          sessions.submit(doomed, fixture.userId, sub(newClientId(), 1, 0, ['x', 6])),
          sessions.submit(viewed, viewer.userId, sub(newClientId(), 1, 0, ['x', 6])),
          sessions.submit(fine, fixture.userId, sub(newClientId(), 1, 0, ['x', 4])),
        ]);
        assert.deepEqual(groups, [[3, 3]]);
        assert.equal(gone?.kind === 'rejected' && gone.error.code, ErrorCode.FILE_NOT_FOUND);
        assert.equal(forbidden?.kind === 'rejected' && forbidden.error.code, ErrorCode.FORBIDDEN);
        assert.equal(committed?.kind === 'committed' && committed.op.version, 1);
        assert.equal(sessions.cachedHead(doomed), undefined, 'evicted');
        assert.equal((await dbOps(viewed)).length, 0);
        assert.equal((await dbOps(fine)).length, 1);
        await sessions.close();
      });
  
      it('a failed group transaction answers UNAVAILABLE to every file, commits none, and the retries commit', async () => {
        const { knex } = ctx.current().db;
        const fileIds = [await createFile(knex, fixture, 'a'), await createFile(knex, fixture, 'b'), await createFile(knex, fixture, 'c')];
        const failing = new FailingRepo(knex);
        const { sessions, groups } = await warmedFiles(fileIds, failing, { commitConcurrency: 1 });
        failing.failures.push(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }));
        const clients = fileIds.map(() => newClientId());
        const first = await Promise.all(fileIds.map((fileId, i) => sessions.submit(fileId, fixture.userId, sub(clients[i] as string, 1, 0, [1, 'x']))));
        assert.deepEqual(groups, [[3, 3]]);
        assert.deepEqual(first.map((o) => o.kind === 'rejected' && o.error.code), [ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE]);
        for (const fileId of fileIds) assert.equal((await dbOps(fileId)).length, 0);
        const retried = await Promise.all(fileIds.map((fileId, i) => sessions.submit(fileId, fixture.userId, sub(clients[i] as string, 1, 0, [1, 'x']))));
        assert.deepEqual(retried.map((o) => o.kind === 'committed' && o.op.version), [1, 1, 1]);
        for (const [i, fileId] of fileIds.entries()) {
          const opened = await sessions.open(fileId, newClientId());
          assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, `${'abc'[i]}x`);
        }
        await sessions.close();
      });
  
      it('two nodes committing groups over the same files in different orders neither deadlock nor assign a version twice', async function () {
        this.timeout(60_000);
        const { knex } = ctx.current().db;
        const fileIds: string[] = [];
        for (let i = 0; i < 8; i++) fileIds.push(await createFile(knex, fixture, ''));
        const nodes = [new FileSessions(new OpsRepo(knex)), new FileSessions(new OpsRepo(knex))];
        const clients = nodes.map(() => fileIds.map(() => newClientId()));
        const rounds = 12;
        const failures: SubmitOutcome[] = [];
        for (let round = 1; round <= rounds; round++) {
          // Each node submits to every file in one tick, in opposite orders, with a stale base: the
          // groups lock overlapping files and each insert is rebased over the other node's op.
          await Promise.all(
            nodes.flatMap((node, n) => {
              const order = n === 0 ? fileIds.map((_, i) => i) : fileIds.map((_, i) => fileIds.length - 1 - i);
              return order.map(async (i) => {
                const out = await node.submit(fileIds[i] as string, fixture.userId, sub(clients[n]?.[i] as string, round, 0, ['x']));
                if (out.kind !== 'committed') failures.push(out);
              });
            }),
          );
        }
        assert.deepEqual(failures, []);
        for (const fileId of fileIds) {
          const ops = await dbOps(fileId);
          assert.deepEqual(ops.map((o) => o.version), Array.from({ length: 2 * rounds }, (_, i) => i + 1));
        }
        await Promise.all(nodes.map((n) => n.close()));
      });
    });
  });

  describe('one-round-trip commits (predicted reads)', () => {
    /** A node on its own repo (its own predictions), counting wrong predictions, lost races and snapshot reloads. */
    function node(predictCommits = true, sharedForMs?: number) {
      const { knex } = ctx.current().db;
      const counts = { mispredicts: 0, races: 0, reloads: 0 };
      const opsRepo = new (class extends OpsRepo {
        override snapshot(fileId: string) {
          counts.reloads++;
          return super.snapshot(fileId);
        }
      })(knex, { predictCommits, ...(sharedForMs !== undefined ? { predictions: new CommitPredictions({ sharedForMs }) } : {}) });
      const sessions = new FileSessions(opsRepo, {}, { onMispredict: () => void counts.mispredicts++, onConflict: () => void counts.races++ });
      return { sessions, counts };
    }

    let watch: GroupCommitWatch;
    beforeEach(() => {
      watch = watchGroupCommits(ctx.current().db.knex);
    });
    afterEach(() => watch.stop());

    it('a client’s first op takes two round trips (nothing to predict from), its next ones one', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'ab');
      const { sessions, counts } = node();
      const c = newClientId();
      assert.equal((await sessions.submit(fileId, fixture.userId, sub(c, 1, 0, ['x', 2]))).kind, 'committed');
      assert.equal(watch.trips.length, 2, watch.trips.join('\n---\n'));
      assert.ok(watch.trips[0]?.includes('collab_newer') && watch.trips[1]?.includes('collab_insert_ops'));
      for (let seq = 2; seq <= 4; seq++) {
        watch.clear();
        const out = await sessions.submit(fileId, fixture.userId, sub(c, seq, seq - 1, replaceOp(seq + 1, seq, 0, 'y')));
        assert.ok(out.kind === 'committed' && out.op.version === seq, JSON.stringify(out));
        assert.equal(watch.trips.length, 1, watch.trips.join('\n---\n'));
        assert.ok(watch.trips[0]?.includes('collab_commit_predicted') && watch.trips[0].endsWith('COMMIT'));
      }
      // A resend is answered in one round trip too, as the duplicate it is.
      watch.clear();
      assert.deepEqual(await sessions.submit(fileId, fixture.userId, sub(c, 3, 2, replaceOp(4, 3, 0, 'y'))), { kind: 'duplicate', version: 3 });
      assert.equal(watch.trips.length, 1);
      assert.deepEqual(counts, { mispredicts: 0, races: 0, reloads: 1 });
      const ops = await dbOps(fileId);
      assert.deepEqual(ops.map((o) => [o.version, o.seq]), [[1, 1], [2, 2], [3, 3], [4, 4]]);
      const progress = await knex('client_progress').where({ file_id: fileId, client_id: c }).first('last_seq', 'last_version');
      assert.deepEqual([Number(progress.last_seq), Number(progress.last_version)], [4, 4]);
      const opened = await sessions.open(fileId, newClientId());
      assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, 'xayyyb');
      await sessions.close();
    });

    it('with predictions off, every commit takes two round trips', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, '');
      const { sessions } = node(false);
      const c = newClientId();
      for (let seq = 1; seq <= 3; seq++) {
        watch.clear();
        assert.equal((await sessions.submit(fileId, fixture.userId, sub(c, seq, seq - 1, [seq - 1, 'z']))).kind, 'committed');
        assert.equal(watch.trips.length, 2, watch.trips.join('\n---\n'));
        assert.ok(!watch.trips.join('').includes('collab_commit_predicted'));
      }
      await sessions.close();
    });

    it('another node’s commit makes the prediction wrong: nothing is written, the decisions are undone in the cache (no reload) and made again on what the locks read', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'ab');
      const a = node();
      const b = node();
      const ca = newClientId();
      const cb = newClientId();
      assert.equal((await a.sessions.submit(fileId, fixture.userId, sub(ca, 1, 0, ['A', 2]))).kind, 'committed');
      assert.equal((await b.sessions.submit(fileId, fixture.userId, sub(cb, 1, 1, [3, 'B']))).kind, 'committed');
      assert.equal((await b.sessions.submit(fileId, fixture.userId, sub(cb, 2, 2, [4, 'C']))).kind, 'committed');
      const reloadsBefore = a.counts.reloads;
      watch.clear();
      // Node A still has head 1 and predicts no newer ops: the database says otherwise.
      const out = await a.sessions.submit(fileId, fixture.userId, sub(ca, 2, 1, ['x', 3]));
      assert.ok(out.kind === 'committed' && out.op.version === 4, JSON.stringify(out));
      assert.equal(a.counts.mispredicts, 1);
      assert.equal(a.counts.races, 1, 'then one `behind` round, as without predictions');
      assert.equal(a.counts.reloads, reloadsBefore, 'undone in place, not reloaded from the snapshot');
      assert.equal(watch.trips.length, 3, watch.trips.join('\n---\n'));
      assert.ok(watch.trips[0]?.includes('collab_commit_predicted') && watch.trips[1]?.includes('collab_newer'));
      assert.deepEqual((await dbOps(fileId)).map((o) => [o.version, o.clientId]), [[1, ca], [2, cb], [3, cb], [4, ca]]);
      for (const n of [a, b]) {
        const opened = await n.sessions.open(fileId, newClientId());
        assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, 'xAabBC');
      }
      // The file is now known to be shared: its next commit reads under the lock at once.
      watch.clear();
      assert.equal((await a.sessions.submit(fileId, fixture.userId, sub(ca, 3, 4, [6, '!']))).kind, 'committed');
      assert.equal(watch.trips.length, 2);
      assert.equal(a.counts.mispredicts, 1);
      await Promise.all([a.sessions.close(), b.sessions.close()]);
    });

    it('a group whose prediction is wrong for one file commits the other files in its one round trip', async () => {
      const { knex } = ctx.current().db;
      const fileIds = [await createFile(knex, fixture, 'p'), await createFile(knex, fixture, 'q')];
      const groups: number[] = [];
      let mispredicts = 0;
      const a = new FileSessions(new OpsRepo(knex), { commitConcurrency: 1 }, { onGroup: (files) => void groups.push(files), onMispredict: () => void mispredicts++ });
      const b = node();
      const clients = fileIds.map(() => newClientId());
      for (const [i, fileId] of fileIds.entries()) assert.equal((await a.submit(fileId, fixture.userId, sub(clients[i] as string, 1, 0, ['1', 1]))).kind, 'committed');
      assert.equal((await b.sessions.submit(fileIds[1] as string, fixture.userId, sub(newClientId(), 1, 1, [2, 'B']))).kind, 'committed');
      groups.splice(0);
      watch.clear();
      const outs = await Promise.all(fileIds.map((fileId, i) => a.submit(fileId, fixture.userId, sub(clients[i] as string, 2, 1, [2, '2']))));
      assert.deepEqual(outs.map((o) => o.kind === 'committed' && o.op.version), [2, 3]);
      assert.equal(mispredicts, 1);
      assert.deepEqual(groups, [2, 1], 'the second file alone went again');
      assert.ok(watch.trips[0]?.includes('collab_commit_predicted'));
      assert.equal(watch.trips.length, 3, watch.trips.join('\n---\n'));
      assert.deepEqual((await dbOps(fileIds[0] as string)).map((o) => o.version), [1, 2]);
      const opened = await a.open(fileIds[1] as string, newClientId());
      assert.equal(opened.ok && opened.value.mode === 'snapshot' && opened.value.text, '1qB2');
      await Promise.all([a.close(), b.sessions.close()]);
    });

    // Only on PostgreSQL: PGlite has one connection, which the open transaction below would hold.
    if (ctx.label === 'PostgreSQL') it('a fence waits for a commit that holds the file’s lock, so that a first op and a fence cannot pass each other unseen', async function () {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'x');
      const c = newClientId();
      const trx = await knex.transaction();
      // A commit in progress: the file's row locked as a group commit locks it, no progress row yet.
      await trx.raw('SELECT id FROM files WHERE id = ? FOR NO KEY UPDATE', [fileId]);
      let fenced = false;
      const fence = new OpsRepo(knex).fenceAndReadProgress(fileId, c, 3).then((p) => {
        fenced = true;
        return p;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(fenced, false, 'the fence waits for the file lock');
      await trx.raw('INSERT INTO client_progress (file_id, client_id, last_seq, last_version) VALUES (?, ?, 2, 7)', [fileId, c]);
      await trx.commit();
      // It then sees what that commit wrote (and raises the fence over it).
      assert.deepEqual(await fence, { lastCommitted: { seq: 2, version: 7 }, fencedSeq: 3 });
    });

    it('a file deleted behind a predicted group is refused FILE_NOT_FOUND while the group’s other files commit', async () => {
      const { knex } = ctx.current().db;
      const [doomed, fine] = [await createFile(knex, fixture, 'd'), await createFile(knex, fixture, 'f')] as [string, string];
      const groups: number[] = [];
      let mispredicts = 0;
      const a = new FileSessions(new OpsRepo(knex), { commitConcurrency: 1 }, { onGroup: (files) => void groups.push(files), onMispredict: () => void mispredicts++ });
      const [cd, cf] = [newClientId(), newClientId()];
      assert.equal((await a.submit(doomed, fixture.userId, sub(cd, 1, 0, ['1', 1]))).kind, 'committed');
      assert.equal((await a.submit(fine, fixture.userId, sub(cf, 1, 0, ['1', 1]))).kind, 'committed');
      await knex('files').where({ id: doomed }).delete();
      groups.splice(0);
      watch.clear();
      const [gone, committed] = await Promise.all([a.submit(doomed, fixture.userId, sub(cd, 2, 1, [2, '2'])), a.submit(fine, fixture.userId, sub(cf, 2, 1, [2, '2']))]);
      assert.equal(gone.kind === 'rejected' && gone.error.code, ErrorCode.FILE_NOT_FOUND, JSON.stringify(gone));
      assert.ok(committed.kind === 'committed' && committed.op.version === 2, JSON.stringify(committed));
      assert.equal(mispredicts, 1);
      assert.ok(watch.trips[0]?.includes('collab_commit_predicted'));
      assert.equal(groups[0], 2, 'both files went in one predicted group');
      assert.equal(a.cachedHead(doomed), undefined, 'evicted');
      await a.close();
    });

    it('a fence, a demotion or an earlier commit under the same identity on another node is caught by the check, never acknowledged as predicted', async () => {
      const { knex } = ctx.current().db;
      const fileId = await createFile(knex, fixture, 'ab');
      // Wrong predictions do not make the file count as shared here, so each case below is predicted.
      const a = node(true, 0);
      const other = await createUserAndRoom(knex);
      await knex('room_participants').insert({ room_id: fixture.roomUuid, user_id: other.userId, role: 'editor' });
      const c = newClientId();
      assert.equal((await a.sessions.submit(fileId, other.userId, sub(c, 1, 0, [2, 'c']))).kind, 'committed');
      // The client resynchronised through another node, abandoning seq 2.
      await new OpsRepo(knex).fenceAndReadProgress(fileId, c, 2);
      const late = await a.sessions.submit(fileId, other.userId, sub(c, 2, 1, [3, 'd']));
      assert.equal(late.kind === 'rejected' && late.error.code, ErrorCode.STALE_SUBMISSION);
      assert.equal(a.counts.mispredicts, 1);
      assert.equal((await a.sessions.submit(fileId, other.userId, sub(c, 3, 1, [3, 'd']))).kind, 'committed');
      // Demoted behind this node's back: the predicted role is wrong.
      await knex('room_participants').where({ room_id: fixture.roomUuid, user_id: other.userId }).update({ role: 'viewer' });
      const next = await a.sessions.submit(fileId, other.userId, sub(c, 4, 2, [4, 'e']));
      assert.equal(next.kind === 'rejected' && next.error.code, ErrorCode.FORBIDDEN);
      assert.equal(a.counts.mispredicts, 2);
      // A client whose op this node saw refused (so it remembers "no progress row") commits it through
      // another node; the resend here must be the duplicate, not a second copy.
      const d = newClientId();
      const refused = await a.sessions.submit(fileId, fixture.userId, sub(d, 1, 9, [4, 'f']));
      assert.equal(refused.kind, 'rejected');
      const b = node();
      const first = await b.sessions.submit(fileId, fixture.userId, sub(d, 1, 2, [4, 'f']));
      assert.ok(first.kind === 'committed', JSON.stringify(first));
      assert.ok((await a.sessions.headHash(fileId)).ok, 'node A catches up, so only the progress prediction is wrong');
      const resent = await a.sessions.submit(fileId, fixture.userId, sub(d, 1, 2, [4, 'f']));
      assert.deepEqual(resent, { kind: 'duplicate', version: first.op.version });
      assert.equal(a.counts.mispredicts, 3);
      assert.deepEqual((await dbOps(fileId)).map((o) => [o.clientId, o.seq]), [[c, 1], [c, 3], [d, 1]]);
      await Promise.all([a.sessions.close(), b.sessions.close()]);
    });
  });
});
