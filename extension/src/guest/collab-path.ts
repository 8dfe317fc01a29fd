/**
 * The `collab:` URI scheme of a guest's workspace: `collab:/<roomId>/<path>`, where `<path>` is the
 * room file's normalised path (`normalizePath`). Pure: works on URI paths, not `vscode.Uri`s.
 */
import { isRoomId } from '../session/room-link';

/** The URI scheme of room files. */
export const COLLAB_SCHEME = 'collab';

/** The URI path of a room's root folder or of a file or folder in it. */
export function collabPath(roomId: string, filePath = ''): string {
  const rest = filePath.replace(/^\/+|\/+$/g, '');
  return rest === '' ? `/${roomId}` : `/${roomId}/${rest}`;
}

/** Room and file path of a `collab:` URI path (`''` for the room's root), or undefined if malformed. */
export function parseCollabPath(uriPath: string): { roomId: string; filePath: string } | undefined {
  const parts = uriPath.split('/').filter((p) => p !== '' && p !== '.');
  const roomId = parts.shift();
  if (roomId === undefined || !isRoomId(roomId)) return undefined;
  if (parts.includes('..')) return undefined;
  return { roomId, filePath: parts.join('/') };
}
