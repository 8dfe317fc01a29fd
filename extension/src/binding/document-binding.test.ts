/**
 * DocumentBinding against a simulated VS Code document (test-support/fake-document.ts) and a tiny
 * in-memory server running the protocol's real sequencing core.
 *
 * The examples read as bug reports: a setup, what the user or the network does, what must hold.
 * The randomised sessions connect two or three bindings (some CRLF documents, some eager adapters
 * that flush after every event, some viewers whose edits the server refuses) and interleave user
 * typing (multi-cursor, undo, redo), message delivery per FIFO channel, flushes and applyEdit
 * completions (some failing because the user typed, some resolving late, echoes re-shaped). After
 * draining, every document must hold the server's text.
 *
 * SEED=<n> replays a run (session 0 uses the seed itself, so SEED=<n> BINDING_SESSIONS=1 replays one
 * session); BINDING_SESSIONS and BINDING_STEPS scale it (defaults 3000 sessions of up to 120 steps).
 */
import { strict as assert } from 'node:assert';
import {
  apply,
  createSyncState,
  ErrorCode,
  isSynchronized,
  parseOp,
  sequence,
  type CommittedOp,
  type ErrorBody,
  type Submission,
  type SyncEffect,
  type SyncEvent,
} from '@collab/protocol';
import { intFromEnv, Random, seedFromEnv } from '@collab/protocol/dist/test-support/random';
import { DocumentBinding, type ChangeKind, type EditorEdit, type PlannedFlush } from './document-binding';
import { LineIndex } from './line-index';
import {
  ChangeReason,
  FakeDocument,
  RESHAPES,
  type CanonicalReplacement,
  type Eol,
  type FakeChangeEvent,
  type Reshape,
} from './test-support/fake-document';

/** The run's seed (`SEED=` replays it), printed by the randomised test. */
const BASE_SEED = seedFromEnv();

/** Lets promise continuations (the adapter's `applyEdit(...).then`) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
}

// -------------------------------------------------------------------------------------------------
// The tiny server and the adapter around each binding
// -------------------------------------------------------------------------------------------------

/** A message from the server to one client. */
type Down =
  | { readonly kind: 'op'; readonly op: CommittedOp }
  | { readonly kind: 'ack'; readonly seq: number; readonly version: number }
  | { readonly kind: 'reject'; readonly seq: number; readonly error: ErrorBody };

/** A log, a text and a de-dup table, deciding with the protocol's `sequence` (as the backend does). */
class TinyServer {
  text: string;
  head = 0;
  readonly log: CommittedOp[] = [];
  readonly progress = new Map<string, { seq: number; version: number }>();
  /** Clients whose edits are refused with FORBIDDEN. */
  readonly viewers = new Set<string>();
  /** Refusals other than a viewer's FORBIDDEN: a correct client never earns one. */
  readonly unexpectedRefusals: string[] = [];
  readonly peers: Peer[] = [];

  constructor(text: string) {
    this.text = text;
  }

  /** Handles one submission from `from`: commit and broadcast, acknowledge, or refuse. */
  receive(from: Peer, sub: Submission): void {
    const refuse = (error: ErrorBody): void => {
      if (!(error.code === ErrorCode.FORBIDDEN && this.viewers.has(sub.clientId))) {
        this.unexpectedRefusals.push(`${sub.clientId}#${sub.seq}: ${error.code} ${error.message}`);
      }
      from.down.push({ kind: 'reject', seq: sub.seq, error });
    };
    if (this.viewers.has(sub.clientId)) return refuse({ code: ErrorCode.FORBIDDEN, message: 'viewer' });
    // What the backend's message validation would say about the op's shape and text.
    const shape = parseOp(sub.op);
    if (!shape.ok) return refuse(shape.error);
    const decision = sequence(sub, {
      head: this.head,
      headText: this.text,
      history: this.log.slice(sub.baseVersion),
      lastCommitted: this.progress.get(sub.clientId),
    });
    if (decision.kind === 'reject') return refuse(decision.error);
    if (decision.kind === 'duplicate') {
      from.down.push({ kind: 'ack', seq: sub.seq, version: decision.version });
      return;
    }
    const op: CommittedOp = { version: decision.version, op: decision.op, clientId: sub.clientId, seq: sub.seq };
    this.text = apply(op.op, this.text);
    this.log.push(op);
    this.head = op.version;
    this.progress.set(sub.clientId, { seq: sub.seq, version: op.version });
    for (const peer of this.peers) if (peer !== from) peer.down.push({ kind: 'op', op });
    from.down.push({ kind: 'ack', seq: sub.seq, version: op.version });
  }
}

interface PeerStats {
  echoes: number;
  edits: number;
  multiCursor: number;
  undos: number;
  coincidentalEchoes: number;
  flushes: number;
  failedApplyEdits: number;
  lateResults: number;
  rollbacks: number;
  crlfEchoes: number;
}

function emptyStats(): PeerStats {
  return {
    echoes: 0,
    edits: 0,
    multiCursor: 0,
    undos: 0,
    coincidentalEchoes: 0,
    flushes: 0,
    failedApplyEdits: 0,
    lateResults: 0,
    rollbacks: 0,
    crlfEchoes: 0,
  };
}

/**
 * What the extension does around a binding: forwards change events and sync events, carries out
 * effects, runs `planFlush` → `applyEdit` → `flushSettled`. An `eager` adapter also flushes after
 * every event and every settled applyEdit; otherwise the test decides when to flush.
 */
