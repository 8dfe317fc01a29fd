/**
 * What the status bar item says, as a pure function of the session's state (tested without VS
 * Code). `$(name)` are codicons; `~spin` animates them.
 */
import type { Role } from '@collab/protocol';

/** Where the session stands, as the status bar shows it. */
export type StatusPhase = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'offline';

/** The state the status bar reflects. */
export interface StatusInput {
  readonly phase: StatusPhase;
  /** The room, once joined. */
  readonly roomId?: string;
  /** Our role in the room. */
  readonly role?: Role;
  /** Participants online (ourselves included) and in total. */
  readonly online?: number;
  readonly total?: number;
  /** True when the last disconnection needs the user to sign in again. */
  readonly needsSignIn?: boolean;
}

/** The status bar item's contents. */
export interface StatusView {
  readonly text: string;
  readonly tooltip: string;
  /** Shown with the warning background (offline, sign-in needed). */
  readonly warning: boolean;
}

function people(n: number): string {
  return `${n} participant${n === 1 ? '' : 's'}`;
}

/** The status bar text and tooltip for `input`. */
export function statusView(input: StatusInput): StatusView {
  const count = input.online ?? 0;
  const room = input.roomId ? `Room ${input.roomId}` : 'Collab';
  const roleLine = input.role ? ` · you are ${input.role === 'owner' ? 'the owner' : `${input.role === 'editor' ? 'an' : 'a'} ${input.role}`}` : '';
  const who = input.total !== undefined ? ` · ${count} of ${people(input.total)} online` : '';
  const click = 'Click for session actions.';
  switch (input.phase) {
    case 'idle':
      return { text: '$(broadcast) Collab', tooltip: 'Collab: no session. Click to start or join one.', warning: false };
    case 'connecting':
      return { text: '$(loading~spin) Collab: connecting…', tooltip: `${room}: connecting to the server…`, warning: false };
    case 'reconnecting':
      return {
        text: '$(sync~spin) Collab: reconnecting…',
        tooltip: `${room}: connection lost, reconnecting. Your edits are kept and sync when it is back. ${click}`,
        warning: false,
      };
    case 'offline':
      return {
        text: input.needsSignIn ? '$(account) Collab: sign in needed' : '$(debug-disconnect) Collab: offline',
        tooltip: input.needsSignIn
          ? `${room}: the server asks you to sign in again. Your edits are kept. ${click}`
          : `${room}: offline. Your edits are kept and sync when you reconnect. ${click}`,
        warning: true,
      };
    case 'live':
      if (input.role === 'viewer') {
        return { text: `$(lock) Collab: read-only · ${count}`, tooltip: `${room}${roleLine} (read-only)${who}. ${click}`, warning: false };
      }
      return { text: `$(broadcast) Collab: live · ${count}`, tooltip: `${room}${roleLine}${who}. ${click}`, warning: false };
  }
}
