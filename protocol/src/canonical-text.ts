/**
 * Canonical text: what every party stores and exchanges. Line breaks are `\n` only; offsets count
 * UTF-16 code units; the text is well-formed UTF-16 (no lone surrogates), because a lone surrogate
 * does not survive UTF-8 encoding into PostgreSQL and would make the server's copy silently differ;
 * and it holds no NUL character, which PostgreSQL's text types refuse.
 */

/** Anything that can be read by offset: a `string`, or the server's rope. */
export interface TextLike {
  readonly length: number;
  charCodeAt(index: number): number;
}

/** Converts any text to canonical line breaks: `\r\n` and lone `\r` become `\n` (as VS Code splits lines). */
export function toCanonicalText(text: string): string {
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}

/** True for a UTF-16 high (leading) surrogate code unit. */
export function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

/** True for a UTF-16 low (trailing) surrogate code unit. */
export function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/** True when `text` has no lone surrogate. */
export function isWellFormedUtf16(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) continue;
    if (isHighSurrogate(u) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    return false;
  }
  return true;
}

/**
 * True when text is canonical: well-formed UTF-16 without `\r` and without NUL (U+0000, which
 * PostgreSQL's `text` and `jsonb` cannot store; a file containing it is treated as binary).
 */
export function isCanonicalText(text: string): boolean {
  return text.indexOf('\r') === -1 && text.indexOf('\0') === -1 && isWellFormedUtf16(text);
}

/** True when an edit boundary at `offset` would separate the two halves of a surrogate pair. */
export function splitsSurrogatePair(text: TextLike, offset: number): boolean {
  if (offset <= 0 || offset >= text.length) return false;
  return isHighSurrogate(text.charCodeAt(offset - 1)) && isLowSurrogate(text.charCodeAt(offset));
}

/**
 * A 53-bit hash of a text (cyrb53 over UTF-16 code units), as 14 hex digits. It is not
 * cryptographic: it detects accidental divergence between a client's copy and the server's.
 * Pass the text whole or as consecutive chunks (the hash is the same).
 */
export function textHash(text: string | Iterable<string>): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const chunks = typeof text === 'string' ? [text] : text;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const value = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return value.toString(16).padStart(14, '0');
}