class Peer {
  readonly doc: FakeDocument;
  readonly binding: DocumentBinding;
  readonly up: Submission[] = [];
  readonly down: Down[] = [];
  /** Plans handed to applyEdit whose promise has not resolved yet. */
  readonly running: PlannedFlush[] = [];
  readonly stats = emptyStats();
  /** What happened, for failure messages. */
  readonly trace: string[];
  lastKind: ChangeKind | null = null;
  /** An assertion that failed inside a promise continuation, rethrown by the next `check`. */
  private failure: unknown = null;

  constructor(
    readonly id: string,
    readonly server: TinyServer,
    text: string,
    readonly eol: Eol,
    readonly eager: boolean,
    trace: string[],
  ) {
    this.trace = trace;
    this.doc = new FakeDocument(text, eol);
    this.binding = new DocumentBinding(createSyncState(id, server.head, server.text), eol, this.doc.canonicalText());
    this.doc.onDidChange((e) => this.onChange(e));
    server.peers.push(this);
  }

  /** The document change listener: `binding.onEditorChange`, then the checks. */
  private onChange(e: FakeChangeEvent): void {
    const inflight = this.running[0];
    const { kind, effects } = this.binding.onEditorChange(e.contentChanges);
    this.lastKind = kind;
    this.trace.push(`${this.id} ${e.source} v${e.version} ${JSON.stringify(e.contentChanges.map((c) => [c.range.start, c.range.end, c.text]))} → ${kind}`);
    if (e.source === 'applyEdit') {
      assert.equal(kind, 'echo', `${this.id}: the change caused by our own applyEdit was not recognised as its echo`);
      assert.equal(effects.length, 0, `${this.id}: an echo sent something`);
      this.stats.echoes++;
      if (this.eol === '\r\n') this.stats.crlfEchoes++;
    } else if (kind === 'echo') {
      // Content-based echo detection cannot tell a keystroke that produces exactly the text a
      // pending applyEdit would produce from that applyEdit's echo; it must at least be that text.
      assert.ok(inflight && this.doc.canonicalText() === inflight.expected, `${this.id}: a user edit was taken for an echo`);
      this.stats.coincidentalEchoes++;
    } else {
      this.stats.edits++;
      if (e.contentChanges.length > 1) this.stats.multiCursor++;
      if (e.reason === ChangeReason.Undo) this.stats.undos++;
    }
    this.perform(effects);
    this.check(`after a ${e.source} change`);
    if (this.eager) this.flush();
  }

  /** Feeds a sync event (what the transport does with a server message). */
  sync(event: SyncEvent): SyncEffect[] {
    const effects = this.binding.onSyncEvent(event);
    this.perform(effects);
    this.check(`after ${event.type}`);
    if (this.eager) this.flush();
    return effects;
  }

  private perform(effects: readonly SyncEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send':
          this.up.push(effect.submission);
          break;
        case 'acked':
          break;
        case 'rolledBack':
          this.stats.rollbacks++;
          break;
        default:
          // A lossless FIFO network with a faithful server never calls for these.
          throw new Error(`${this.id}: unexpected effect ${JSON.stringify(effect)}`);
      }
    }
  }

  /** Plans a flush and starts its applyEdit; false when the binding has nothing to write now. */
  flush(): boolean {
    const plan = this.binding.planFlush();
    if (!plan) return false;
    this.stats.flushes++;
    this.running.push(plan);
    this.trace.push(`${this.id} flush v${this.doc.version} ${JSON.stringify(plan.edits.map((e) => [e.range.start, e.range.end, e.text]))}`);
    this.doc
      .applyEdit(plan.edits, this.doc.version)
      .then((applied) => {
        this.running.shift();
        if (!applied) this.stats.failedApplyEdits++;
        this.trace.push(`${this.id} applyEdit → ${applied}`);
        this.perform(this.binding.flushSettled(applied));
        this.check('after flushSettled');
        if (this.eager) this.flush();
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      });
    return true;
  }

  /** Completes the oldest pending applyEdit. */
  complete(reshape: Reshape = 'asGiven', holdResult = false): boolean {
    if (holdResult) this.stats.lateResults++;
    return this.doc.completeApplyEdit({ reshape, holdResult });
  }

  /** Delivers this client's oldest submission to the server. */
  deliverUp(): boolean {
    const sub = this.up.shift();
    if (!sub) return false;
    this.trace.push(`${this.id} → server #${sub.seq}@${sub.baseVersion} ${JSON.stringify(sub.op)}`);
    this.server.receive(this, sub);
    return true;
  }

  /** Delivers the oldest server message to this client. */
  deliverDown(): boolean {
    const msg = this.down.shift();
    if (!msg) return false;
    this.trace.push(`server → ${this.id} ${JSON.stringify(msg)}`);
    if (msg.kind === 'op') this.sync({ type: 'remote', op: msg.op });
    else if (msg.kind === 'ack') this.sync({ type: 'ack', seq: msg.seq, version: msg.version });
    else this.sync({ type: 'reject', seq: msg.seq, error: msg.error });
    return true;
  }

  /** What must hold after every step. */
  check(when: string): void {
    if (this.failure) throw this.failure;
    assert.ok(this.binding.checkInvariant(), `${this.id}: invariant broken ${when}`);
    // Changes held until an applyEdit's result is in are in the document but not yet in editorText.
    if (this.binding.deferredChanges === 0) {
      assert.equal(this.binding.editorText, this.doc.canonicalText(), `${this.id}: binding's editor text differs from the document ${when}`);
    }
    assert.ok(!this.binding.needsFullReplace, `${this.id}: needs a full replace ${when}`);
  }

  /** True when nothing is queued, running or waiting to be written into the editor. */
  get quiet(): boolean {
    return (
      this.up.length === 0 &&
      this.down.length === 0 &&
      this.doc.pendingApplyEdits === 0 &&
      this.doc.heldApplyEditResults === 0 &&
      this.running.length === 0 &&
      !this.binding.hasPendingEditorChanges
    );
  }
}

