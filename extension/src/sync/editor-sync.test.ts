/**
 * EditorSync (the adapter loop) against the simulated VS Code document of the binding tests and a
 * mini server running the protocol's sequencing core. The binding itself is tested at length in
 * document-binding.test.ts; these tests are about the loop: flushing, retrying, attaching, EOL
 * switches, repairs, and a randomised session where every peer runs the real loop.
 */
import { strict as assert } from 'node:assert';
import { apply, createSyncState, isSynchronized, sequence, type CommittedOp, type ErrorBody, type Submission, type SyncEffect } from '@collab/protocol';
import { DocumentBinding } from '../binding/document-binding';
import { FakeDocument, RESHAPES, type Eol, type FakeChangeEvent, type Reshape } from '../binding/test-support/fake-document';
import { recordingLogger } from '../util/log';
import { EditorSync, diffChange, type EditorPort } from './editor-sync';

type Down = { kind: 'op'; op: CommittedOp } | { kind: 'ack'; seq: number; version: number } | { kind: 'reject'; seq: number; error: ErrorBody };

class MiniServer {
  head = 0;
  readonly log: CommittedOp[] = [];
  readonly progress = new Map<string, { seq: number; version: number }>();
  readonly peers: Peer[] = [];
  constructor(public text: string) {}

  receive(from: Peer, sub: Submission): void {
    const d = sequence(sub, { head: this.head, headText: this.text, history: this.log.slice(sub.baseVersion), lastCommitted: this.progress.get(sub.clientId) });
    if (d.kind === 'reject') throw new Error(`unexpected refusal ${d.error.code}`);
    if (d.kind === 'duplicate') return void from.down.push({ kind: 'ack', seq: sub.seq, version: d.version });
    const op: CommittedOp = { version: d.version, op: d.op, clientId: sub.clientId, seq: sub.seq };
    this.text = apply(op.op, this.text);
    this.log.push(op);
    this.head = op.version;
    this.progress.set(sub.clientId, { seq: sub.seq, version: op.version });
    for (const p of this.peers) if (p !== from) p.down.push({ kind: 'op', op });
    from.down.push({ kind: 'ack', seq: sub.seq, version: op.version });
  }
}

/** A port over the fake document; applyEdits wait until the test completes them. */
function portOf(doc: FakeDocument): EditorPort & { calls: number } {
  const port = {
    calls: 0,
    getText: () => doc.getText(),
    get eol() {
      return doc.eol;
    },
    applyEdit: (edits: Parameters<EditorPort['applyEdit']>[0]) => {
      port.calls++;
      return doc.applyEdit(edits, doc.version);
    },
  };
  return port;
}

class Peer {
  readonly doc: FakeDocument;
  readonly binding: DocumentBinding;
  readonly sync: EditorSync;
  readonly up: Submission[] = [];
  readonly down: Down[] = [];
  readonly log = recordingLogger();

  constructor(readonly id: string, readonly server: MiniServer, eol: Eol, editorText?: string) {
    this.doc = new FakeDocument(editorText ?? server.text, eol);
    this.binding = new DocumentBinding(createSyncState(id.padEnd(16, 'x'), server.head, server.text), eol);
    this.sync = new EditorSync(this.binding, portOf(this.doc), { run: (e) => this.perform(e) }, this.log, id, 'room', { delayMs: 1, maxDelayMs: 4 });
    this.doc.onDidChange((e: FakeChangeEvent) => this.sync.onDidChange(e));
    server.peers.push(this);
  }

  perform(effects: readonly SyncEffect[]): void {
    for (const e of effects) {
      if (e.type === 'send') this.up.push(e.submission);
      else if (e.type !== 'acked') throw new Error(`unexpected effect ${e.type}`);
    }
  }

  deliver(): boolean {
    let moved = false;
    for (let sub = this.up.shift(); sub; sub = this.up.shift()) {
      this.server.receive(this, sub);
      moved = true;
    }
    for (let msg = this.down.shift(); msg; msg = this.down.shift()) {
      const event = msg.kind === 'op' ? { type: 'remote' as const, op: msg.op } : msg.kind === 'ack' ? { type: 'ack' as const, seq: msg.seq, version: msg.version } : { type: 'reject' as const, seq: msg.seq, error: msg.error };
      this.perform(this.binding.onSyncEvent(event));
      this.sync.flush();
      moved = true;
    }
    return moved;
  }
}

