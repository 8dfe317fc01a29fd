/**
 * The operation log, per-client progress and snapshots: the storage half of the commit path.
 *
 * PostgreSQL is the single source of truth for each file's order. A commit first locks the file's
 * row (`FOR NO KEY UPDATE`), so commits to one file are serialised across every node, and reads
 * the ops committed past the caller's cached head inside that lock: the caller decides against the
 * log as it is, never against a stale cache. The primary key `file_ops(file_id, version)` stays as
 * the fence behind that: if two commits ever raced for version n+1, one would fail with a unique
 * violation (`conflict`) and retry. Nothing here decides what to commit: the caller passes the
 * protocol's pure sequencing decision in.
 *
 * Commits are grouped: the batches of several files (each the submissions waiting in that file's
 * queue) are committed in one transaction (`commitFiles`: one lock statement, one read of each
 * kind, one INSERT, one progress upsert, one WAL flush for all of them), and none of them is
 * acknowledged before that transaction's COMMIT returned. That transaction takes one round trip of
 * prepared statements when its reads can be predicted from earlier commits (checked under its
 * locks), two otherwise, on PostgreSQL and on the embedded PGlite alike (`pg-group-commit.ts`);
 * the decisions themselves are made in `commit-plan.ts`.
 */
import type { Knex } from 'knex';
import type { CommittedOp } from '@collab/protocol';
import {
  toCommittedOp,
  toProgress,
  type ClientProgress,
  type CommitAttempt,
  type CommitBatchArgs,
  type OpRow,
} from './commit-plan';
import { isUniqueViolation } from './database';
import { CommitPredictions } from './commit-predictions';
import { commitPipelined } from './pg-group-commit';

export type { ClientProgress, CommitAttempt, CommitBatchArgs, SubmissionResult, Submitter } from './commit-plan';

/** A file's snapshot: its text at `version`. */
export interface Snapshot {
  readonly fileId: string;
  /** Internal id of the room the file belongs to. */
  readonly roomUuid: string;
  readonly content: string;
  readonly version: number;
}

/** Options of `OpsRepo`. */
export interface OpsRepoOptions {
  /**
   * Commit a group in one round trip when its reads can be predicted from this node's earlier
   * commits (`CommitPredictions`); off, every group takes two. @default true
   */
  readonly predictCommits: boolean;
  /** The predictions to use when `predictCommits` (tests tune them). @default a new `CommitPredictions` */
  readonly predictions: CommitPredictions;
  /** Told of every group transaction that reached the database, with its round trips (1 or 2). */
  readonly onGroupRoundTrips?: (roundTrips: number) => void;
}

/** Reads and writes the op log, client progress and snapshots with Knex. */
export class OpsRepo {
  private readonly predictions: CommitPredictions | undefined;
  private readonly onGroupRoundTrips: ((roundTrips: number) => void) | undefined;

  constructor(
    private readonly db: Knex,
    options: Partial<OpsRepoOptions> = {},
  ) {
    this.predictions = options.predictCommits === false ? undefined : (options.predictions ?? new CommitPredictions());
    this.onGroupRoundTrips = options.onGroupRoundTrips;
  }

  /** The file's snapshot row, or undefined when the file does not exist. */
  async snapshot(fileId: string): Promise<Snapshot | undefined> {
    const row = await this.db('files').where({ id: fileId }).first('id', 'room_id', 'content', 'version');
    if (!row) return undefined;
    return { fileId: row.id, roomUuid: row.room_id, content: row.content, version: Number(row.version) };
  }

  /** The committed ops with `after < version <= upTo`, ascending (possibly fewer if compacted or past the head). */
  async opsBetween(fileId: string, after: number, upTo: number = Number.MAX_SAFE_INTEGER, limit?: number): Promise<CommittedOp[]> {
    let query = this.db<OpRow>('file_ops')
      .where('file_id', fileId)
      .andWhere('version', '>', after)
      .andWhere('version', '<=', Math.min(upTo, 2_147_483_647))
      .orderBy('version', 'asc')
      .select('version', 'op', 'author', 'client_id', 'seq', 'created_at');
    if (limit !== undefined) query = query.limit(limit);
    const rows = await query;
    return rows.map(toCommittedOp);
  }

  /** The highest committed version of the file (its snapshot version when no op is newer). */
  async headVersion(fileId: string): Promise<number> {
    const row = await this.db('file_ops').where('file_id', fileId).max<{ max: number | null }>('version as max').first();
    const snap = await this.db('files').where({ id: fileId }).first('version');
    return Math.max(Number(row?.max ?? 0), Number(snap?.version ?? 0));
  }

