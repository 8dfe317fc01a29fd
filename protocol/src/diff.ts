/**
 * A coarse diff between two texts: one replacement covering everything between their common prefix
 * and common suffix. Used to rebase local typing over a jump in the server's text (history
 * compacted, or a divergence repaired), where no finer history exists.
 */
import { isHighSurrogate, isLowSurrogate } from './canonical-text';
import { OpBuilder, type TextOp } from './text-op';

/** The operation turning `from` into `to`, as a single replacement that never splits a surrogate pair. */
export function diffOp(from: string, to: string): TextOp {
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++;
  // Do not end the common prefix between the halves of a pair.
  if (prefix > 0 && isHighSurrogate(from.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  const maxSuffix = max - prefix;
  while (
    suffix < maxSuffix &&
    from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)
  ) {
    suffix++;
  }
  if (suffix > 0 && isLowSurrogate(from.charCodeAt(from.length - suffix))) suffix--;
  return new OpBuilder()
    .retain(prefix)
    .insert(to.slice(prefix, to.length - suffix))
    .delete(from.length - prefix - suffix)
    .retain(suffix)
    .build();
}
