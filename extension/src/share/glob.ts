/**
 * Glob patterns as VS Code's `files.exclude`-style settings use them, matched against a path
 * relative to the workspace folder (`/`-separated): `**` any number of folders, `*` any run of
 * characters within one name, `?` one character, `{a,b}` alternatives (nestable), `[abc]`/`[!a-z]`
 * character classes. Case-sensitive. Used where there is no document to hand to
 * `vscode.languages.match` and no `findFiles` call (auto-sharing an opened file).
 */

/** The regular expression of one glob. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${translate(glob.replace(/^\.\//, ''), 0, false).source}$`);
}

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** Translates from `start`; inside braces stops at the matching `}` (returned in `end`). */
function translate(glob: string, start: number, inBraces: boolean): { source: string; end: number } {
  let out = '';
  let i = start;
  while (i < glob.length) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**`: any number of whole folders. `**/` may match nothing; a trailing `/**` matches
        // everything below.
        const atStart = i === 0 || glob[i - 1] === '/' || glob[i - 1] === '{' || glob[i - 1] === ',';
        if (atStart && glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 3;
          continue;
        }
        out += '.*';
        i += 2;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        out += '\\[';
        i++;
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      body = body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]');
      out += negate ? `[^/${body}]` : `[${body}]`;
      i = close + 1;
    } else if (c === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      for (;;) {
        const part = translate(glob, j, true);
        alternatives.push(part.source);
        j = part.end;
        if (j >= glob.length || glob[j] === '}') break;
        j++; // past ','
      }
      out += `(?:${alternatives.join('|')})`;
      i = j + 1;
    } else if (inBraces && (c === ',' || c === '}')) {
      return { source: out, end: i };
    } else {
      out += escape(c);
      i++;
    }
  }
  return { source: out, end: i };
}

/** True when `relativePath` matches one of `globs`. */
export function matchesAnyGlob(relativePath: string, globs: readonly string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(relativePath));
}

/** The globs as one `{a,b}` pattern, for `workspace.findFiles`' exclude argument (undefined when none). */
export function combineGlobs(globs: readonly string[]): string | undefined {
  if (globs.length === 0) return undefined;
  return globs.length === 1 ? globs[0] : `{${globs.join(',')}}`;
}
