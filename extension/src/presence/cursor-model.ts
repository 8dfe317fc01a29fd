/**
 * The pure half of remote cursor rendering: mapping a `RemoteCursor` (offsets in the server text at
 * its own `version`) to editor positions even when our binding is at a later version, a colour
 * model for the participant's `color`, and the name tag's inactivity timing. No 'vscode' import.
 *
 * Cursors at an older version than our binding (the sender's edit was acknowledged after its cursor
 * was sent, the common case while someone types) are transformed through the change between the
 * server text at their version and the current one. The server texts of recent versions are kept
 * in a small `ServerTextHistory`; the change between two of them is computed as one replacement
 * (common prefix / suffix), which maps every caret outside the edited span exactly.
 */
import { normalize, transformSelection, type RemoteCursor, type Selection, type TextOp } from '@collab/protocol';
import { selectionsFromServer, type BindingView, type EditorSelection } from '../sync/cursor-offsets';

/** How long a participant's name tag stays after their last cursor update (ms). */
export const NAME_TAG_MS = 2000;
/** How often decorations are re-rendered at most (ms). */
export const RENDER_THROTTLE_MS = 40;
/** How many past server texts are kept per file. */
export const HISTORY_SIZE = 32;

/** One replacement turning `from` into `to` (common prefix and suffix kept), as an op over `from`. */
export function diffOp(from: string, to: string): TextOp {
  const max = Math.min(from.length, to.length);
  let prefix = 0;
  while (prefix < max && from.charCodeAt(prefix) === to.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) suffix++;
  const removed = from.length - prefix - suffix;
  const inserted = to.slice(prefix, to.length - suffix);
  return normalize([prefix, inserted, -removed, suffix]);
}

/** The server texts of a file's recent versions. */
export class ServerTextHistory {
  private readonly texts = new Map<number, string>();

  constructor(private readonly size = HISTORY_SIZE) {}

  /** Remembers the server text at `version`. */
  record(version: number, text: string): void {
    if (this.texts.has(version)) return;
    this.texts.set(version, text);
    while (this.texts.size > this.size) {
      const oldest = Math.min(...this.texts.keys());
      this.texts.delete(oldest);
    }
  }

  /** The server text at `version`, if kept. */
  textAt(version: number): string | undefined {
    return this.texts.get(version);
  }
}

/**
 * A remote cursor's selections as editor positions in `view`'s editor, or undefined when it cannot
 * be placed (from a version we are not at yet, or an older one whose text we no longer have).
 * Records `view`'s current server text in `history`.
 */
export function resolveCursor(view: BindingView, history: ServerTextHistory, version: number, selections: readonly Selection[]): EditorSelection[] | undefined {
  const current = view.state.version;
  history.record(current, view.state.serverText);
  if (version === current) return selectionsFromServer(view, version, selections);
  if (version > current) return undefined;
  const old = history.textAt(version);
  if (old === undefined) return undefined;
  const op = diffOp(old, view.state.serverText);
  const clamp = (n: number) => Math.max(0, Math.min(n, old.length));
  const moved = selections.map((s) => transformSelection({ anchor: clamp(s.anchor), head: clamp(s.head) }, op));
  return selectionsFromServer(view, current, moved);
}

/** Maps an offset range of a cursor's `visible` the same way (as a selection). */
export function resolveRange(view: BindingView, history: ServerTextHistory, version: number, range: { start: number; end: number }): EditorSelection | undefined {
  return resolveCursor(view, history, version, [{ anchor: range.start, head: range.end }])?.[0];
}

/** A participant colour as the adapter should use it. */
export type ColorSpec = { readonly kind: 'css'; readonly value: string } | { readonly kind: 'theme'; readonly id: string };

const CSS_COLOR = /^(#[0-9a-f]{3,8}|(rgb|rgba|hsl|hsla)\([^()]*\))$/i;
const THEME_ID = /^[a-z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)+$/;
/** Theme colours used when the server's colour is not usable, in rotation. */
export const FALLBACK_THEME_COLORS = ['charts.blue', 'charts.red', 'charts.green', 'charts.orange', 'charts.purple', 'charts.yellow'] as const;

/** A server colour (`#1f77b4`, `rgb(…)` or a theme colour id like `charts.blue`) → how to paint it. */
export function colorSpec(color: string, fallbackIndex = 0): ColorSpec {
  const c = color.trim();
  if (CSS_COLOR.test(c)) return { kind: 'css', value: c };
  if (THEME_ID.test(c)) return { kind: 'theme', id: c };
  return { kind: 'theme', id: FALLBACK_THEME_COLORS[Math.abs(fallbackIndex) % FALLBACK_THEME_COLORS.length] ?? 'charts.blue' };
}

/** The CSS for a colour: theme colours through their CSS variable (theme-aware); `alpha` in 0..1 mixes with transparent. */
export function cssColor(spec: ColorSpec, alpha = 1): string {
  const base = spec.kind === 'css' ? spec.value : `var(--vscode-${spec.id.replace(/\./g, '-')})`;
  if (alpha >= 1) return base;
  return `color-mix(in srgb, ${base} ${Math.round(alpha * 100)}%, transparent)`;
}

/** When each remote client last moved; decides whether its name tag shows. */
export class ActivityClock {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly tagMs = NAME_TAG_MS,
  ) {}

  /** The client moved (a cursor update arrived). */
  touch(clientId: string): void {
    this.last.set(clientId, this.now());
  }

  /** Forgets a client. */
  forget(clientId: string): void {
    this.last.delete(clientId);
  }

  /** True while the client's name tag should show. */
  isActive(clientId: string): boolean {
    const t = this.last.get(clientId);
    return t !== undefined && this.now() - t < this.tagMs;
  }

  /** Ms until the first active tag expires (to schedule a re-render), or undefined when none is active. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    const now = this.now();
    for (const t of this.last.values()) {
      const left = t + this.tagMs - now;
      if (left > 0 && (next === undefined || left < next)) next = left;
    }
    return next;
  }
}

/** What one remote client's cursor renders as in an editor (positions, whether the name shows). */
export interface CursorRender {
  readonly clientId: string;
  readonly userId: string;
  readonly selections: readonly EditorSelection[];
  readonly showName: boolean;
}

/**
 * Renders the raw cursors of a file against a binding: each placeable cursor (not ourselves) with
 * its name-tag state. A cursor that cannot be placed (yet) is left out rather than drawn at a
 * possibly wrong character; the next document change or cursor update renders it again.
 */
export function renderCursors(
  view: BindingView,
  history: ServerTextHistory,
  cursors: readonly RemoteCursor[],
  selfClientId: string | undefined,
  activity: ActivityClock,
): CursorRender[] {
  const out: CursorRender[] = [];
  for (const c of cursors) {
    if (c.clientId === selfClientId) continue;
    const selections = resolveCursor(view, history, c.version, c.selections);
    if (selections) out.push({ clientId: c.clientId, userId: c.userId, selections, showName: activity.isActive(c.clientId) });
  }
  return out;
}
