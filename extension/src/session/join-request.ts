/**
 * Asking the owner of a private room to be let in (PROTOCOL.md §11.2): `room:requestJoin`, then
 * wait for `joinRequest:resolved` with our request id. The resolution may arrive before the reply
 * that tells us the id (the owner may answer at once), so resolutions are recorded from before the
 * request is sent. Pure: no 'vscode' import.
 */
import type { AssignableRole, JoinDecision } from '@collab/protocol';
import type { CollabConnection } from '@collab/client';
import type { Outcome } from './collab-session';

/** Asks to join `roomId` as `role`; resolves with the owner's decision, or an error, or on `signal`. */
export async function askToJoin(
  connection: Pick<CollabConnection, 'on' | 'request'>,
  roomId: string,
  role: AssignableRole,
  signal?: AbortSignal,
): Promise<Outcome<JoinDecision>> {
  const decisions = new Map<string, JoinDecision>();
  let wake: (() => void) | undefined;
  const off = connection.on('joinRequest:resolved', (resolved) => {
    if (resolved.roomId !== roomId) return;
    decisions.set(resolved.requestId, resolved.decision);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    const reply = await connection.request('room:requestJoin', { roomId, role });
    if (!reply.ok) return { ok: false, error: reply.error };
    const requestId = reply['requestId'] as string;
    for (;;) {
      const decision = decisions.get(requestId);
      if (decision !== undefined) return { ok: true, value: decision };
      if (signal?.aborted) return { ok: false, error: { code: 'INTERNAL', message: 'cancelled' } };
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    off();
    signal?.removeEventListener('abort', onAbort);
  }
}