/** A server with peers, for the examples. */
class World {
  readonly server: TinyServer;
  readonly peers: Peer[] = [];
  readonly trace: string[] = [];

  constructor(text: string, peers: ReadonlyArray<{ eol?: Eol; eager?: boolean; viewer?: boolean }>) {
    this.server = new TinyServer(text);
    peers.forEach((p, i) => {
      const peer = new Peer(String.fromCharCode(65 + i), this.server, text, p.eol ?? '\n', p.eager ?? false, this.trace);
      if (p.viewer) this.server.viewers.add(peer.id);
      this.peers.push(peer);
    });
  }

  peer(i: number): Peer {
    return this.peers[i] as Peer;
  }

  /** Delivers every message in flight (submissions first), without flushing. */
  deliverAll(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const p of this.peers) while (p.deliverUp()) moved = true;
      for (const p of this.peers) while (p.deliverDown()) moved = true;
    }
  }

  /** Delivers, flushes and completes applyEdits until nothing moves; then everyone must agree. */
  async drain(reshape: Reshape = 'asGiven'): Promise<void> {
    for (let round = 0; round < 200; round++) {
      this.deliverAll();
      for (const p of this.peers) {
        p.doc.releaseResults();
        while (p.doc.pendingApplyEdits > 0) p.complete(reshape);
      }
      await settle();
      for (const p of this.peers) p.check(`in drain round ${round}`);
      for (const p of this.peers) p.flush();
      if (this.peers.every((p) => p.quiet)) {
        this.assertConverged();
        return;
      }
    }
    throw new Error(`did not settle:\n${this.trace.slice(-30).join('\n')}`);
  }

  assertConverged(): void {
    assert.deepEqual(this.server.unexpectedRefusals, [], 'the server refused an edit');
    for (const p of this.peers) {
      assert.equal(p.doc.canonicalText(), this.server.text, `${p.id}'s document differs from the server`);
      assert.equal(p.binding.modelText, this.server.text, `${p.id}'s model differs from the server`);
      assert.ok(isSynchronized(p.binding.state), `${p.id} still has unsent edits`);
      assert.ok(!p.binding.hasPendingEditorChanges, `${p.id} still has changes for the editor`);
      p.check('at the end');
    }
  }
}

/** The document positions of canonical `[start, end)` in `doc`. */
function range(doc: FakeDocument, start: number, end = start): EditorEdit['range'] {
  return doc.rangeOf(start, end);
}

// -------------------------------------------------------------------------------------------------
// Examples
// -------------------------------------------------------------------------------------------------

