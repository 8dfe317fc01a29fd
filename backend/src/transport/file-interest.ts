/**
 * Which other nodes have readers of which files, so that a node publishes a file's broadcasts to
 * Redis only when another node can deliver them. With the load balancer placing a room's clients on
 * one node, most files have readers on one node only, and their ops then cross no node at all.
 *
 * Every node announces the files it has readers of: one `on` when a file gets its first local
 * reader (before the reader's snapshot is read), one `off` when it loses its last, and its whole
 * list every `announceMs`. An entry not re-announced within `ttlMs` expires (a node that died or
 * missed an `off`). A node that may not know the others' interests — it just started, or its
 * Redis subscription was just restored — publishes everything for `graceMs`, more than one
 * announcement period. Whatever this gets wrong costs latency, not ops: a reader that misses a
 * broadcast sees the gap at the next op, or its client's catch-up finds it, and fetches it
 * (PROTOCOL.md §7.4).
 */

/** Timing of the announcements. */
export interface FileInterestOptions {
  /** How often a node announces its whole list. @default 5000 */
  readonly announceMs: number;
  /** How long an announcement holds without being repeated. @default 15000 */
  readonly ttlMs: number;
  /** How long a node that may not know the others' interests publishes everything. @default 7000 */
  readonly graceMs: number;
}

/** The defaults of `FileInterestOptions`. */
export const FILE_INTEREST_DEFAULTS: FileInterestOptions = { announceMs: 5000, ttlMs: 15_000, graceMs: 7000 };

/** What a node announces: a file gained its first reader, lost its last, or the node's whole list. */
export type InterestKind = 'on' | 'off' | 'all';

/** The other nodes' interests, as announced to this node. */
export class RemoteInterest {
  /** fileId → node → when the announcement expires. */
  private readonly byFile = new Map<string, Map<string, number>>();
  private knownFrom = 0;

  constructor(
    private readonly options: FileInterestOptions = FILE_INTEREST_DEFAULTS,
    private readonly now: () => number = Date.now,
  ) {
    this.forget();
  }

  /** Whether a broadcast to the file must go to the other nodes: one of them has readers, or this node may not know. */
  wanted(fileId: string, t: number = this.now()): boolean {
    if (t < this.knownFrom) return true;
    const nodes = this.byFile.get(fileId);
    if (!nodes) return false;
    for (const [node, expires] of nodes) {
      if (expires > t) return true;
      nodes.delete(node);
    }
    this.byFile.delete(fileId);
    return false;
  }

  /** Takes in a node's announcement. */
  apply(node: string, kind: InterestKind, files: readonly string[]): void {
    const expires = this.now() + this.options.ttlMs;
    if (kind === 'all') {
      const listed = new Set(files);
      for (const [fileId, nodes] of this.byFile) {
        if (!nodes.has(node) || listed.has(fileId)) continue;
        nodes.delete(node);
        if (nodes.size === 0) this.byFile.delete(fileId);
      }
    }
    for (const fileId of files) {
      if (kind === 'off') {
        const nodes = this.byFile.get(fileId);
        nodes?.delete(node);
        if (nodes?.size === 0) this.byFile.delete(fileId);
        continue;
      }
      let nodes = this.byFile.get(fileId);
      if (!nodes) this.byFile.set(fileId, (nodes = new Map()));
      nodes.set(node, expires);
    }
  }

  /** Drops expired entries (called on the announcement timer, so that files nobody reads do not pile up). */
  sweep(): void {
    const t = this.now();
    for (const [fileId, nodes] of this.byFile) {
      for (const [node, expires] of nodes) if (expires <= t) nodes.delete(node);
      if (nodes.size === 0) this.byFile.delete(fileId);
    }
  }

  /** What this node knows may be incomplete (start, a restored subscription): publish everything for a while. */
  forget(): void {
    this.knownFrom = this.now() + this.options.graceMs;
  }

  /** Files with at least one announced node (tests, metrics). */
  get size(): number {
    return this.byFile.size;
  }
}
