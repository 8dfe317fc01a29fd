/**
 * What may be shared: text files (no NUL byte in the first 8 KB, valid UTF-8) no larger than the
 * size limit and the server's `maxOpInsertLength`, not excluded by a glob or a `.gitignore`. Also
 * the summary shown after sharing. Pure.
 */
import { toCanonicalText } from '@collab/protocol';
import type { GitignoreRules } from './gitignore';
import { matchesAnyGlob } from './glob';

/** Why a file was not shared. */
export type SkipReason = 'excluded' | 'gitignored' | 'binary' | 'tooLarge' | 'exists' | 'failed';

/** A file's content ready to share, or why it cannot be. */
export type ContentCheck =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: 'binary' | 'tooLarge' };

/** How many leading bytes are searched for a NUL byte. */
export const BINARY_SNIFF_BYTES = 8192;

/** True when the bytes look binary: a NUL byte in the first 8 KB. */
export function looksBinary(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, BINARY_SNIFF_BYTES);
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return true;
  return false;
}

/**
 * The canonical text of a file's bytes (UTF-8, BOM dropped, `\r\n` → `\n`), or why it cannot be
 * shared: `binary` (NUL byte or invalid UTF-8), `tooLarge` (over `maxBytes`, or more code units
 * than one `file:create` may carry).
 */
export function checkContent(bytes: Uint8Array, maxBytes: number, maxUnits: number): ContentCheck {
  if (bytes.length > maxBytes) return { ok: false, reason: 'tooLarge' };
  if (looksBinary(bytes)) return { ok: false, reason: 'binary' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { ok: false, reason: 'binary' };
  }
  return checkText(text, maxUnits);
}

/** The canonical form of an editor's text, or `tooLarge` past `maxUnits` code units. */
export function checkText(text: string, maxUnits: number): ContentCheck {
  const canonical = toCanonicalText(text);
  if (canonical.length > maxUnits) return { ok: false, reason: 'tooLarge' };
  return { ok: true, text: canonical };
}

/** Whether a path may be shared at all (before its content is read). */
export function pathVerdict(
  relativePath: string,
  excludes: readonly string[],
  gitignore: GitignoreRules | undefined,
): { readonly ok: true } | { readonly ok: false; readonly reason: 'excluded' | 'gitignored' } {
  if (matchesAnyGlob(relativePath, excludes)) return { ok: false, reason: 'excluded' };
  if (gitignore?.isIgnored(relativePath)) return { ok: false, reason: 'gitignored' };
  return { ok: true };
}

/** The outcome of sharing several files. */
export class ShareReport {
  readonly shared: string[] = [];
  readonly skipped = new Map<SkipReason, string[]>();

  /** Records a shared file. */
  addShared(path: string): void {
    this.shared.push(path);
  }

  /** Records a file that was not shared. */
  addSkipped(path: string, reason: SkipReason): void {
    const list = this.skipped.get(reason) ?? [];
    list.push(path);
    this.skipped.set(reason, list);
  }

  /** Number of files skipped. */
  get skippedCount(): number {
    let n = 0;
    for (const list of this.skipped.values()) n += list.length;
    return n;
  }

  /** One sentence for a notification, e.g. "Shared 3 files. Skipped 2: 1 binary (a.png), 1 larger than 1024 KB (b.json)." */
  summary(maxSizeKB: number): string {
    const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
    const head = this.shared.length === 0 ? 'No file was shared.' : `Shared ${files(this.shared.length)}.`;
    if (this.skippedCount === 0) return head;
    const labels: Record<SkipReason, string> = {
      excluded: 'excluded by collab.share.exclude',
      gitignored: 'ignored by .gitignore',
      binary: 'binary',
      tooLarge: `larger than ${maxSizeKB} KB`,
      exists: 'already shared',
      failed: 'failed',
    };
    const parts: string[] = [];
    for (const reason of ['binary', 'tooLarge', 'excluded', 'gitignored', 'exists', 'failed'] as const) {
      const list = this.skipped.get(reason);
      if (!list || list.length === 0) continue;
      const examples = list.slice(0, 2).join(', ') + (list.length > 2 ? ', …' : '');
      parts.push(`${list.length} ${labels[reason]} (${examples})`);
    }
    return `${head} Skipped ${this.skippedCount}: ${parts.join('; ')}.`;
  }
}