describe('DocumentBinding', () => {
  it('turns a multi-cursor change event (3 inserts + 1 replace) into one op, and the model equals the document', async () => {
    const w = new World('one\ntwo\nthree\nfour\n', [{}, {}]);
    const a = w.peer(0);
    const event = a.doc.edit([
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '1:' },
      { range: { start: { line: 1, character: 3 }, end: { line: 1, character: 3 } }, text: '!' },
      { range: { start: { line: 2, character: 5 }, end: { line: 2, character: 5 } }, text: '?' },
      { range: { start: { line: 3, character: 0 }, end: { line: 3, character: 4 } }, text: 'FOUR' },
    ]);
    assert.equal(event?.contentChanges.length, 4);
    // VS Code lists them bottom to top.
    assert.deepEqual(event?.contentChanges.map((c) => c.range.start.line), [3, 2, 1, 0]);
    assert.equal(a.doc.canonicalText(), '1:one\ntwo!\nthree?\nFOUR\n');
    assert.equal(a.lastKind, 'edit');
    assert.equal(a.binding.modelText, a.doc.canonicalText());
    assert.equal(a.up.length, 1, 'one submission for the whole event');
    assert.equal(apply((a.up[0] as Submission).op, 'one\ntwo\nthree\nfour\n'), '1:one\ntwo!\nthree?\nFOUR\n');
    await w.drain();
    assert.equal(w.server.text, '1:one\ntwo!\nthree?\nFOUR\n');
  });

  it('keeps VS Code’s order for two inserts at the same offset in one event', async () => {
    const w = new World('ab', [{}, { eol: '\r\n' }]);
    const a = w.peer(0);
    const event = a.doc.edit([
      { range: range(a.doc, 1), text: 'first' },
      { range: range(a.doc, 1), text: 'second' },
    ]);
    // The later-added insert comes first in contentChanges; applied in order, "first" ends up first.
    assert.deepEqual(event?.contentChanges.map((c) => c.text), ['second', 'first']);
    assert.equal(a.doc.canonicalText(), 'afirstsecondb');
    assert.equal(a.binding.modelText, 'afirstsecondb');
    await w.drain();
    assert.equal(w.peer(1).doc.getText(), 'afirstsecondb');
  });

  it('reads changes in any other order one by one, each in the text the ones before it left', () => {
    const w = new World('one\ntwo\nsix\n', [{}]);
    const a = w.peer(0);
    // Top to bottom (not how VS Code lists them): line 2 is counted after the first change's new line.
    a.binding.onEditorChange([
      { range: range(a.doc, 0), text: 'X\n' },
      { range: { start: { line: 2, character: 0 }, end: { line: 2, character: 3 } }, text: 'TWO' },
    ]);
    assert.equal(a.binding.modelText, 'X\none\nTWO\nsix\n');
  });

  it('maps offsets and line breaks of a CRLF document both ways', async () => {
    const w = new World('x\ny\nz', [{ eol: '\r\n' }, {}]);
    const [crlf, lf] = [w.peer(0), w.peer(1)];
    assert.equal(crlf.doc.getText(), 'x\r\ny\r\nz');
    // A remote "a\nb" after "y" (canonical offset 3) is written into the CRLF document as "a\r\nb".
    lf.doc.type(3, 'a\nb');
    w.deliverAll();
    assert.ok(crlf.flush());
    const plan = crlf.running[0] as PlannedFlush;
    assert.deepEqual(plan.edits, [{ range: { start: { line: 1, character: 1 }, end: { line: 1, character: 1 } }, text: 'a\r\nb' }]);
    crlf.complete();
    await settle();
    assert.equal(crlf.doc.getText(), 'x\r\nya\r\nb\r\nz');
    // The user deletes the line break between "x" and "ya": two code units in the document, one
    // unit of the op.
    const event = crlf.doc.edit([{ range: { start: { line: 0, character: 1 }, end: { line: 1, character: 0 } }, text: '' }]);
    assert.equal(event?.contentChanges[0]?.rangeLength, 2);
    assert.deepEqual(crlf.up.at(-1)?.op, [1, -1, 6]);
    // And the user types a line break at the end: "\r\n" in the document, "\n" in the op.
    crlf.doc.edit([{ range: { start: { line: 2, character: 1 }, end: { line: 2, character: 1 } }, text: '\r\n' }]);
    assert.equal(crlf.doc.getText(), 'xya\r\nb\r\nz\r\n');
    assert.equal(crlf.binding.modelText, 'xya\nb\nz\n');
    await w.drain();
    assert.equal(w.server.text, 'xya\nb\nz\n');
    assert.equal(lf.doc.getText(), 'xya\nb\nz\n');
  });

  it('counts surrogate pairs and combining marks in UTF-16 code units both ways', async () => {
    const text = '😀 e\u0301!\n👍🏽';
    const w = new World(text, [{ eol: '\r\n' }, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    // The user types after the emoji: character 2 on line 0 (the emoji is two code units).
    a.doc.edit([{ range: { start: { line: 0, character: 2 }, end: { line: 0, character: 2 } }, text: '🎉' }]);
    assert.deepEqual(a.up[0]?.op, [2, '🎉', text.length - 2]);
    // A remote edit puts a mark between "e" and its combining accent, and deletes the thumbs-up
    // with its skin tone (four code units).
    b.doc.replace([
      { offset: 4, text: '\u0323' },
      { offset: 7, length: 4, text: '✓' },
    ]);
    w.deliverAll();
    await w.drain();
    assert.equal(w.server.text, '😀🎉 e\u0323\u0301!\n✓');
    assert.equal(a.doc.getText(), '😀🎉 e\u0323\u0301!\r\n✓');
    // Deleting the emoji deletes both halves.
    b.doc.delete(0, 2);
    await w.drain();
    assert.equal(a.doc.canonicalText(), '🎉 e\u0323\u0301!\n✓');
  });

  for (const reshape of RESHAPES) {
    it(`recognises the echo of its own applyEdit by content (event shaped ${reshape}) and sends nothing back`, async () => {
      const w = new World('alpha\nbeta\ngamma\n😀!\n', [{ eol: '\r\n' }, {}]);
      const [a, b] = [w.peer(0), w.peer(1)];
      b.doc.replace([
        { offset: 0, length: 5, text: 'ALPHA' },
        { offset: 6, text: '>> ' },
        { offset: 11, length: 5, text: 'gamma ray\n' },
        { offset: 17, length: 2, text: '😁' },
      ]);
      w.deliverAll();
      assert.ok(a.binding.hasPendingEditorChanges);
      assert.ok(a.flush());
      a.complete(reshape);
      assert.equal(a.lastKind, 'echo');
      assert.equal(a.up.length, 0, 'nothing sent back');
      await settle();
      assert.ok(!a.binding.hasPendingEditorChanges);
      assert.equal(a.binding.planFlush(), null);
      assert.equal(a.doc.getText(), 'ALPHA\r\n>> beta\r\ngamma ray\r\n\r\n😁!\r\n');
      await w.drain();
      assert.equal(w.server.log.length, 1, 'only B’s edit was committed');
    });
  }

  it('transforms a keystroke typed while a remote edit’s applyEdit is pending; the stale applyEdit fails and is re-planned', async () => {
    const w = new World('hello world', [{}, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    b.doc.type(0, 'REMOTE ');
    w.deliverAll();
    assert.ok(a.flush());
    const planned = a.doc.version;
    // The user types "!" at the end of what they see ("hello world") before VS Code applies it.
    a.doc.type(11, '!');
    assert.notEqual(a.doc.version, planned);
    assert.equal(a.binding.modelText, 'REMOTE hello world!', 'the keystroke is in the model, after the remote text');
    assert.equal(a.binding.planFlush(), null, 'no second applyEdit while one runs');
    assert.equal(a.complete(), false, 'VS Code refuses the edit: the document changed');
    await settle();
    assert.equal(a.stats.failedApplyEdits, 1);
    assert.equal(a.doc.canonicalText(), 'hello world!');
    // Re-planned from the current text.
    assert.ok(a.flush());
    assert.equal(a.complete(), true);
    await settle();
    assert.equal(a.doc.canonicalText(), 'REMOTE hello world!');
    assert.equal(a.binding.modelText, a.doc.canonicalText());
    await w.drain();
    assert.equal(w.server.text, 'REMOTE hello world!');
    assert.equal(b.doc.canonicalText(), 'REMOTE hello world!');
  });

  it('treats an undo (reason Undo) as an ordinary edit', async () => {
    const w = new World('abc', [{}, { eol: '\r\n' }]);
    const a = w.peer(0);
    a.doc.type(1, 'xy\n');
    await w.drain();
    assert.equal(w.server.text, 'axy\nbc');
    const undo = a.doc.undo();
    assert.equal(undo?.reason, ChangeReason.Undo);
    assert.equal(a.lastKind, 'edit');
    assert.equal(a.doc.canonicalText(), 'abc');
    assert.deepEqual(a.up.at(-1)?.op, [1, -3, 2]);
    await w.drain();
    assert.equal(w.server.text, 'abc');
    assert.equal(w.peer(1).doc.getText(), 'abc');
  });

  it('rolls back an edit the server refuses (FORBIDDEN) through planFlush', async () => {
    const w = new World('read only\n', [{ viewer: true }, {}]);
    const a = w.peer(0);
    a.doc.type(4, '-write');
    a.doc.type(0, '>');
    assert.equal(a.binding.modelText, '>read-write only\n');
    w.deliverAll();
    assert.equal(a.stats.rollbacks, 1);
    assert.equal(a.binding.modelText, 'read only\n');
    assert.equal(a.doc.canonicalText(), '>read-write only\n', 'the editor still shows it until the flush');
    assert.ok(a.flush());
    a.complete('minimal');
    await settle();
    assert.equal(a.doc.canonicalText(), 'read only\n');
    await w.drain();
    assert.equal(w.server.log.length, 0);
  });

  it('binds a document whose text differs from the server’s and brings it to the server text with one applyEdit', async () => {
    const stale = new FakeDocument('stale text\n', '\r\n');
    const binding = new DocumentBinding(createSyncState('A', 3, 'server text\n'), '\r\n', stale.canonicalText());
    stale.onDidChange((e) => binding.onEditorChange(e.contentChanges));
    const plan = binding.planFlush();
    assert.ok(plan);
    const result = stale.applyEdit(plan.edits, stale.version);
    stale.completeApplyEdit({ reshape: 'minimal' });
    binding.flushSettled(await result);
    assert.equal(stale.getText(), 'server text\r\n');
    assert.ok(binding.checkInvariant());
    assert.ok(!binding.hasPendingEditorChanges);
  });

  // --- Regressions ------------------------------------------------------------------------------

  it('does not wait for the echo of an applyEdit that changes nothing (a remote delete our own pending delete already made)', async () => {
    // A and B both delete "b". B's delete is committed first; A's in-flight delete makes B's op a
    // no-op for A's editor. VS Code emits no change event for an edit that changes nothing, so a
    // flush of it would wait for an echo forever and no later remote edit would reach A's editor.
    const w = new World('abc', [{}, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    a.doc.delete(1, 1);
    b.doc.delete(1, 1);
    b.deliverUp();
    a.deliverDown(); // B's delete reaches A before A's own is sent
    a.flush();
    while (a.doc.pendingApplyEdits > 0) a.complete('minimal');
    await settle();
    b.doc.type(2, 'X');
    await w.drain();
    assert.equal(w.server.text, 'acX');
    assert.equal(a.doc.canonicalText(), 'acX');
  });

  it('does not let the late result of an applyEdit whose echo was seen settle a later flush', async () => {
    // VS Code sends the echo before applyEdit's promise resolves. An eager adapter flushes again on
    // the echo; if the user then types, the first applyEdit's late `true` used to land on the second
    // (invalidated) flush and demand a full replace of the document.
    const w = new World('0123456789', [{ eager: true }, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    b.doc.type(0, 'first ');
    w.deliverAll();
    assert.equal(a.doc.pendingApplyEdits, 1);
    b.doc.type(16, ' second');
    b.deliverUp();
    a.complete('asGiven', true); // applied and echoed; the promise is held back
    a.deliverDown(); // B's second edit arrives; the eager adapter may flush again
    a.doc.type(6, 'typed ');
    a.doc.releaseResults();
    await settle();
    a.check('after the late result');
    await w.drain();
    assert.equal(a.doc.canonicalText(), 'first typed 0123456789 second');
  });

  it('accepts applyEdit’s result before its echo, and the echo after it', () => {
    const binding = new DocumentBinding(createSyncState('A', 0, 'abc'), '\n', 'abc');
    binding.onSyncEvent({ type: 'remote', op: { version: 1, op: ['X', 3], clientId: 'B', seq: 1 } });
    const plan = binding.planFlush();
    assert.ok(plan);
    binding.flushSettled(true);
    const echo = binding.onEditorChange([{ range: (plan.edits[0] as EditorEdit).range, text: 'X' }]);
    assert.equal(echo.kind, 'echo');
    assert.ok(!binding.hasPendingEditorChanges);
    binding.onSyncEvent({ type: 'remote', op: { version: 2, op: [4, 'Y'], clientId: 'B', seq: 2 } });
    assert.ok(binding.planFlush(), 'a new flush can start');
  });

  it('asks for a full replace when an applyEdit reported applied is followed by a change that is not its echo', () => {
    // Not VS Code's order (the echo comes first), but if the result does come first and the text
    // then changes otherwise than planned, the editor no longer lacks exactly the pending ops.
    const binding = new DocumentBinding(createSyncState('A', 0, 'abc'), '\n', 'abc');
    binding.onSyncEvent({ type: 'remote', op: { version: 1, op: ['X', 3], clientId: 'B', seq: 1 } });
    assert.ok(binding.planFlush());
    binding.flushSettled(true);
    const change = binding.onEditorChange([{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'Y' }]);
    assert.equal(change.kind, 'edit');
    assert.ok(binding.needsFullReplace);
    assert.ok(binding.checkInvariant());
    binding.editorReplaced(binding.modelText);
    assert.ok(!binding.needsFullReplace && !binding.hasPendingEditorChanges);
  });

  it('maps every offset to a position and back (LineIndex), clamping like VS Code', () => {
    const text = 'ab\n\n😀e\u0301\nlast';
    const index = new LineIndex(text);
    assert.equal(index.lineCount, 4);
    for (let offset = 0; offset <= text.length; offset++) assert.equal(index.offsetAt(index.positionAt(offset)), offset);
    assert.deepEqual(index.positionAt(5), { line: 2, character: 1 });
    assert.equal(index.offsetAt({ line: 0, character: 99 }), 2, 'past the end of a line: its end, not the next line');
    assert.equal(index.offsetAt({ line: 9, character: 0 }), text.length);
    assert.equal(index.offsetAt({ line: -1, character: 3 }), 0);
    // Exact: every position inside the text, and none that `offsetAt` would have to clamp.
    for (let offset = 0; offset <= text.length; offset++) assert.equal(index.exactOffsetAt(index.positionAt(offset)), offset);
    for (const outside of [{ line: 0, character: 3 }, { line: 4, character: 0 }, { line: -1, character: 0 }, { line: 1, character: -1 }]) {
      assert.equal(index.exactOffsetAt(outside), undefined, JSON.stringify(outside));
    }
  });

  it('keeps a keystroke that produces exactly the text a pending applyEdit would write (taken for the echo until applyEdit fails)', async () => {
    // Content cannot tell them apart at first: B types "x" at 0, and A types "x" at 0 before A's
    // applyEdit of B's "x" runs. A's change looks like the echo; applyEdit then fails on the version,
    // which proves it was typing: both keystrokes are kept. A's keystroke typed meanwhile waits.
    const w = new World('abc', [{}, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    b.doc.type(0, 'x');
    w.deliverAll();
    assert.ok(a.flush());
    a.doc.type(0, 'x');
    assert.equal(a.lastKind, 'echo');
    a.doc.type(1, 'y');
    assert.equal(a.lastKind, 'deferred');
    assert.equal(a.binding.deferredChanges, 1);
    assert.equal(a.up.length, 0, 'nothing sent before the result is in');
    assert.equal(a.complete(), false);
    await settle();
    assert.equal(a.binding.deferredChanges, 0);
    assert.equal(a.up.length, 1, 'A’s keystrokes are sent once the result is in (one op in flight, the rest buffered)');
    await w.drain();
    assert.equal(w.server.text, 'xxyabc');
  });

  it('takes the echo for an echo when applyEdit succeeds, then replays the changes held meanwhile', async () => {
    const w = new World('abc', [{}, {}]);
    const [a, b] = [w.peer(0), w.peer(1)];
    b.doc.type(0, 'x');
    w.deliverAll();
    assert.ok(a.flush());
    a.complete('asGiven', true); // applied and echoed; the result is held back
    assert.equal(a.lastKind, 'echo');
    a.doc.type(1, 'y');
    assert.equal(a.lastKind, 'deferred');
    a.doc.releaseResults();
    await settle();
    assert.equal(a.up.length, 1);
    await w.drain();
    assert.equal(w.server.text, 'xyabc');
  });

  it(`loses and duplicates no keystroke when peers type single characters into one spot (seed ${BASE_SEED})`, async function () {
    // Typing the same character at the same place as the remote edit being applied is what makes a
    // keystroke look like our echo; a two-letter alphabet and one hot spot make that frequent.
    this.timeout(60_000);
    const rounds = intFromEnv('BINDING_TYPING_SESSIONS', 300);
    let coincidences = 0;
    for (let i = 0; i < rounds; i++) {
      const seed = sessionSeed(BASE_SEED ^ 0x5eed, i);
      const rng = new Random(seed);
      const w = new World('', [{ eager: rng.chance(0.5) }, { eager: rng.chance(0.5) }, {}].slice(0, rng.range(2, 3)));
      const typed = new Map<string, number>();
      try {
        for (let s = 0; s < 80; s++) {
          const p = rng.pick(w.peers);
          const roll = rng.next();
          if (roll < 0.35) {
            const text = p.doc.canonicalText();
            const ch = rng.pick(['a', 'b']);
            const at = rng.chance(0.7) ? 0 : rng.int(text.length + 1);
            p.doc.type(at, ch);
            typed.set(ch, (typed.get(ch) ?? 0) + 1);
          } else if (roll < 0.55) p.deliverUp();
          else if (roll < 0.75) p.deliverDown();
          else if (roll < 0.85) p.flush();
          else if (p.doc.pendingApplyEdits > 0) p.complete('asGiven', rng.chance(0.3));
          else p.doc.releaseResults();
          await settle();
        }
        await w.drain();
      } catch (err) {
        throw new Error(`session ${i} (SEED=${seed}): ${(err as Error).message}\n    ${w.trace.slice(-20).join('\n    ')}`, { cause: err });
      }
      for (const p of w.peers) coincidences += p.stats.coincidentalEchoes;
      const count = (ch: string) => w.server.text.split(ch).length - 1;
      assert.deepEqual({ a: count('a'), b: count('b') }, { a: typed.get('a') ?? 0, b: typed.get('b') ?? 0 }, `session ${i} (SEED=${seed}): keystrokes lost or duplicated`);
    }
    console.log(`      ${rounds} sessions, ${coincidences} keystrokes first taken for an echo`);
    if (rounds >= 100) assert.ok(coincidences > 0, 'the run must exercise keystrokes taken for an echo');
  });

  // -------------------------------------------------------------------------------------------------
  // Randomised sessions
  // -------------------------------------------------------------------------------------------------

  const SESSIONS = intFromEnv('BINDING_SESSIONS', 3000);
  const MAX_STEPS = intFromEnv('BINDING_STEPS', 120);

  it(`converges in ${SESSIONS} random sessions (seed ${BASE_SEED})`, async function () {
    this.timeout(120_000);
    console.log(`      document-binding seed ${BASE_SEED} (replay with SEED=${BASE_SEED})`);
    const total = emptyStats();
    let viewerSessions = 0;
    for (let i = 0; i < SESSIONS; i++) {
      const seed = sessionSeed(BASE_SEED, i);
      let stats: { peers: PeerStats; viewer: boolean };
      try {
        stats = await runSession(seed, MAX_STEPS);
      } catch (err) {
        throw new Error(
          `session ${i} failed; replay it alone with SEED=${seed} BINDING_SESSIONS=1: ${(err as Error).message}`,
          { cause: err },
        );
      }
      for (const key of Object.keys(total) as Array<keyof PeerStats>) total[key] += stats.peers[key];
      if (stats.viewer) viewerSessions++;
    }
    console.log(`      ${JSON.stringify(total)}`);
    if (SESSIONS >= 200) {
      // The run must have exercised what it is about.
      assert.ok(total.echoes > SESSIONS, 'echoes');
      assert.ok(total.crlfEchoes > 0, 'echoes in CRLF documents');
      assert.ok(total.multiCursor > 0, 'multi-cursor events');
      assert.ok(total.undos > 0, 'undos');
      assert.ok(total.failedApplyEdits > 0, 'applyEdits refused because the user typed');
      assert.ok(total.lateResults > 0, 'applyEdit results held back');
      assert.ok(total.rollbacks > 0 && viewerSessions > 0, 'rollbacks');
    }
  });
});

function sessionSeed(base: number, i: number): number {
  if (i === 0) return base;
  let h = (base ^ Math.imul(i, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

const INITIAL_TEXTS = ['', 'hello\nworld\n', 'fn main() {\n    println!("héllo 😀");\n}\n', '漢字かな👍🏽\ne\u0301\n', 'a\n\nb'];
const PIECES = ['a', 'b', 'x', ' ', '\n', 'é', 'e\u0301', '\u0301', '😀', '👍🏽', '漢', '\t', '\n\n'];

function randomText(rng: Random, max: number): string {
  let s = '';
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

/** An offset of `text` not between the halves of a surrogate pair. */
function boundary(text: string, offset: number): number {
  const u = text.charCodeAt(offset);
  return offset > 0 && offset < text.length && u >= 0xdc00 && u <= 0xdfff ? offset - 1 : offset;
}

/** A random edit: one cursor, or several (often typing the same text), some with selections. */
function randomEdit(rng: Random, text: string): CanonicalReplacement[] {
  const cursors = rng.chance(0.3) ? rng.range(2, 4) : 1;
  const starts = Array.from({ length: cursors }, () => boundary(text, rng.int(text.length + 1))).sort((x, y) => x - y);
  const same = rng.chance(0.5) ? randomText(rng, 2) : null;
  return starts.map((start, k) => {
    const limit = starts[k + 1] ?? text.length;
    let end = start;
    if (rng.chance(0.35)) end = boundary(text, Math.min(limit, start + rng.range(1, 4)));
    if (end < start) end = start;
    return { offset: start, length: end - start, text: same ?? randomText(rng, 3) };
  });
}

/** One random session; returns its statistics. */
async function runSession(seed: number, maxSteps: number): Promise<{ peers: PeerStats; viewer: boolean }> {
  const rng = new Random(seed);
  const initial = rng.pick(INITIAL_TEXTS);
  const world = new World(
    initial,
    Array.from({ length: rng.range(2, 3) }, () => ({ eol: rng.chance(0.4) ? ('\r\n' as const) : ('\n' as const), eager: rng.chance(0.4) })),
  );
  const viewer = rng.chance(0.15);
  if (viewer) world.server.viewers.add(rng.pick(world.peers).id);
  const steps = rng.range(10, maxSteps);
  try {
    for (let s = 0; s < steps; s++) {
      const p = rng.pick(world.peers);
      const roll = rng.next();
      if (roll < 0.3) {
        const edit = randomEdit(rng, p.doc.canonicalText());
        p.doc.replace(edit);
      } else if (roll < 0.34) {
        p.doc.undo();
      } else if (roll < 0.35) {
        p.doc.redo();
      } else if (roll < 0.52) {
        p.deliverUp();
      } else if (roll < 0.7) {
        p.deliverDown();
      } else if (roll < 0.8) {
        p.flush();
      } else if (roll < 0.93) {
        if (p.doc.pendingApplyEdits > 0) p.complete(rng.pick(RESHAPES), rng.chance(0.3));
      } else {
        p.doc.releaseResults();
      }
      await settle();
      for (const q of world.peers) q.check(`after step ${s}`);
    }
    await world.drain(rng.pick(RESHAPES));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  last steps:\n    ${world.trace.slice(-25).join('\n    ')}`, { cause: err });
  }
  const peers = emptyStats();
  for (const p of world.peers) for (const key of Object.keys(peers) as Array<keyof PeerStats>) peers[key] += p.stats[key];
  return { peers, viewer };
}

// -------------------------------------------------------------------------------------------------
// The fake itself
// -------------------------------------------------------------------------------------------------

/** Replays an event the way VS Code's MirrorTextModel does: in array order, by position, on the raw text. */
function mirror(text: string, eol: Eol, event: FakeChangeEvent): string {
  let out = text;
  for (const change of event.contentChanges) {
    const lines = out.split(eol);
    const offsetOf = (p: { line: number; character: number }): number =>
      lines.slice(0, p.line).reduce((n, l) => n + l.length + eol.length, 0) + p.character;
    const start = offsetOf(change.range.start);
    const end = offsetOf(change.range.end);
    assert.equal(end - start, change.rangeLength);
    out = out.slice(0, start) + change.text + out.slice(end);
  }
  return out;
}

describe('FakeDocument (test support)', () => {
  it(`emits changes that replay in array order, undoes exactly, and re-shapes without changing the result (seed ${BASE_SEED})`, () => {
    const rng = new Random(BASE_SEED ^ 0x5eed);
    for (let session = 0; session < 200; session++) {
      const eol: Eol = rng.chance(0.5) ? '\r\n' : '\n';
      const doc = new FakeDocument(rng.pick(INITIAL_TEXTS), eol);
      let seen = doc.getText();
      let version = doc.version;
      doc.onDidChange((e) => {
        seen = mirror(seen, eol, e);
        assert.equal(seen, doc.getText(), 'the event replays to the document text');
        assert.equal(e.version, ++version, 'one version per event');
        for (const c of e.contentChanges) {
          assert.ok(eol === '\n' ? !c.text.includes('\r') : !/(^|[^\r])\n/.test(c.text), 'text in the document EOL');
        }
      });
      const history: string[] = [doc.canonicalText()];
      for (let i = 0; i < 15; i++) {
        const before = doc.canonicalText();
        const versionBefore = doc.version;
        if (rng.chance(0.5)) {
          doc.replace(randomEdit(rng, before));
        } else {
          const target = new FakeDocument(before, '\n');
          target.replace(randomEdit(rng, before));
          const edits = [{ range: doc.rangeOf(0, before.length), text: target.getText() }];
          void doc.applyEdit(edits, doc.version);
          doc.completeApplyEdit({ reshape: rng.pick(RESHAPES) });
          assert.equal(doc.canonicalText(), target.canonicalText(), 'applyEdit gives the edit’s text');
        }
        // Every change event (even one that rewrites text with itself) is one undo step.
        if (doc.version !== versionBefore) history.push(doc.canonicalText());
      }
      while (doc.canUndo) {
        history.pop();
        doc.undo();
        assert.equal(doc.canonicalText(), history.at(-1), 'undo restores the previous text');
      }
      assert.equal(history.length, 1);
    }
  });

  it('fails an applyEdit planned before the user typed, and changes nothing for an edit that changes nothing', async () => {
    const doc = new FakeDocument('a\nb', '\r\n');
    const stale = doc.applyEdit([{ range: doc.rangeOf(0, 1), text: 'A' }], doc.version);
    doc.type(3, '!');
    assert.equal(doc.completeApplyEdit(), false);
    assert.equal(await stale, false);
    assert.equal(doc.getText(), 'a\r\nb!');
    const version = doc.version;
    const same = doc.applyEdit([{ range: doc.rangeOf(0, 1), text: 'a' }], version);
    let events = 0;
    doc.onDidChange(() => events++);
    assert.equal(doc.completeApplyEdit({ reshape: 'minimal' }), true);
    assert.equal(await same, true);
    assert.equal(events, 0, 'no change event');
    assert.equal(doc.version, version, 'no new version');
  });
});
