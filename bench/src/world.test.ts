/** The world's layout: which file, room and node each client gets under each placement. */
import { strict as assert } from 'node:assert';
import { nodeOf, roomOf, type WorldSpec } from './world';

const spec = (placement: WorldSpec['placement']): Pick<WorldSpec, 'files' | 'filesPerRoom' | 'urls' | 'placement'> => ({
  files: 50,
  filesPerRoom: 5,
  urls: ['http://a', 'http://b'],
  ...(placement ? { placement } : {}),
});

describe('bench world: placement of clients on nodes', () => {
  const clients = Array.from({ length: 200 }, (_, c) => c);

  it('by room: every client of a room (so of each file) is on one node, and the rooms are split evenly', () => {
    const s = spec('room');
    const nodeOfRoom = new Map<number, number>();
    for (const c of clients) {
      const room = roomOf(s, c);
      if (!nodeOfRoom.has(room)) nodeOfRoom.set(room, nodeOf(s, c));
      assert.equal(nodeOf(s, c), nodeOfRoom.get(room), `client ${c} is on its room's node`);
    }
    const perNode = [0, 1].map((n) => [...nodeOfRoom.values()].filter((v) => v === n).length);
    assert.deepEqual(perNode, [5, 5]);
  });

  it('spread (and the default): the clients of each file alternate between the nodes', () => {
    for (const s of [spec('spread'), spec(undefined)]) {
      for (let file = 0; file < s.files; file++) {
        const nodes = clients.filter((c) => c % s.files === file).map((c) => nodeOf(s, c));
        assert.deepEqual(nodes, [0, 1, 0, 1], `file ${file}`);
      }
    }
  });
});
