/**
 * Scripted races for the client state machine and the sequencing core, each written as the bug
 * report it guards against.
 */
import { strict as assert } from 'node:assert';
import { ErrorCode } from './errors';
import { sequence, type CommittedOp, type Submission } from './sequencer';
import {
  createSyncState,
  localText,
  step,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
} from './sync-client';
import { apply, replaceOp, type TextOp } from './text-op';
import { Random, seedFromEnv } from './test-support/random';

/** A client under test: its state, its editor text, and every effect it asked for. */
class Peer {
  state: SyncState;
  doc: string;
  effects: SyncEffect[] = [];

  constructor(id: string, version: number, text: string) {
    this.state = createSyncState(id, version, text);
    this.doc = text;
  }

  /** Types `text` at `offset` (replacing `remove` code units). */
  type(offset: number, text: string, remove = 0): TextOp {
    const op = replaceOp(this.doc.length, offset, remove, text);
    this.doc = apply(op, this.doc);
    this.feed({ type: 'local', op });
    return op;
  }

  feed(event: SyncEvent): SyncEffect[] {
    const { state, effects } = step(this.state, event);
    this.state = state;
    for (const e of effects) if (e.type === 'apply') this.doc = apply(e.op, this.doc);
    this.effects.push(...effects);
    assert.equal(localText(this.state), this.doc, 'editor text matches the state');
    return [...effects];
  }

  /** The submissions it sent, in order. */
  sent(): Submission[] {
    return this.effects.flatMap((e) => (e.type === 'send' ? [e.submission] : []));
  }

  kinds(effects: readonly SyncEffect[]): string[] {
    return effects.map((e) => e.type);
  }
}

/** A minimal authority over the real sequencing core. */
class Server {
  log: CommittedOp[] = [];
  text: string;
  progress = new Map<string, { seq: number; version: number }>();

  constructor(text: string) {
    this.text = text;
  }

  get head(): number {
    return this.log.length;
  }

  submit(sub: Submission) {
    const decision = sequence(sub, {
      head: this.head,
      headText: this.text,
      history: this.log.slice(sub.baseVersion),
      lastCommitted: this.progress.get(sub.clientId),
    });
    if (decision.kind === 'commit') {
      const op: CommittedOp = { version: decision.version, op: decision.op, clientId: sub.clientId, seq: sub.seq };
      this.log.push(op);
      this.text = apply(decision.op, this.text);
      this.progress.set(sub.clientId, { seq: sub.seq, version: decision.version });
    }
    return decision;
  }

  /** Submits a peer's latest sent submission and returns the committed op. */
  commitLatest(peer: Peer): CommittedOp {
    const sub = peer.sent().at(-1);
    assert.ok(sub, 'the peer sent something');
    const decision = this.submit(sub);
    assert.equal(decision.kind, 'commit');
    return this.log.at(-1) as CommittedOp;
  }
}

