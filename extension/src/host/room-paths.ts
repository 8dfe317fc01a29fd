/**
 * Where a host's local file lives in the room: its path relative to its workspace folder (prefixed
 * with the folder's name in a multi-root workspace), or just its name when it is outside every
 * folder. Works on URI paths (`/`-separated). Pure.
 */

/** A workspace folder as far as the mapping needs it. */
export interface FolderRef {
  readonly name: string;
  /** The folder's URI path, e.g. `/home/me/project`. */
  readonly path: string;
}

/** The room path of a local file's URI path. */
export function roomPathFor(folders: readonly FolderRef[], filePath: string): string {
  const multiRoot = folders.length > 1;
  let best: FolderRef | undefined;
  for (const folder of folders) {
    const base = folder.path.replace(/\/+$/, '');
    if (filePath.startsWith(`${base}/`) && (!best || base.length > best.path.replace(/\/+$/, '').length)) best = folder;
  }
  if (!best) return filePath.slice(filePath.lastIndexOf('/') + 1);
  const relative = filePath.slice(best.path.replace(/\/+$/, '').length + 1);
  return multiRoot ? `${best.name}/${relative}` : relative;
}

/** The local URI path for a room path, when it falls inside a workspace folder. */
export function localPathFor(folders: readonly FolderRef[], roomPath: string): string | undefined {
  if (folders.length === 0) return undefined;
  if (folders.length === 1) return `${(folders[0] as FolderRef).path.replace(/\/+$/, '')}/${roomPath}`;
  const slash = roomPath.indexOf('/');
  if (slash === -1) return undefined;
  const folder = folders.find((f) => f.name === roomPath.slice(0, slash));
  return folder ? `${folder.path.replace(/\/+$/, '')}/${roomPath.slice(slash + 1)}` : undefined;
}

/** The folder-relative path of a room path for `.gitignore` and exclude matching. */
export function folderRelative(folders: readonly FolderRef[], roomPath: string): string {
  if (folders.length <= 1) return roomPath;
  const slash = roomPath.indexOf('/');
  return slash === -1 ? roomPath : roomPath.slice(slash + 1);
}
