/**
 * Offsets ↔ (line, character) positions in canonical text (`\n` line breaks). VS Code positions do
 * not depend on the document's EOL, so a position means the same place in the editor's CRLF text
 * and in our canonical text: this is how edits cross between the two without offset arithmetic.
 */

/** A zero-based line and UTF-16 character, as `vscode.Position`. */
export interface LinePosition {
  readonly line: number;
  readonly character: number;
}

/** The line starts of one canonical text, for repeated conversions. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  /** Number of lines (at least 1). */
  get lineCount(): number {
    return this.starts.length;
  }

  /** The offset of a position; characters past the end of a line clamp to it, as VS Code does. */
  offsetAt(pos: LinePosition): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    const start = this.starts[pos.line] as number;
    const end = pos.line + 1 < this.starts.length ? (this.starts[pos.line + 1] as number) - 1 : this.text.length;
    return Math.min(start + Math.max(0, pos.character), end);
  }

  /** The offset of a position that lies inside the text, or undefined where `offsetAt` would clamp. */
  exactOffsetAt(pos: LinePosition): number | undefined {
    if (pos.line < 0 || pos.line >= this.starts.length || pos.character < 0) return undefined;
    const offset = this.offsetAt(pos);
    return offset - (this.starts[pos.line] as number) === pos.character ? offset : undefined;
  }

  /** The position of an offset (clamped to the text). */
  positionAt(offset: number): LinePosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] as number) <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - (this.starts[lo] as number) };
  }
}