describe('sync client: scripted races', () => {
  it('A types while B’s op is in flight: both end with the server’s text, server order wins the tie', () => {
    const server = new Server('ab');
    const a = new Peer('client-A-0000000001', 0, 'ab');
    const b = new Peer('client-B-0000000002', 0, 'ab');
    b.type(1, 'B'); // in flight, not yet at the server
    a.type(1, 'A');
    const opA = server.commitLatest(a); // A reaches the server first: version 1
    const opB = server.commitLatest(b); // B was based on version 0: rebased over A's op
    assert.equal(server.text, 'aABb');
    // A gets its ack, then B's broadcast; B gets A's broadcast, then its ack.
    a.feed({ type: 'ack', seq: opA.seq, version: 1 });
    a.feed({ type: 'remote', op: opB });
    b.feed({ type: 'remote', op: opA });
    b.feed({ type: 'ack', seq: opB.seq, version: 2 });
    assert.equal(a.doc, server.text);
    assert.equal(b.doc, server.text);
    assert.equal(b.state.version, 2);
  });

  it('typing during an in-flight op is buffered, composed and sent once the ack arrives', () => {
    const server = new Server('');
    const a = new Peer('client-A-0000000001', 0, '');
    a.type(0, 'h');
    a.type(1, 'e');
    a.type(2, 'y');
    assert.equal(a.sent().length, 1, 'one op in flight at a time');
    const first = server.commitLatest(a);
    const fx = a.feed({ type: 'ack', seq: first.seq, version: 1 });
    assert.deepEqual(a.kinds(fx), ['acked', 'send']);
    assert.deepEqual(a.sent()[1], { clientId: a.state.clientId, seq: 2, baseVersion: 1, op: [1, 'ey'] });
  });

  it('a catch-up that contains my own op before its ack confirms it, and it is not resent', () => {
    const server = new Server('xy');
    const a = new Peer('client-A-0000000001', 0, 'xy');
    a.type(2, '!');
    const mine = server.commitLatest(a); // committed, but the ack is lost with the connection
    a.feed({ type: 'disconnect' });
    a.type(0, '>'); // offline typing is buffered
    const fx = a.feed({ type: 'reconnect', ops: server.log.slice(0) });
    assert.deepEqual(a.kinds(fx), ['acked', 'send'], 'own op confirmed by identity; only the buffer is sent');
    assert.equal(a.sent().filter((s) => s.seq === mine.seq).length, 1, 'the committed op was not resent');
    assert.deepEqual(a.sent().at(-1), { clientId: a.state.clientId, seq: 2, baseVersion: 1, op: ['>', 3] });
    // The late ack for seq 1 (from the old connection) changes nothing.
    assert.deepEqual(a.feed({ type: 'ack', seq: mine.seq, version: 1 }), []);
  });

  it('a duplicate resubmission is acknowledged with its original version, not applied twice', () => {
    const server = new Server('abc');
    const a = new Peer('client-A-0000000001', 0, 'abc');
    a.type(3, 'd');
    const first = a.sent()[0];
    assert.ok(first);
    assert.equal(server.submit(first).kind, 'commit');
    // Someone else commits in between, then the resend (same identity, same base) arrives.
    server.submit({ clientId: 'client-B-0000000002', seq: 1, baseVersion: 1, op: ['X', 4] });
    const again = server.submit(first);
    assert.deepEqual(again, { kind: 'duplicate', version: 1 });
    assert.equal(server.text, 'Xabcd');
    assert.equal(server.log.length, 2);
    // Also after the op has left the history window (durable de-dup through lastCommitted).
    const late = sequence(
      first,
      { head: 2, headText: server.text, history: [], lastCommitted: { seq: 1, version: 1 } },
    );
    assert.deepEqual(late, { kind: 'duplicate', version: 1 });
  });

  it('a disconnect before the ack resends the in-flight op with the same seq, rebased onto the catch-up', () => {
    const server = new Server('hello');
    const a = new Peer('client-A-0000000001', 0, 'hello');
    const b = new Peer('client-B-0000000002', 0, 'hello');
    a.type(5, '!'); // sent, but lost on the wire
    a.feed({ type: 'disconnect' });
    b.type(0, '>');
    server.commitLatest(b);
    const fx = a.feed({ type: 'reconnect', ops: server.log.slice(0) });
    assert.deepEqual(a.kinds(fx), ['apply', 'send']);
    const resend = a.sent().at(-1);
    assert.deepEqual(resend, { clientId: a.state.clientId, seq: 1, baseVersion: 1, op: [6, '!'] });
    const decision = server.submit(resend as Submission);
    assert.equal(decision.kind, 'commit');
    a.feed({ type: 'ack', seq: 1, version: 2 });
    assert.equal(a.doc, '>hello!');
    assert.equal(server.text, '>hello!');
  });

  it('an ack that overtakes an earlier broadcast waits for it (and fetches it)', () => {
    const server = new Server('');
    const a = new Peer('client-A-0000000001', 0, '');
    const b = new Peer('client-B-0000000002', 0, '');
    b.type(0, 'b');
    const opB = server.commitLatest(b); // version 1
    a.type(0, 'a');
    const opA = server.commitLatest(a); // version 2, rebased over B
    const fx = a.feed({ type: 'ack', seq: opA.seq, version: 2 });
    assert.deepEqual(fx, [{ type: 'fetch', from: 1, to: 1 }]);
    assert.equal(a.state.version, 0);
    const fx2 = a.feed({ type: 'remote', op: opB });
    assert.deepEqual(a.kinds(fx2), ['apply', 'acked']);
    assert.equal(a.state.version, 2);
    assert.equal(a.doc, server.text);
  });

  it('a gap in broadcasts is detected, the missing range fetched once, and early ops applied in order', () => {
    const server = new Server('');
    const writer = new Peer('client-W-0000000001', 0, '');
    const ops: CommittedOp[] = [];
    for (const ch of ['1', '2', '3', '4']) {
      writer.type(writer.doc.length, ch);
      ops.push(server.commitLatest(writer));
      writer.feed({ type: 'ack', seq: ops.at(-1)!.seq, version: ops.at(-1)!.version });
    }
    const r = new Peer('client-R-0000000002', 0, '');
    r.feed({ type: 'remote', op: ops[0]! });
    assert.deepEqual(r.feed({ type: 'remote', op: ops[3]! }), [{ type: 'fetch', from: 2, to: 3 }]);
    assert.deepEqual(r.feed({ type: 'remote', op: ops[2]! }), [], 'already being fetched');
    r.feed({ type: 'remote', op: ops[1]! });
    assert.equal(r.doc, '1234');
    assert.equal(r.state.version, 4);
    assert.deepEqual(r.feed({ type: 'remote', op: ops[2]! }), [], 'a late duplicate is ignored');
  });

  it('a burst of early ops asks for the gap once, never for versions it already holds', () => {
    const server = new Server('');
    const writer = new Peer('client-W-0000000001', 0, '');
    const ops: CommittedOp[] = [];
    for (const ch of ['1', '2', '3', '4', '5', '6']) {
      writer.type(writer.doc.length, ch);
      ops.push(server.commitLatest(writer));
      writer.feed({ type: 'ack', seq: ops.at(-1)!.seq, version: ops.at(-1)!.version });
    }
    const r = new Peer('client-R-0000000002', 0, '');
    // 3, 4, 5, 6 arrive before 1 and 2 (another node's broadcasts, say).
    assert.deepEqual(r.feed({ type: 'remote', op: ops[2]! }), [{ type: 'fetch', from: 1, to: 2 }]);
    assert.deepEqual(r.feed({ type: 'remote', op: ops[3]! }), [], 'version 3 is held: nothing to ask');
    assert.deepEqual(r.feed({ type: 'remote', op: ops[4]! }), []);
    assert.deepEqual(r.feed({ type: 'remote', op: ops[5]! }), []);
    // A fetch reply that brings only version 1: the rest of the gap (2) is asked again, 3–6 are not.
    assert.deepEqual(r.feed({ type: 'fetched', ops: [ops[0]!] }).filter((e) => e.type === 'fetch'), [{ type: 'fetch', from: 2, to: 2 }]);
    r.feed({ type: 'fetched', ops: [ops[1]!] });
    assert.equal(r.doc, '123456');
    assert.equal(r.state.version, 6);
  });

  it('broadcasts in any order, some twice and some never (cross-node fan-out), with partial fetch replies: applied strictly in version order, the reader converges (seeded)', () => {
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    for (let trial = 0; trial < 300; trial++) {
      const rnd = new Random(seed + trial);
      const server = new Server('base');
      const writers = [new Peer('client-W-0000000001', 0, 'base'), new Peer('client-W-0000000002', 0, 'base')];
      const reader = new Peer('client-R-0000000003', 0, 'base');
      // The reader has its own edit in flight the whole time: every remote op is transformed
      // against it, so applying one out of order would corrupt the text, not just reorder it.
      reader.type(rnd.int(5), 'R');
      const readerSub = reader.sent()[0]!;
      const broadcasts: CommittedOp[] = [];
      for (let i = 0; i < 12; i++) {
        const w = rnd.pick(writers);
        // Writers keep up with the log before typing, like clients on the node that sequenced it.
        for (const op of server.log.slice(w.state.version)) w.feed(op.clientId === w.state.clientId ? { type: 'ack', seq: op.seq, version: op.version } : { type: 'remote', op });
        w.type(rnd.int(w.doc.length + 1), 'xyz'[i % 3]!);
        broadcasts.push(server.commitLatest(w));
      }
      // The reader's op is sequenced somewhere in the middle, after an unknown number of others.
      const readerCommitAt = rnd.int(broadcasts.length + 1);
      const log = server.log.slice(0, readerCommitAt);
      const later = server.log.slice(readerCommitAt);
      // Rebuild the server with the reader's op at `readerCommitAt`.
      const real = new Server('base');
      for (const op of log) real.submit({ clientId: op.clientId, seq: op.seq, baseVersion: op.version - 1, op: op.op });
      assert.equal(real.submit(readerSub).kind, 'commit');
      for (const op of later) real.submit({ clientId: op.clientId, seq: op.seq, baseVersion: op.version - 1, op: op.op });
      const ackVersion = readerCommitAt + 1;
      const others = real.log.filter((op) => op.clientId !== reader.state.clientId);

      // Delivery: shuffled, ~20% lost, ~20% delivered twice; the ack lands at a random moment.
      const queue: ({ kind: 'op'; op: CommittedOp } | { kind: 'ack' })[] = [];
      for (const op of others) {
        if (rnd.chance(0.2)) continue;
        queue.push({ kind: 'op', op });
        if (rnd.chance(0.2)) queue.push({ kind: 'op', op });
      }
      queue.splice(rnd.int(queue.length + 1), 0, { kind: 'ack' });
      for (let i = queue.length - 1; i > 0; i--) {
        const j = rnd.int(i + 1);
        [queue[i], queue[j]] = [queue[j]!, queue[i]!];
      }
      const fetches: { from: number; to: number }[] = [];
      let lastVersion = reader.state.version;
      const feed = (event: SyncEvent): void => {
        for (const e of reader.feed(event)) if (e.type === 'fetch') fetches.push({ from: e.from, to: e.to });
        assert.ok(reader.state.version >= lastVersion, 'the version never goes back');
        lastVersion = reader.state.version;
      };
      for (const item of queue) {
        feed(item.kind === 'ack' ? { type: 'ack', seq: readerSub.seq, version: ackVersion } : { type: 'remote', op: item.op });
        // Sometimes a fetch is answered in the middle, and only in part.
        if (fetches.length > 0 && rnd.chance(0.3)) {
          const f = fetches.shift()!;
          feed({ type: 'fetched', ops: real.log.slice(f.from - 1, Math.min(f.to, f.from - 1 + 1 + rnd.int(f.to - f.from + 1))) });
        }
      }
      // Then the transport answers every fetch (and a head hint covers a lost last broadcast).
      for (let guard = 0; reader.state.version < real.head && guard < 100; guard++) {
        const f = fetches.shift();
        if (f) feed({ type: 'fetched', ops: real.log.slice(f.from - 1, f.to) });
        else feed({ type: 'head', version: real.head });
      }
      const what = `seed ${seed + trial}`;
      assert.equal(reader.state.version, real.head, what);
      assert.equal(reader.doc, real.text, what);
      assert.equal(reader.state.inflight, null, `${what}: the reader's op was confirmed`);
      assert.equal(reader.effects.filter((e) => e.type === 'acked').length, 1, `${what}: acknowledged once`);
    }
  });

  it('a viewer’s forged edits are refused and rolled back, including typing buffered behind them', () => {
    const v = new Peer('client-V-0000000001', 3, 'read only');
    v.type(0, 'x');
    v.type(1, 'y');
    const forbidden = { code: ErrorCode.FORBIDDEN, message: 'viewers cannot edit' };
    const fx = v.feed({ type: 'reject', seq: 1, error: forbidden });
    assert.deepEqual(v.kinds(fx), ['apply', 'rolledBack']);
    assert.equal(v.doc, 'read only');
    assert.equal(v.state.inflight, null);
    assert.equal(v.state.buffer, null);
  });

  it('an invalid op is rolled back alone; typing after it survives and is sent', () => {
    const p = new Peer('client-P-0000000001', 0, 'abc');
    p.type(1, 'X');
    p.type(0, 'Y');
    const fx = p.feed({ type: 'reject', seq: 1, error: { code: ErrorCode.INVALID_TEXT, message: 'bad' } });
    assert.deepEqual(p.kinds(fx), ['apply', 'rolledBack', 'send']);
    assert.equal(p.doc, 'Yabc');
    assert.deepEqual(p.sent().at(-1), { clientId: p.state.clientId, seq: 2, baseVersion: 0, op: ['Y', 3] });
  });

  it('a retriable failure keeps the op and resends it unchanged when the transport says so', () => {
    const p = new Peer('client-P-0000000001', 0, '');
    p.type(0, 'a');
    const fx = p.feed({ type: 'reject', seq: 1, error: { code: ErrorCode.UNAVAILABLE, message: 'db down' } });
    assert.deepEqual(p.kinds(fx), ['retryLater']);
    const again = p.feed({ type: 'retry' });
    assert.deepEqual(again, [{ type: 'send', submission: { clientId: p.state.clientId, seq: 1, baseVersion: 0, op: ['a'] } }]);
  });

  it('after history compaction, a resync keeps local typing and rebases it over the jump', () => {
    const p = new Peer('client-P-0000000001', 0, 'one two');
    p.type(7, ' three'); // in flight, never acknowledged
    p.feed({ type: 'disconnect' });
    p.type(0, '> ');
    // The server moved on by many versions and compacted them; our op was not committed.
    const fx = p.feed({ type: 'resync', version: 40, text: 'ONE two', lastCommitted: null });
    assert.ok(p.kinds(fx).includes('merged'));
    assert.equal(p.doc, '> ONE two three');
    assert.equal(p.state.version, 40);
    const fx2 = p.feed({ type: 'reconnect', ops: [] });
    assert.deepEqual(p.kinds(fx2), ['send']);
    assert.deepEqual(p.sent().at(-1)?.seq, 2, 'a fresh seq for the rebased typing');
  });

  it('a resync after the in-flight op was committed does not apply it twice', () => {
    const p = new Peer('client-P-0000000001', 0, 'abc');
    p.type(3, 'd');
    const fx = p.feed({ type: 'resync', version: 9, text: 'abcd', lastCommitted: { seq: 1, version: 7 } });
    assert.deepEqual(fx, [{ type: 'acked', seq: 1, version: 7 }]);
    assert.equal(p.doc, 'abcd');
    assert.equal(p.state.inflight, null);
  });

  it('seq numbers only grow, across rollbacks and reconnects', () => {
    const p = new Peer('client-P-0000000001', 0, '');
    p.type(0, 'a');
    p.feed({ type: 'reject', seq: 1, error: { code: ErrorCode.OP_TOO_LARGE, message: 'big' } });
    p.type(0, 'b');
    p.feed({ type: 'disconnect' });
    p.feed({ type: 'reconnect', ops: [] });
    const seqs = p.sent().map((s) => s.seq);
    assert.deepEqual(seqs, [1, 2, 2]);
  });
});

