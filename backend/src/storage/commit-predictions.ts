/**
 * What this node expects a group commit to read under its locks, remembered from its earlier
 * commits: each (file, client)'s progress row and each (room, user)'s role. When every fact a group
 * needs is remembered, the group is decided on these predictions and committed in ONE round trip,
 * the database checking each file's predictions under the file's lock and writing nothing for a
 * file whose predictions were wrong (`collab_commit_predicted` in pg-group-commit.ts). So this is a
 * hint, never the truth: a wrong entry costs a retry, not a wrong decision.
 *
 * A file another node writes to (its commits found ops past this node's head, or a prediction was
 * wrong) is not predicted for a while: its predictions would mostly be wrong, and each wrong one
 * costs a wasted round trip and the undoing of the batch's decisions.
 */
import {
  progressKey,
  progressPairs,
  roleKey,
  rolePairs,
  type CommitBatchArgs,
  type CommitReads,
  type PlannedRow,
  type ProgressRow,
} from './commit-plan';

/** A progress row as remembered: its exact column values, or null when there is no row. */
export interface ProgressFact {
  readonly lastSeq: number;
  readonly lastVersion: number;
  readonly fencedSeq: number;
}

/** What one group is predicted to read: the reads to decide on, and the facts the database checks. */
export interface GroupPrediction {
  /** As the locks would read it: every file live, no ops past any head. */
  readonly reads: CommitReads;
  /** Per (file, client) of the group: the progress row expected, or null for none. */
  readonly progress: readonly { fileId: string; clientId: string; fact: ProgressFact | null }[];
  /** Per file and submitter: the role expected (null: not a participant). */
  readonly roles: readonly { fileId: string; roomUuid: string; userId: string; role: string | null }[];
}

/** Tuning of `CommitPredictions`. */
export interface CommitPredictionOptions {
  /** Most progress rows (and, separately, roles) remembered; the oldest go first. @default 100_000 */
  readonly capacity: number;
  /** How long (ms) a file another node writes to is committed without predictions. @default 1000 */
  readonly sharedForMs: number;
  readonly now: () => number;
}

const DEFAULTS: CommitPredictionOptions = { capacity: 100_000, sharedForMs: 1000, now: () => performance.now() };

/** The facts a node remembers for one-round-trip commits (see the module comment). */
export class CommitPredictions {
  private readonly progress = new Map<string, ProgressFact | null>();
  private readonly roles = new Map<string, string | null>();
  /** Files another node writes to, until when they are not predicted. */
  private readonly shared = new Map<string, number>();
  private readonly options: CommitPredictionOptions;

  constructor(options: Partial<CommitPredictionOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** The group's prediction, or undefined when a fact is not remembered or a file is shared. */
  predict(batches: readonly CommitBatchArgs[]): GroupPrediction | undefined {
    const now = this.options.now();
    for (const b of batches) {
      const until = this.shared.get(b.fileId);
      if (until === undefined) continue;
      if (until > now) return undefined;
      this.shared.delete(b.fileId);
    }
    const progress: { fileId: string; clientId: string; fact: ProgressFact | null }[] = [];
    for (const [fileId, clientId] of progressPairs(batches)) {
      const fact = this.progress.get(progressKey(fileId, clientId));
      if (fact === undefined) return undefined;
      progress.push({ fileId, clientId, fact });
    }
    const roles: { fileId: string; roomUuid: string; userId: string; role: string | null }[] = [];
    for (const b of batches) {
      for (const [roomUuid, userId] of rolePairs([b])) {
        const role = this.roles.get(roleKey(roomUuid, userId));
        if (role === undefined) return undefined;
        roles.push({ fileId: b.fileId, roomUuid, userId, role });
      }
    }
    const reads: CommitReads = {
      locked: new Set(batches.map((b) => b.fileId)),
      progress: progress.flatMap(({ fileId, clientId, fact }): ProgressRow[] =>
        fact ? [{ file_id: fileId, client_id: clientId, last_seq: fact.lastSeq, last_version: fact.lastVersion, fenced_seq: fact.fencedSeq }] : [],
      ),
      roles: roles.flatMap(({ roomUuid, userId, role }) => (role === null ? [] : [{ room_id: roomUuid, user_id: userId, role }])),
      newer: [],
    };
    return { reads, progress, roles };
  }

  /**
   * Remembers what a group read under its locks (committed state, whatever becomes of the group's
   * own transaction): every pair asked for, present or not. A file with ops past its head is shared.
   */
  learnReads(batches: readonly CommitBatchArgs[], reads: CommitReads): void {
    const rows = new Map(reads.progress.map((r) => [progressKey(r.file_id, r.client_id), r]));
    for (const [fileId, clientId] of progressPairs(batches)) {
      const key = progressKey(fileId, clientId);
      const row = rows.get(key);
      this.remember(this.progress, key, row ? { lastSeq: Number(row.last_seq), lastVersion: Number(row.last_version), fencedSeq: Number(row.fenced_seq) } : null);
    }
    const roles = new Map(reads.roles.map((r) => [roleKey(r.room_id, r.user_id), r.role]));
    for (const [roomUuid, userId] of rolePairs(batches)) {
      const key = roleKey(roomUuid, userId);
      this.remember(this.roles, key, roles.get(key) ?? null);
    }
    for (const r of reads.newer) this.markShared(r.file_id);
  }

  /** Remembers the progress rows a committed group wrote (the last op of each client per file). */
  learnCommitted(last: readonly PlannedRow[]): void {
    for (const r of last) {
      const key = progressKey(r.fileId, r.clientId);
      const before = this.progress.get(key);
      // The upsert keeps the fence it found (0 for a new row); unknown when not remembered.
      if (before === undefined) continue;
      this.remember(this.progress, key, { lastSeq: r.seq, lastVersion: r.version, fencedSeq: before?.fencedSeq ?? 0 });
    }
  }

  /** Forgets what a wrong prediction of this batch relied on, and stops predicting its file for a while. */
  mispredicted(batch: CommitBatchArgs): void {
    for (const s of batch.submitters) {
      this.progress.delete(progressKey(batch.fileId, s.clientId));
      this.roles.delete(roleKey(batch.roomUuid, s.userId));
    }
    this.markShared(batch.fileId);
  }

  /** Forgets a client's progress on a file (its fence was raised outside a group commit). */
  forgetProgress(fileId: string, clientId: string): void {
    this.progress.delete(progressKey(fileId, clientId));
  }

  /** How many progress rows and roles are remembered (for tests). */
  get size(): { progress: number; roles: number } {
    return { progress: this.progress.size, roles: this.roles.size };
  }

  private markShared(fileId: string): void {
    this.remember(this.shared, fileId, this.options.now() + this.options.sharedForMs);
  }

  /** Sets `key` as the newest entry of `map`, dropping the oldest beyond the capacity. */
  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > this.options.capacity) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
  }
}
