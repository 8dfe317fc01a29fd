/**
 * Participant colours: each user gets a colour from a fixed palette, stable for a given room (a
 * hash of room and user), so every client shows the same colour without any stored state.
 */
import { createHash } from 'node:crypto';

/** Twelve distinct mid-tone colours that read on both light and dark themes. */
export const PARTICIPANT_COLORS: readonly string[] = Object.freeze([
  '#1f77b4', // blue
  '#ff7f0e', // orange
  '#2ca02c', // green
  '#d62728', // red
  '#9467bd', // purple
  '#8c564b', // brown
  '#e377c2', // pink
  '#bcbd22', // olive
  '#17becf', // cyan
  '#e6a700', // amber
  '#4c6ef5', // indigo
  '#12b886', // teal
]);

/**
 * The colour of `userId` in the room `roomId`. Depends on the room too, so that two users who share
 * a colour in one room most likely differ in the next. Two users of one room may still share one.
 */
export function participantColor(roomId: string, userId: string): string {
  const digest = createHash('sha256').update(`${roomId}\u0000${userId}`).digest();
  const color = PARTICIPANT_COLORS[digest.readUInt32BE(0) % PARTICIPANT_COLORS.length];
  if (color === undefined) throw new Error('unreachable: the palette is empty');
  return color;
}