describe('sequencing core: decisions', () => {
  const h = (version: number, op: TextOp, clientId = 'client-X-0000000009', seq = version): CommittedOp => ({
    version,
    op,
    clientId,
    seq,
  });

  it('commits at the head without transforming', () => {
    const d = sequence({ clientId: 'c-000000000000001', seq: 1, baseVersion: 0, op: ['a'] }, { head: 0, headText: '', history: [] });
    assert.deepEqual(d, { kind: 'commit', version: 1, op: ['a'] });
  });

  it('transforms over each missed op, committed ops winning ties', () => {
    const history = [h(1, ['x', 2]), h(2, [3, 'y'])];
    const d = sequence(
      { clientId: 'c-000000000000001', seq: 1, baseVersion: 0, op: ['a', 2] },
      { head: 2, headText: 'xaby', history },
    );
    assert.deepEqual(d, { kind: 'commit', version: 3, op: [1, 'a', 3] });
  });

  it('refuses a base version ahead of the head (VERSION_AHEAD)', () => {
    const d = sequence({ clientId: 'c-000000000000001', seq: 1, baseVersion: 5, op: [1] }, { head: 4, headText: 'x', history: [] });
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.VERSION_AHEAD);
  });

  it('refuses when the history since the base is missing (HISTORY_COMPACTED)', () => {
    const d = sequence(
      { clientId: 'c-000000000000001', seq: 1, baseVersion: 1, op: [1, 'a'] },
      { head: 3, headText: 'xyz', history: [h(3, [2, 'z'])] },
    );
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.HISTORY_COMPACTED);
  });

  it('refuses an op whose base length does not match the document at its base version', () => {
    const d = sequence({ clientId: 'c-000000000000001', seq: 1, baseVersion: 0, op: [5, 'a'] }, { head: 0, headText: 'abc', history: [] });
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.OP_BASE_LENGTH_MISMATCH);
  });

  it('refuses a stale seq that is not the last committed one (STALE_SUBMISSION)', () => {
    const d = sequence(
      { clientId: 'c-000000000000001', seq: 3, baseVersion: 9, op: [1, 'a'] },
      { head: 9, headText: 'x', history: [], lastCommitted: { seq: 7, version: 8 } },
    );
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.STALE_SUBMISSION);
  });

  it('refuses a late submission that the client abandoned when it resynchronised (fence)', () => {
    const d = sequence(
      { clientId: 'c-000000000000001', seq: 4, baseVersion: 0, op: [1, 'a'] },
      { head: 0, headText: 'x', history: [], lastCommitted: { seq: 2, version: 1 }, fencedSeq: 4 },
    );
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.STALE_SUBMISSION);
  });

  it('refuses an edit that would split a surrogate pair after rebasing (INVALID_TEXT)', () => {
    const d = sequence({ clientId: 'c-000000000000001', seq: 1, baseVersion: 0, op: [1, 'x', 1] }, { head: 0, headText: '😀', history: [] });
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.INVALID_TEXT);
  });

  it('refuses an edit that would make the document too large (DOCUMENT_TOO_LARGE)', () => {
    const d = sequence(
      { clientId: 'c-000000000000001', seq: 1, baseVersion: 0, op: [3, 'abc'] },
      { head: 0, headText: 'xyz', history: [] },
      { maxDocumentLength: 5 },
    );
    assert.equal(d.kind === 'reject' && d.error.code, ErrorCode.DOCUMENT_TOO_LARGE);
  });
});
