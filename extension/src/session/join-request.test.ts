import { strict as assert } from 'node:assert';
import type { JoinRequestResolved } from '@collab/protocol';
import { askToJoin } from './join-request';

const ROOM = 'R'.repeat(22);

function fakeConnection(answer: (emit: (r: JoinRequestResolved) => void) => void) {
  const listeners: Array<(r: JoinRequestResolved) => void> = [];
  const emit = (r: JoinRequestResolved) => listeners.forEach((l) => l(r));
  return {
    requests: [] as unknown[],
    on(_event: string, handler: (r: JoinRequestResolved) => void) {
      listeners.push(handler);
      return () => listeners.splice(listeners.indexOf(handler), 1);
    },
    async request(_event: string, payload: unknown) {
      this.requests.push(payload);
      answer(emit);
      return { ok: true as const, requestId: 'req1' };
    },
    listeners,
  };
}

describe('asking to join a private room', () => {
  it('waits for the resolution of our request', async () => {
    const c = fakeConnection((emit) => setTimeout(() => {
      emit({ roomId: ROOM, requestId: 'other', decision: 'deny' });
      emit({ roomId: ROOM, requestId: 'req1', decision: 'viewer' });
    }, 5));
    const result = await askToJoin(c as never, ROOM, 'editor');
    assert.deepEqual(result, { ok: true, value: 'viewer' });
    assert.deepEqual(c.requests, [{ roomId: ROOM, role: 'editor' }]);
    assert.equal(c.listeners.length, 0, 'unsubscribed');
  });

  it('takes a resolution that arrives before the reply', async () => {
    const c = fakeConnection((emit) => emit({ roomId: ROOM, requestId: 'req1', decision: 'deny' }));
    assert.deepEqual(await askToJoin(c as never, ROOM, 'viewer'), { ok: true, value: 'deny' });
  });

  it('stops waiting when cancelled', async () => {
    const c = fakeConnection(() => undefined);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 5);
    const result = await askToJoin(c as never, ROOM, 'editor', abort.signal);
    assert.equal(result.ok, false);
  });
});