  /**
   * Commits the batches of several files in ONE transaction (group commit across files): locks
   * the files' rows, locks and reads the submitters' progress rows, reads their roles and the ops
   * past each caller's head, lets each batch's `decide` make its sequencing decisions in batch
   * order, then inserts every committed op of every file with one statement and advances the
   * progress rows with one statement. One attempt per batch, in the given order: a file that was
   * deleted is `gone` and one too far behind is `behind` (nothing written for it) while the others
   * commit; a batch decided on predicted reads that the database found wrong is `mispredicted`
   * (nothing written for it). Resolves only after COMMIT returned, i.e. when every op it reports as committed is
   * durable; when it rejects (database unreachable, outcome unknown) nothing may be acknowledged.
   * A lost race (unique violation) fails the whole transaction: every batch is then a `conflict`
   * (nothing written), to be retried. A file deleted before the group locked it is `gone`.
   */
  async commitFiles(batches: readonly CommitBatchArgs[]): Promise<CommitAttempt[]> {
    if (batches.length === 0) return [];
    if (new Set(batches.map((b) => b.fileId)).size !== batches.length) throw new Error('commitFiles takes one batch per file');
    try {
      return await commitPipelined(this.db, batches, this.predictions, this.onGroupRoundTrips);
    } catch (err) {
      // Another node took one of these versions (or committed one of these submissions) first.
      if (isUniqueViolation(err)) return batches.map((): CommitAttempt => ({ kind: 'conflict' }));
      // (A deleted file needs no case here: the group finds it gone under its lock and writes
      // nothing for it; the op log has no foreign keys since migration 002.)
      throw err;
    }
  }

  /**
   * Reads the client's progress and raises its fence to `fenceSeq` in one statement, so that from
   * now on a late-arriving older submission of this client is refused (see SequencingFacts.fencedSeq).
   */
  async fenceAndReadProgress(fileId: string, clientId: string, fenceSeq: number | undefined): Promise<ClientProgress> {
    if (fenceSeq === undefined) {
      const row = await this.db('client_progress').where({ file_id: fileId, client_id: clientId }).first('last_seq', 'last_version', 'fenced_seq');
      return toProgress(row);
    }
    // The next commit of this client reads its progress under lock rather than predict the old fence.
    this.predictions?.forgetProgress(fileId, clientId);
    return this.db.transaction(async (trx) => {
      // Waits for any commit that holds the file's lock (FOR SHARE conflicts with its FOR NO KEY
      // UPDATE), and keeps the next one out until this fence is committed. Without it, a commit
      // that found no progress row (its client's first op on this file) and a fence that created
      // the row could both succeed unseen by each other: the fence would report "nothing
      // committed" while the commit went in under a seq the fence was meant to refuse.
      const file = await trx('files').where('id', fileId).forShare().first('id');
      // Deleted meanwhile: nothing to fence, and no progress row may outlive its file.
      if (!file) return toProgress(undefined);
      const rows = await trx('client_progress')
        .insert({ file_id: fileId, client_id: clientId, last_seq: 0, last_version: 0, fenced_seq: fenceSeq })
        .onConflict(['file_id', 'client_id'])
        .merge({ fenced_seq: trx.raw('GREATEST(client_progress.fenced_seq, EXCLUDED.fenced_seq)') })
        .returning(['last_seq', 'last_version', 'fenced_seq']);
      return toProgress(rows[0]);
    });
  }

  /** Writes a snapshot unless a newer one is already stored (any node may write; never goes backwards). */
  async writeSnapshot(fileId: string, version: number, content: string): Promise<boolean> {
    // `.returning` because knex-pglite reports a result object, not a count, for a bare update.
    const updated = await this.db('files').where('id', fileId).andWhere('version', '<', version).update({ content, version }, ['id']);
    return updated.length > 0;
  }

  /** Deletes ops with `version <= upTo` (compaction; the snapshot must already be at or past `upTo`). */
  async compact(fileId: string, upTo: number): Promise<number> {
    const deleted = await this.db('file_ops').where('file_id', fileId).andWhere('version', '<=', upTo).delete(['version']);
    return deleted.length;
  }

  /**
   * Binds `clientId` to `userId` on first use; false when it already belongs to someone else
   * (nobody may submit, and so spend acks, under another user's client id).
   */
  async bindClientId(clientId: string, userId: string): Promise<boolean> {
    await this.db('client_ids').insert({ client_id: clientId, user_id: userId }).onConflict('client_id').ignore();
    const row = await this.db('client_ids').where({ client_id: clientId }).first('user_id');
    return row?.user_id === userId;
  }
}
