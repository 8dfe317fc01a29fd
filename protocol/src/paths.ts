/**
 * File paths inside a room: relative, `/`-separated, with no way to climb out of the room's root.
 * The server stores and compares the normal form that `normalizePath` returns; clients map it onto
 * their own file system.
 */
import { isWellFormedUtf16 } from './canonical-text';
import { ErrorCode, fail, ok, type Result } from './errors';
import { DEFAULT_LIMITS } from './limits';

/**
 * Checks a path sent by a client and returns its normal form: segments separated by single `/`,
 * without `.` segments, empty segments or a trailing `/` (`./a//b/` becomes `a/b`).
 *
 * Refused with `INVALID_PATH`: an empty path; a path longer than `maxLength` UTF-16 code units (as
 * sent, before normalisation); control characters (U+0000–U+001F, U+007F–U+009F); lone
 * surrogates; absolute paths (a leading `/` or `\`, or a Windows drive such as `C:`); backslashes
 * anywhere (the separator is `/`; a backslash is not converted, because on POSIX it is a legal
 * file-name character and guessing would make two different names collide); any `..` segment;
 * and a path that names nothing once normalised (such as `.` or `./`).
 */
export function normalizePath(path: string, maxLength: number = DEFAULT_LIMITS.maxPathLength): Result<string> {
  if (typeof path !== 'string') return fail(ErrorCode.INVALID_PATH, 'a path must be a string');
  if (path.length === 0) return fail(ErrorCode.INVALID_PATH, 'the path is empty');
  if (path.length > maxLength) {
    return fail(ErrorCode.INVALID_PATH, `the path is ${path.length} characters long; the limit is ${maxLength}`);
  }
  for (let i = 0; i < path.length; i++) {
    const u = path.charCodeAt(i);
    if (u < 0x20 || (u >= 0x7f && u <= 0x9f)) {
      const hex = u.toString(16).toUpperCase().padStart(4, '0');
      return fail(ErrorCode.INVALID_PATH, `the path contains the control character U+${hex} at offset ${i}`);
    }
  }
  if (!isWellFormedUtf16(path)) return fail(ErrorCode.INVALID_PATH, 'the path contains a lone surrogate');
  if (path.startsWith('/') || path.startsWith('\\')) {
    return fail(ErrorCode.INVALID_PATH, 'the path is absolute; it must be relative to the room root');
  }
  if (/^[A-Za-z]:/.test(path)) {
    return fail(ErrorCode.INVALID_PATH, 'the path starts with a drive letter; it must be relative to the room root');
  }
  if (path.includes('\\')) {
    return fail(ErrorCode.INVALID_PATH, "the path contains a backslash; separate segments with '/'");
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '..') return fail(ErrorCode.INVALID_PATH, "the path contains a '..' segment");
    if (segment !== '' && segment !== '.') segments.push(segment);
  }
  if (segments.length === 0) return fail(ErrorCode.INVALID_PATH, 'the path names no file once normalised');
  return ok(segments.join('/'));
}

/** True when `path` is acceptable and already in normal form (as every path the server sends is). */
export function isNormalPath(path: string, maxLength: number = DEFAULT_LIMITS.maxPathLength): boolean {
  const r = normalizePath(path, maxLength);
  return r.ok && r.value === path;
}
