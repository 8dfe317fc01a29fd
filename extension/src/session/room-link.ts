/**
 * Room ids as users pass them around: a bare id, or a join link
 * `vscode://collab.collab-vscode/join?room=<id>` (any editor's URI scheme), or a `collab:` URI of a
 * guest's workspace. Pure: no 'vscode' import.
 */
import { ROOM_ID_PATTERN } from '@collab/protocol';

/** The extension's id (`publisher.name`), the authority of its join links. */
export const EXTENSION_ID = 'collab.collab-vscode';

/** The path of the join link handled by the extension's UriHandler. */
export const JOIN_PATH = '/join';

/** True when `id` has the shape of a room id. */
export function isRoomId(id: string): boolean {
  return ROOM_ID_PATTERN.test(id);
}

/** The join link of a room for an editor whose URI scheme is `uriScheme` (`vscode.env.uriScheme`). */
export function joinLink(roomId: string, uriScheme = 'vscode'): string {
  return `${uriScheme}://${EXTENSION_ID}${JOIN_PATH}?room=${encodeURIComponent(roomId)}`;
}

/** The room id in a join URI's query (`room=<id>`), or undefined. */
export function roomIdFromQuery(query: string): string | undefined {
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const room = params.get('room')?.trim();
  return room !== undefined && isRoomId(room) ? room : undefined;
}

/**
 * The room id a user typed or pasted: a bare id, a join link (`…/join?room=<id>`, any scheme), or a
 * `collab:/<roomId>/…` URI. Surrounding whitespace, quotes and angle brackets are ignored.
 * Undefined when nothing recognisable is found.
 */
export function parseRoomInput(input: string): string | undefined {
  const text = input.trim().replace(/^[<"'`]+|[>"'`]+$/g, '').trim();
  if (text === '') return undefined;
  if (isRoomId(text)) return text;
  const collab = /^collab:\/*([A-Za-z0-9_-]+)(?:\/|$)/.exec(text);
  if (collab) return isRoomId(collab[1] as string) ? collab[1] : undefined;
  const query = text.indexOf('?');
  if (query !== -1 && /^[a-z][a-z0-9+.-]*:/i.test(text)) {
    const end = text.indexOf('#', query);
    return roomIdFromQuery(text.slice(query + 1, end === -1 ? undefined : end));
  }
  return undefined;
}

/** The message for an input box that does not hold a room id (undefined when it does). */
export function validateRoomInput(input: string): string | undefined {
  if (input.trim() === '') return 'Enter a room ID or paste a join link.';
  return parseRoomInput(input) ? undefined : 'This is not a room ID (22–64 letters, digits, "-" or "_") or a Collab join link.';
}
