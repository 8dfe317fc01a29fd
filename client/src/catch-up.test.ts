/**
 * The file driver's catch-up on lost broadcasts, against a fake connection: with nothing arriving
 * for an interval it asks for the ops past its version; while ops keep arriving it does not; and a
 * re-open answered "retry" (the server's database restarting) is tried again until it succeeds.
 */
import { strict as assert } from 'node:assert';
import { createSyncState, step, type SyncEffect, type SyncEvent, type SyncState, type WireOp } from '@collab/protocol';
import type { AnyReply, CollabConnection, ConnectionStatus } from './connection';
import { FileSync, type SyncCore } from './file-sync';

/** A connection whose replies the test scripts; records every request. */
class FakeConnection {
  status: ConnectionStatus = 'live';
  readonly requests: [string, any][] = [];
  private readonly ops = new Set<(op: WireOp) => void>();
  constructor(readonly answer: (event: string, payload: any) => AnyReply) {}
  on(event: string, handler: (op: WireOp) => void): () => void {
    if (event === 'op') this.ops.add(handler);
    return () => this.ops.delete(handler);
  }
  onStatus(): () => void {
    return () => undefined;
  }
  async request(event: string, payload: unknown): Promise<AnyReply> {
    this.requests.push([event, payload]);
    return this.answer(event, payload);
  }
  push(op: WireOp): void {
    for (const h of this.ops) h(op);
  }
}

class Core implements SyncCore {
  state: SyncState = createSyncState('client-C-0000000001', 0, 'abc');
  feed(event: SyncEvent): SyncEffect[] {
    const r = step(this.state, event);
    this.state = r.state;
    return r.effects.filter((e) => e.type !== 'apply') as SyncEffect[];
  }
}

const wire = (version: number, text: string): WireOp => ({ fileId: 'f', version, op: [text, 3 + version - 1], clientId: 'client-O-0000000009', seq: version, author: 'u', at: 0 });

describe('FileSync catch-up and re-open retries', () => {
  it('after an interval with nothing arriving it fetches past its version and applies what was missed (a lost last broadcast)', async () => {
    const conn = new FakeConnection((event, p) => (event === 'ops:fetch' && p.from === 1 ? { ok: true, ops: [wire(1, 'x')] } : { ok: true, ops: [] }));
    const core = new Core();
    const sync = new FileSync(conn as unknown as CollabConnection, 'r', 'f', core.state.clientId, core, {}, { catchUpIntervalMs: 20 });
    await new Promise((r) => setTimeout(r, 120));
    sync.dispose();
    assert.equal(core.state.version, 1);
    assert.equal(core.state.serverText, 'xabc');
    const fetches = conn.requests.filter(([e]) => e === 'ops:fetch');
    assert.ok(fetches.length >= 1);
    assert.deepEqual(fetches[0]![1], { roomId: 'r', fileId: 'f', from: 1, to: 100 });
  });

  it('does not poll while ops keep arriving, nor when catch-up is off', async () => {
    const conn = new FakeConnection(() => ({ ok: true, ops: [] }));
    const core = new Core();
    const sync = new FileSync(conn as unknown as CollabConnection, 'r', 'f', core.state.clientId, core, {}, { catchUpIntervalMs: 30 });
    for (let v = 1; v <= 8; v++) {
      conn.push(wire(v, 'y'));
      await new Promise((r) => setTimeout(r, 12));
    }
    const duringTraffic = conn.requests.filter(([e]) => e === 'ops:fetch').length;
    sync.dispose();
    assert.equal(core.state.version, 8);
    assert.ok(duringTraffic <= 1, `at most one poll while ops arrived every 12 ms, got ${duringTraffic}`);
    const quiet = new FakeConnection(() => ({ ok: true, ops: [] }));
    const off = new FileSync(quiet as unknown as CollabConnection, 'r', 'f', 'client-C-0000000001', new Core());
    await new Promise((r) => setTimeout(r, 60));
    off.dispose();
    assert.equal(quiet.requests.length, 0);
  });

  it('waits gapFetchDelayMs for a gap to fill by broadcast: an out-of-order arrival costs no fetch, a real gap is fetched after the pause', async () => {
    const conn = new FakeConnection((event, p) => (event === 'ops:fetch' && p.from === 3 ? { ok: true, ops: [wire(3, 'c')] } : { ok: true, ops: [] }));
    const core = new Core();
    const sync = new FileSync(conn as unknown as CollabConnection, 'r', 'f', core.state.clientId, core, {}, { gapFetchDelayMs: 40 });
    // Version 2 before 1 (two nodes' broadcasts crossing): 1 arrives within the pause.
    conn.push(wire(2, 'b'));
    await new Promise((r) => setTimeout(r, 10));
    conn.push(wire(1, 'a'));
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(core.state.version, 2);
    assert.deepEqual(conn.requests.filter(([e]) => e === 'ops:fetch'), []);
    // Version 4 while 3 never comes: fetched, but only after the pause.
    conn.push(wire(4, 'd'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(conn.requests.length, 0, 'not before the pause');
    await new Promise((r) => setTimeout(r, 50));
    sync.dispose();
    assert.deepEqual(conn.requests.map(([e, p]) => [e, p.from, p.to]), [['ops:fetch', 3, 3]]);
    assert.equal(core.state.version, 4);
  });

  it('a re-open answered UNAVAILABLE is retried with back-off until the server answers', async () => {
    let refusals = 2;
    const conn = new FakeConnection((event) => {
      if (event !== 'file:open') return { ok: true, ops: [] };
      if (refusals-- > 0) return { ok: false, error: { code: 'UNAVAILABLE', message: 'storage unavailable; retry' } };
      return { ok: true, mode: 'ops', version: 1, ops: [wire(1, 'z')], lastCommitted: null };
    });
    const core = new Core();
    core.state = { ...core.state, online: false };
    const sync = new FileSync(conn as unknown as CollabConnection, 'r', 'f', core.state.clientId, core);
    assert.equal(await sync.reopen(), true);
    sync.dispose();
    assert.equal(conn.requests.filter(([e]) => e === 'file:open').length, 3);
    assert.equal(core.state.version, 1);
    assert.equal(core.state.online, true);
  });
});
