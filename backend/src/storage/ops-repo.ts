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
 */
import type { Knex } from 'knex';
import type { CommittedOp, SequencingDecision, TextOp } from '@collab/protocol';
import { isForeignKeyViolation, isUniqueViolation } from './database';

/** A file's snapshot: its text at `version`. */
export interface Snapshot {
  readonly fileId: string;
  /** Internal id of the room the file belongs to. */
  readonly roomUuid: string;
  readonly content: string;
  readonly version: number;
}

/** What the log knows about one client on one file. */
export interface ClientProgress {
  /** The last committed submission, or undefined if none. */
  readonly lastCommitted: { readonly seq: number; readonly version: number } | undefined;
  /** Seqs up to this were abandoned by a resync (0 when none). */
  readonly fencedSeq: number;
}

/** The outcome of one commit attempt. */
export type CommitAttempt =
  | { readonly kind: 'committed'; readonly op: CommittedOp }
  | { readonly kind: 'duplicate'; readonly version: number }
  | { readonly kind: 'rejected'; readonly decision: Extract<SequencingDecision, { kind: 'reject' }> }
  /** Another node committed first (the version or the identity was taken): reload and try again. */
  | { readonly kind: 'conflict' }
  /**
   * The log is too far past the caller's head to decide in this transaction (more than
   * `MAX_NEWER` ops, or not contiguous with it): these are the first ops after the head, read
   * inside the transaction; nothing was written. Apply them (or reload) and try again.
   */
  | { readonly kind: 'behind'; readonly ops: readonly CommittedOp[] }
  /** The file no longer exists (deleted, perhaps on another node): nothing was written. */
  | { readonly kind: 'gone' };

interface OpRow {
  version: number;
  op: TextOp | string;
  author: string | null;
  client_id: string;
  seq: string | number;
  created_at: Date | string;
}

/** Most ops past the caller's head that one commit takes in; beyond that it answers `behind`. */
const MAX_NEWER = 1000;

