/**
 * The connection hides the server's batches from its consumers: over a real Socket.IO server, a
 * `participants` frame reaches the `participant:joined` and `participant:updated` handlers one
 * change at a time in the frame's order, whatever the order the handlers were registered in, and
 * an unsubscribed handler hears nothing more.
 */
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { ParticipantEvent, ParticipantsBatch } from '@collab/protocol';
import { CollabConnection } from './connection';

const ROOM = 'V1StGXR8_Z5jdHi6B-myT0';

function who(userId: string, online: boolean): ParticipantEvent {
  return { userId, username: userId, role: 'editor', color: '#1f77b4', activeFileId: null, online, roomId: ROOM };
}

describe('CollabConnection: participant batches', function () {
  this.timeout(10_000);
  let io: Server;
  let url: string;
  let connection: CollabConnection | undefined;

  before(async () => {
    const http = createServer();
    io = new Server(http, { transports: ['websocket'] });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterEach(() => connection?.close());
  after(async () => {
    await new Promise<void>((resolve) => void io.close(() => resolve()));
  });

  it('feeds each change of a `participants` frame to its kind’s handlers, in the frame’s order', async () => {
    connection = await CollabConnection.connect({ url, token: () => 'unused' });
    const heard: string[] = [];
    // `updated` registered first: a batch must still reach `joined` for b before `updated` for b.
    const offUpdated = connection.on('participant:updated', (p) => void heard.push(`updated ${p.userId} ${p.online}`));
    connection.on('participant:joined', (p) => void heard.push(`joined ${p.userId}`));
    const batch: ParticipantsBatch = {
      roomId: ROOM,
      changes: [
        { event: 'participant:updated', participant: who('a', true) },
        { event: 'participant:joined', participant: who('b', false) },
        { event: 'participant:updated', participant: who('b', true) },
      ],
    };
    io.emit('participants', batch);
    io.emit('participant:updated', who('c', true));
    await until(() => heard.length === 4);
    assert.deepEqual(heard, ['updated a true', 'joined b', 'updated b true', 'updated c true']);

    offUpdated();
    io.emit('participants', { roomId: ROOM, changes: [batch.changes[1], batch.changes[2]] });
    await until(() => heard.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(heard.slice(4), ['joined b'], 'the unsubscribed handler hears nothing');
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), 'timed out');
}

describe('CollabConnection: room affinity', function () {
  this.timeout(10_000);
  let io: Server;
  let url: string;
  const connections: CollabConnection[] = [];

  before(async () => {
    const http = createServer();
    io = new Server(http, { transports: ['websocket'] });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const c of connections) c.close();
    await new Promise<void>((resolve) => void io.close(() => resolve()));
  });

  /** Connects and resolves with the `room` query parameter of the handshake the server saw. */
  const roomSeen = async (affinity: string | undefined): Promise<unknown> => {
    const seen = new Promise<unknown>((resolve) => io.once('connection', (socket) => resolve(socket.handshake.query['room'])));
    connections.push(await CollabConnection.connect({ url, token: () => 'unused', ...(affinity === undefined ? {} : { affinity }) }));
    return seen;
  };

  it('sends the room it connects for as the handshake’s `room` query parameter (what a balancer hashes on), and none without one', async () => {
    assert.equal(await roomSeen(ROOM), ROOM);
    assert.equal(await roomSeen(undefined), undefined);
  });
});
