/**
 * `.gitignore` rules of a folder tree, with git's precedence: rules of a deeper `.gitignore` override
 * those of its parents, a negation re-includes a path, and nothing inside an ignored folder can be
 * re-included. Matching itself is done by the `ignore` package.
 */
import ignore, { type Ignore } from 'ignore';

/** The `.gitignore` files of a tree and what they ignore. */
export class GitignoreRules {
  /** `.gitignore` rules by the folder they are in ('' is the root), deepest last. */
  private readonly levels: Array<{ base: string; rules: Ignore }> = [];
  private readonly dirCache = new Map<string, boolean>();

  /** Adds the `.gitignore` in folder `base` (relative, `/`-separated; '' for the root). */
  add(base: string, content: string): void {
    const clean = base.replace(/^\/+|\/+$/g, '');
    this.levels.push({ base: clean, rules: ignore().add(content) });
    this.levels.sort((a, b) => depth(a.base) - depth(b.base));
    this.dirCache.clear();
  }

  /** Number of `.gitignore` files added. */
  get size(): number {
    return this.levels.length;
  }

  /** True when `path` (relative to the root, `/`-separated) is ignored; `isDirectory` for folders. */
  isIgnored(path: string, isDirectory = false): boolean {
    const clean = path.replace(/^\/+|\/+$/g, '');
    if (clean === '') return false;
    if (isDirectory) {
      const cached = this.dirCache.get(clean);
      if (cached !== undefined) return cached;
    }
    const slash = clean.lastIndexOf('/');
    // Nothing below an ignored folder can be re-included.
    let result = slash !== -1 && this.isIgnored(clean.slice(0, slash), true);
    if (!result) {
      for (const { base, rules } of this.levels) {
        if (base !== '' && !clean.startsWith(`${base}/`)) continue;
        const relative = base === '' ? clean : clean.slice(base.length + 1);
        const test = rules.test(isDirectory ? `${relative}/` : relative);
        if (test.ignored) result = true;
        else if (test.unignored) result = false;
      }
    }
    if (isDirectory) this.dirCache.set(clean, result);
    return result;
  }
}

function depth(base: string): number {
  return base === '' ? 0 : base.split('/').length;
}