/** Reads and writes the op log, client progress and snapshots with Knex. */
export class OpsRepo {
  constructor(private readonly db: Knex) {}

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
   * Commits one submission in a transaction: locks the file's row and the client's progress row,
   * reads the submitter's role and the ops past the caller's head, lets `decide` make the
   * sequencing decision with those facts, and on `commit` inserts the op at its version and
   * advances the progress row. Resolves only after COMMIT returned, i.e. when the op is durable.
   */
  async commit(args: {
    readonly fileId: string;
    /** The room the file belongs to (for the submitter's current role). */
    readonly roomUuid: string;
    readonly userId: string;
    readonly clientId: string;
    readonly seq: number;
    /** The head of the caller's cache: ops past it (other nodes' commits) are read and passed to `decide`. */
    readonly head: number;
    /**
     * The sequencing decision, given the client's progress, the submitter's current role, and the
     * ops committed after `head` (ascending, contiguous from `head + 1`; usually none).
     */
    readonly decide: (progress: ClientProgress, role: string | undefined, newer: readonly CommittedOp[]) => SequencingDecision;
  }): Promise<CommitAttempt> {
    const { fileId, userId, clientId, seq } = args;
    try {
      return await this.db.transaction(async (trx) => {
        // The file's row lock serialises commits to this file across nodes (taken first, in the
        // same order as a file deletion's cascade, so the two cannot deadlock). NO KEY UPDATE does
        // not block the foreign-key checks of other tables.
        const file = await trx('files').where({ id: fileId }).forNoKeyUpdate().first('id');
        if (!file) return { kind: 'gone' } as const;
        // FOR UPDATE serialises this client's submissions across nodes: a resend racing its
        // original on another node waits here, then sees the original's progress and is a duplicate.
        const row = await trx('client_progress')
          .where({ file_id: fileId, client_id: clientId })
          .forUpdate()
          .first('last_seq', 'last_version', 'fenced_seq');
        const progress: ClientProgress = {
          lastCommitted: row && Number(row.last_seq) > 0 ? { seq: Number(row.last_seq), version: Number(row.last_version) } : undefined,
          fencedSeq: row ? Number(row.fenced_seq) : 0,
        };
        // The role is read in the same transaction as the commit: a demotion committed before this
        // point refuses the op, whichever node the demotion happened on.
        const participant = await trx('room_participants').where({ room_id: args.roomUuid, user_id: userId }).first('role');
        // The authoritative head is the log's, not our cache's: under the file's lock, nobody can
        // commit to it until we are done, so these are all the ops the decision must know about.
        const rows = await trx<OpRow>('file_ops')
          .where('file_id', fileId)
          .andWhere('version', '>', args.head)
          .orderBy('version', 'asc')
          .limit(MAX_NEWER + 1)
          .select('version', 'op', 'author', 'client_id', 'seq', 'created_at');
        const newer = rows.map(toCommittedOp);
        if (newer.length > MAX_NEWER || (newer.length > 0 && newer[0]?.version !== args.head + 1)) {
          return { kind: 'behind', ops: newer.slice(0, MAX_NEWER) } as const;
        }
        const decision = args.decide(progress, participant?.role as string | undefined, newer);
        if (decision.kind === 'duplicate') return { kind: 'duplicate', version: decision.version } as const;
        if (decision.kind === 'reject') return { kind: 'rejected', decision } as const;
        const inserted = await trx('file_ops')
          .insert({
            file_id: fileId,
            version: decision.version,
            op: JSON.stringify(decision.op),
            author: userId,
            client_id: clientId,
            seq,
          })
          .returning(['created_at']);
        await trx('client_progress')
          .insert({ file_id: fileId, client_id: clientId, last_seq: seq, last_version: decision.version })
          .onConflict(['file_id', 'client_id'])
          .merge({ last_seq: seq, last_version: decision.version });
        const createdAt = inserted[0]?.created_at as Date | string | undefined;
        const committed: CommittedOp = {
          version: decision.version,
          op: decision.op,
          clientId,
          seq,
          author: userId,
          at: createdAt ? new Date(createdAt).getTime() : Date.now(),
        };
        return { kind: 'committed', op: committed } as const;
      });
    } catch (err) {
      // Another node took this version (or committed this very submission) first.
      if (isUniqueViolation(err)) return { kind: 'conflict' };
      // file_ops.file_id references files: the file was deleted (by any node) before the insert.
      if (isForeignKeyViolation(err)) return { kind: 'gone' };
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
    const rows = await this.db('client_progress')
      .insert({ file_id: fileId, client_id: clientId, last_seq: 0, last_version: 0, fenced_seq: fenceSeq })
      .onConflict(['file_id', 'client_id'])
      .merge({ fenced_seq: this.db.raw('GREATEST(client_progress.fenced_seq, EXCLUDED.fenced_seq)') })
      .returning(['last_seq', 'last_version', 'fenced_seq']);
    return toProgress(rows[0]);
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

function toProgress(row: { last_seq?: unknown; last_version?: unknown; fenced_seq?: unknown } | undefined): ClientProgress {
  if (!row) return { lastCommitted: undefined, fencedSeq: 0 };
  const lastSeq = Number(row.last_seq);
  return {
    lastCommitted: lastSeq > 0 ? { seq: lastSeq, version: Number(row.last_version) } : undefined,
    fencedSeq: Number(row.fenced_seq ?? 0),
  };
}

function toCommittedOp(row: OpRow): CommittedOp {
  return {
    version: Number(row.version),
    op: typeof row.op === 'string' ? (JSON.parse(row.op) as TextOp) : row.op,
    clientId: row.client_id,
    seq: Number(row.seq),
    ...(row.author ? { author: row.author } : {}),
    at: new Date(row.created_at).getTime(),
  };
}
