/**
 * The two-node scenario's precondition: an op committed through one node reaches a reader of the
 * same file on another node (the Redis fan-out is live). Checked with two clients of its own, one
 * per node, on file 0 as its room's owner, so the run's clients stay where the placement put them
 * (with placement by room, none of them shares a file with a client on another node).
 */
import { BenchClient } from './bench-client';
import { LatencyTracker } from './latency';
import type { WorldSetup } from './world';

/** The error when fewer than two node URLs are given. */
export const NEED_TWO = 'two-nodes: the fan-out check needs two node URLs';
/** The error when ops do not cross nodes. */
export const NO_FANOUT = 'needs REDIS multi-node support (issue #5): an op committed on node 1 did not reach a client on node 2 within 3 s';

/** Types on file 0 through `urls[0]` and waits (≤ `timeoutMs`) until a reader on `urls[1]` has applied it. */
export async function probeFanout(urls: readonly string[], setup: WorldSetup, timeoutMs = 3000): Promise<void> {
  const [writerUrl, readerUrl] = urls;
  const owner = setup.users[0];
  const roomId = setup.roomIds[0];
  const fileId = setup.fileIds[0];
  if (!writerUrl || !readerUrl) throw new Error(NEED_TWO);
  if (!owner || !roomId || !fileId) throw new Error('two-nodes: the world has no file to probe');
  // Its own tracker: the probe's op precedes the window and counts nowhere.
  const sink = new LatencyTracker();
  const clients: BenchClient[] = [];
  try {
    const open = async (url: string, index: number) => {
      const client = await BenchClient.connect(url, owner.token, index, timeoutMs, roomId);
      clients.push(client);
      await client.joinRoom(roomId);
      return client.openFile(roomId, fileId, sink);
    };
    const writer = await open(writerUrl, -1);
    const reader = await open(readerUrl, -2);
    const target = Math.max(writer.state.version, reader.state.version) + 1;
    writer.type(0, 'x');
    const deadline = performance.now() + timeoutMs;
    while (reader.state.version < target) {
      if (performance.now() > deadline) throw new Error(NO_FANOUT);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    for (const client of clients) client.close();
  }
}
