/**
 * The folder structure a guest sees: rooms hold files by path only, so folders are whatever the
 * paths imply, plus empty folders the guest created locally (they exist only in this window until a
 * file is created in them). Pure.
 */

/** What a path names. */
export type EntryKind = 'file' | 'directory';

/** The folders and files implied by a set of file paths. */
export class VirtualTree {
  private readonly files = new Set<string>();
  private readonly extraDirs = new Set<string>();

  /** Replaces the file paths (e.g. after re-joining). */
  setFiles(paths: Iterable<string>): void {
    this.files.clear();
    for (const p of paths) this.files.add(p);
  }

  /** Adds a file path. */
  addFile(path: string): void {
    this.files.add(path);
  }

  /** Removes a file path. */
  removeFile(path: string): void {
    this.files.delete(path);
  }

  /** Adds an empty local folder (and its parents). */
  addDirectory(path: string): void {
    if (path !== '') this.extraDirs.add(path);
  }

  /** Forgets a local folder and every local folder under it. */
  removeDirectory(path: string): void {
    for (const d of [...this.extraDirs]) if (d === path || d.startsWith(`${path}/`)) this.extraDirs.delete(d);
  }

  /** Renames local folders under `from` to be under `to`. */
  renameDirectory(from: string, to: string): void {
    for (const d of [...this.extraDirs]) {
      if (d === from || d.startsWith(`${from}/`)) {
        this.extraDirs.delete(d);
        this.extraDirs.add(to + d.slice(from.length));
      }
    }
  }

  /** What `path` is ('' is the root folder), or undefined when nothing is there. */
  kindOf(path: string): EntryKind | undefined {
    if (path === '') return 'directory';
    if (this.files.has(path)) return 'file';
    const prefix = `${path}/`;
    for (const f of this.files) if (f.startsWith(prefix)) return 'directory';
    for (const d of this.extraDirs) if (d === path || d.startsWith(prefix)) return 'directory';
    return undefined;
  }

  /** The entries directly inside folder `dir`, sorted by name. */
  list(dir: string): Array<[string, EntryKind]> {
    const prefix = dir === '' ? '' : `${dir}/`;
    const entries = new Map<string, EntryKind>();
    const visit = (path: string, isFile: boolean): void => {
      if (!path.startsWith(prefix) || path === dir) return;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        if (!entries.has(rest)) entries.set(rest, isFile ? 'file' : 'directory');
      } else {
        entries.set(rest.slice(0, slash), 'directory');
      }
    };
    for (const f of this.files) visit(f, true);
    for (const d of this.extraDirs) visit(d, false);
    return [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every file path under folder `dir` (all files for the root). */
  filesUnder(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    return [...this.files].filter((f) => f.startsWith(prefix));
  }
}
