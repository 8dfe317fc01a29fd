/**
 * Coalescing a room's participant events: a quiet room's event goes out at once (skipping the
 * socket it names); what follows within the window goes out at its end, in order, as one frame;
 * another event of the room flushes what waits first; rooms do not wait for each other.
 */
import { strict as assert } from 'node:assert';
import type { ParticipantChange, ParticipantEvent } from '@collab/protocol';
import { RoomNotices, type ParticipantEventName } from './room-notices';

type Sent = { roomId: string; one?: { event: ParticipantEventName; userId: string; except: string | undefined }; many?: [string, string][] };

function recorder(): { sent: Sent[]; notices: (windowMs: number, maxBatch?: number) => RoomNotices } {
  const sent: Sent[] = [];
  const sink = {
    one: (roomId: string, event: ParticipantEventName, payload: ParticipantEvent, except: string | undefined) => void sent.push({ roomId, one: { event, userId: payload.userId, except } }),
    many: (roomId: string, changes: ParticipantChange[]) => void sent.push({ roomId, many: changes.map((c) => [c.event, c.participant.userId] as [string, string]) }),
  };
  return { sent, notices: (windowMs, maxBatch) => new RoomNotices(sink, { windowMs, ...(maxBatch ? { maxBatch } : {}) }) };
}

function who(userId: string, roomId = 'r1'): ParticipantEvent {
  return { userId, username: userId, role: 'editor', color: '#000000', activeFileId: null, online: true, roomId };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves as soon as `check` holds (polled every 2 ms), so the next step runs early in a window. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2500 && !check(); i++) await sleep(2);
  assert.ok(check(), 'timed out');
}

describe('RoomNotices', () => {
  it('sends a quiet room’s event at once, with the socket it skips', () => {
    const { sent, notices } = recorder();
    const n = notices(30);
    n.participant('r1', 'participant:updated', who('a'), 'sock-a');
    assert.deepEqual(sent, [{ roomId: 'r1', one: { event: 'participant:updated', userId: 'a', except: 'sock-a' } }]);
    n.close();
  });

  it('holds what follows within the window and sends it at the end as one frame, in order', async () => {
    const { sent, notices } = recorder();
    const n = notices(200);
    n.participant('r1', 'participant:joined', who('a'));
    n.participant('r1', 'participant:joined', who('b'));
    n.participant('r1', 'participant:updated', who('b'), 'sock-b');
    n.participant('r1', 'participant:joined', who('c'));
    assert.equal(sent.length, 1, 'the rest waits');
    await until(() => sent.length === 2);
    assert.deepEqual(sent[1], {
      roomId: 'r1',
      many: [
        ['participant:joined', 'b'],
        ['participant:updated', 'b'],
        ['participant:joined', 'c'],
      ],
    });
    // The flush opened a new window: a further event waits again, and alone it goes as itself.
    n.participant('r1', 'participant:updated', who('d'), 'sock-d');
    assert.equal(sent.length, 2);
    await until(() => sent.length === 3);
    assert.deepEqual(sent[2], { roomId: 'r1', one: { event: 'participant:updated', userId: 'd', except: undefined } });
    // Quiet for a whole window: the next event goes at once again.
    await sleep(450);
    n.participant('r1', 'participant:updated', who('e'), 'sock-e');
    assert.deepEqual(sent[3], { roomId: 'r1', one: { event: 'participant:updated', userId: 'e', except: 'sock-e' } });
    n.close();
  });

  it('flushes what waits before another event of the room, and when a batch is full', () => {
    const { sent, notices } = recorder();
    const n = notices(10_000, 3);
    n.participant('r1', 'participant:joined', who('a'));
    n.participant('r1', 'participant:joined', who('b'));
    n.participant('r1', 'participant:joined', who('c'));
    n.beforeOther('r1');
    assert.deepEqual(sent.slice(1), [
      {
        roomId: 'r1',
        many: [
          ['participant:joined', 'b'],
          ['participant:joined', 'c'],
        ],
      },
    ]);
    n.beforeOther('r1');
    assert.equal(sent.length, 2, 'nothing waited');
    for (const u of ['d', 'e', 'f']) n.participant('r1', 'participant:updated', who(u));
    assert.equal(sent.length, 3, 'a full batch goes at once');
    assert.equal(sent[2]?.many?.length, 3);
    n.close();
  });

  it('keeps rooms apart: a busy room does not hold another room’s event', () => {
    const { sent, notices } = recorder();
    const n = notices(10_000);
    n.participant('r1', 'participant:joined', who('a'));
    n.participant('r1', 'participant:joined', who('b'));
    n.participant('r2', 'participant:joined', who('x', 'r2'));
    assert.deepEqual(
      sent.map((s) => [s.roomId, s.one?.userId]),
      [
        ['r1', 'a'],
        ['r2', 'x'],
      ],
    );
    n.close();
  });
});