async function settle(ms = 0): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Delivers and completes applyEdits until nothing moves, then checks convergence. */
async function drain(server: MiniServer, reshape: Reshape = 'asGiven'): Promise<void> {
  for (let round = 0; round < 300; round++) {
    let moved = false;
    for (const p of server.peers) moved = p.deliver() || moved;
    for (const p of server.peers) {
      while (p.doc.pendingApplyEdits > 0) {
        p.doc.completeApplyEdit({ reshape });
        moved = true;
      }
    }
    await settle();
    if (!moved && server.peers.every((p) => p.up.length === 0 && p.down.length === 0 && p.doc.pendingApplyEdits === 0 && !p.sync.busy && !p.binding.hasPendingEditorChanges)) {
      for (const p of server.peers) {
        assert.equal(p.doc.canonicalText(), server.text, `${p.id}'s document`);
        assert.ok(isSynchronized(p.binding.state), `${p.id} synchronized`);
        assert.equal(p.sync.check(), 'ok', `${p.id} check`);
      }
      return;
    }
  }
  throw new Error('did not settle');
}

describe('EditorSync (the adapter loop)', () => {
  it('writes a remote edit into the editor with one applyEdit and recognises its echo', async () => {
    const server = new MiniServer('hello\nworld\n');
    const a = new Peer('A', server, '\n');
    const b = new Peer('B', server, '\r\n');
    a.doc.type(5, ', there');
    await drain(server);
    assert.equal(b.doc.getText(), 'hello, there\r\nworld\r\n');
    assert.ok(!b.log.lines.some((l) => l.startsWith('warn')), b.log.lines.join('\n'));
  });

  it('retries when the user typed between planning and applying (the version guard)', async () => {
    const server = new MiniServer('abc');
    const a = new Peer('A', server, '\n');
    const b = new Peer('B', server, '\n');
    a.doc.type(0, 'X');
    a.deliver();
    b.deliver(); // B plans an applyEdit for "X"
    assert.equal(b.doc.pendingApplyEdits, 1);
    b.doc.type(3, '!'); // ...and types before it runs: the edit must fail and be re-planned
    assert.equal(b.doc.completeApplyEdit(), false);
    await settle();
    assert.equal(b.doc.pendingApplyEdits, 1, 're-planned at once');
    await drain(server);
    assert.equal(server.text, 'Xabc!');
  });

  it('backs off, then re-reads the document, when applyEdit keeps failing', async () => {
    const server = new MiniServer('abc');
    const a = new Peer('A', server, '\n');
    let refusals = 0;
    const doc = new FakeDocument('abc');
    const binding = new DocumentBinding(createSyncState('Bxxxxxxxxxxxxxxx', 0, 'abc'), '\n');
    const log = recordingLogger();
    const port: EditorPort = {
      getText: () => doc.getText(),
      eol: '\n',
      applyEdit: async () => {
        refusals++;
        return false; // e.g. VS Code refuses for a reason of its own
      },
    };
    const sync = new EditorSync(binding, port, { run: () => undefined }, log, 'B', 'room', { immediateRetries: 2, repairAfter: 6, delayMs: 1, maxDelayMs: 2 });
    doc.onDidChange((e) => sync.onDidChange(e));
    a.doc.type(3, 'd');
    a.deliver();
    binding.onSyncEvent({ type: 'remote', op: server.log[0] as CommittedOp });
    sync.flush();
    await settle(50);
    assert.ok(refusals >= 6, `retried (${refusals})`);
    assert.ok(log.lines.some((l) => /repairing the editor: \d+ applyEdits in a row failed/.test(l)), log.lines.join('\n'));
    sync.dispose();
  });

  it('attaches a document that lags the model: the room wins', async () => {
    const server = new MiniServer('room text');
    const b = new Peer('B', server, '\n', 'stale');
    await drain(server);
    assert.equal(b.doc.getText(), 'room text');
  });

  it('attaches a document whose text differs with mode "editor": the editor wins and is sent', async () => {
    const server = new MiniServer('first part');
    const doc = new FakeDocument('first part and the rest\nline 2');
    const binding = new DocumentBinding(createSyncState('Cxxxxxxxxxxxxxxx', 0, 'first part'), '\n', 'first part');
    const sent: Submission[] = [];
    const sync = new EditorSync(binding, portOf(doc), { run: (effects) => effects.forEach((e) => e.type === 'send' && sent.push(e.submission)) }, recordingLogger(), 'C', 'editor');
    assert.equal(binding.modelText, 'first part and the rest\nline 2');
    assert.equal(binding.editorText, doc.canonicalText());
    assert.equal(sent.length, 1);
    assert.equal(apply(sent[0]?.op ?? [], server.text), 'first part and the rest\nline 2');
    assert.equal(doc.pendingApplyEdits, 0, 'nothing to write into the editor');
    sync.dispose();
  });

  it('follows an EOL switch of the document', async () => {
    const server = new MiniServer('a\nb');
    const a = new Peer('A', server, '\n');
    const b = new Peer('B', server, '\n');
    (b.doc as unknown as { eol: Eol }).eol = '\r\n'; // as `Change End of Line Sequence` would, followed by an empty event
    b.sync.onDidChange({ contentChanges: [] });
    a.doc.type(1, '\nx');
    a.deliver();
    b.deliver();
    b.doc.completeApplyEdit();
    await settle();
    const edits = b.log.lines;
    assert.ok(!edits.some((l) => l.startsWith('warn')));
    // The planned text used the new EOL: the canonical text is right either way.
    assert.equal(b.doc.canonicalText(), 'a\nx\nb');
  });

  it('repairs a document that drifted from the binding (it should never happen) and logs a warning', async () => {
    const server = new MiniServer('abc');
    const a = new Peer('A', server, '\n');
    // Drift: the document changes without the loop hearing of it.
    const raw = a.doc as unknown as { raw: string };
    raw.raw = 'abcZ';
    assert.equal(a.sync.check(), 'repaired');
    assert.ok(a.log.lines.some((l) => /^warn: A: repairing the editor: the editor text differs/.test(l)));
    assert.equal(a.binding.editorText, 'abcZ');
    await drain(server);
    assert.equal(a.doc.getText(), 'abc', 'the model wins: the stray text is removed');
  });

  it('builds single-replacement changes that never split a surrogate pair', () => {
    assert.deepEqual(diffChange('abc', 'aXc'), { range: { start: { line: 0, character: 1 }, end: { line: 0, character: 2 } }, text: 'X' });
    assert.deepEqual(diffChange('a\nb', 'a\nb\nc'), { range: { start: { line: 1, character: 1 }, end: { line: 1, character: 1 } }, text: '\nc' });
    const change = diffChange('x😀', 'x😃');
    assert.equal(change.text, '😃');
    assert.deepEqual(change.range.start, { line: 0, character: 1 });
  });

  it('converges in randomised sessions where every peer runs the loop', async function () {
    this.timeout(60_000);
    const seed = Number(process.env['SEED'] ?? Math.floor(Math.random() * 1e9));
    let state = seed >>> 0;
    const rnd = (): number => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n: number) => Math.floor(rnd() * n);
    for (let session = 0; session < 60; session++) {
      const server = new MiniServer('line one\nline two\n');
      const peers = [new Peer('A', server, '\n'), new Peer('B', server, '\r\n'), new Peer('C', server, int(2) ? '\n' : '\r\n')];
      for (let stepNo = 0; stepNo < 60; stepNo++) {
        const p = peers[int(peers.length)] as Peer;
        const action = int(6);
        try {
          if (action <= 2) {
            const len = p.doc.canonicalText().length;
            const at = int(len + 1);
            if (int(3) === 0 && len > 0) p.doc.delete(Math.min(at, len - 1), 1 + int(Math.min(3, len - Math.min(at, len - 1))));
            else p.doc.type(at, ['x', 'yz', '\n', 'é', '😀'][int(5)] as string);
          } else if (action === 3) {
            p.deliver();
          } else if (action === 4 && p.doc.pendingApplyEdits > 0) {
            p.doc.completeApplyEdit({ reshape: RESHAPES[int(RESHAPES.length)] as Reshape });
          } else if (p.doc.canUndo && int(4) === 0) {
            p.doc.undo();
          }
        } catch (error) {
          if (!/splits a surrogate pair/.test(String(error))) throw error;
        }
        await Promise.resolve();
      }
      try {
        await drain(server, RESHAPES[int(RESHAPES.length)] as Reshape);
      } catch (error) {
        throw new Error(`seed ${seed} session ${session}: ${String(error)}`);
      }
      for (const p of peers) assert.ok(!p.log.lines.some((l) => l.startsWith('warn')), `seed ${seed}: ${p.log.lines.join('\n')}`);
    }
  });
});
