/**
 * A bench client's cursor update is what an editor would send (PROTOCOL.md §10): the caret in the
 * server text's offsets at the client's version, mapped back through the edits still pending.
 */
import { strict as assert } from 'node:assert';
import type { CollabConnection } from '@collab/client';
import { BenchDoc } from './bench-doc';
import { LatencyTracker } from './latency';

/** A connection that records what is sent and never answers (the op stays in flight). */
function fakeConnection(): { connection: CollabConnection; notified: [string, unknown][]; requests: string[] } {
  const notified: [string, unknown][] = [];
  const requests: string[] = [];
  const connection = {
    status: 'live',
    on: () => () => undefined,
    onStatus: () => () => undefined,
    notify: (event: string, payload: unknown) => void notified.push([event, payload]),
    request: (event: string) => {
      requests.push(event);
      return new Promise(() => undefined);
    },
    requestNow: (event: string) => void requests.push(event),
  } as unknown as CollabConnection;
  return { connection, notified, requests };
}

describe('bench: BenchDoc cursors', () => {
  it('sends the caret mapped back through the pending edits, at the client’s version', () => {
    const { connection, notified, requests } = fakeConnection();
    const doc = new BenchDoc(connection, 'room', 'file', 'client-0000000000000001', 7, 'abcdef', new LatencyTracker());
    doc.sendCursor(4);
    doc.type(1, 'X'); // in flight
    doc.type(0, 'YZ'); // buffered behind it
    assert.equal(doc.text, 'YZaXbcdef');
    assert.deepEqual(requests, ['op:submit']);
    // The caret after "X" (local offset 4) is at offset 1 of the server text "abcdef".
    doc.sendCursor(4);
    // A caret after "d" (local 7) is after "d" in the server text too (offset 4).
    doc.sendCursor(7);
    assert.deepEqual(
      notified.map(([event, p]) => [event, (p as { version: number }).version, (p as { selections: { anchor: number; head: number }[] }).selections]),
      [
        ['cursor:update', 7, [{ anchor: 4, head: 4 }]],
        ['cursor:update', 7, [{ anchor: 1, head: 1 }]],
        ['cursor:update', 7, [{ anchor: 4, head: 4 }]],
      ],
    );
    assert.deepEqual(notified[0]?.[1], { roomId: 'room', fileId: 'file', version: 7, selections: [{ anchor: 4, head: 4 }] });
    doc.sync.dispose();
  });
});
