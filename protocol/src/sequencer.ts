/**
 * The server's sequencing decision for one submitted operation, as a pure function.
 *
 * The storage layer gathers the facts (head version and text, the committed ops since the client's
 * base version, the client's last committed seq) and then commits whatever this function decides,
 * under a per-file version constraint. Keeping the decision here lets the fuzzers exercise exactly
 * the logic the server runs.
 */
import type { TextLike } from './canonical-text';
import { ErrorCode, type ErrorBody } from './errors';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { checkOpFits } from './op-check';
import { baseLength, transform, type TextOp } from './text-op';

/** An operation in a file's log. `version` is the file's version *after* this op; the first op is 1. */
export interface CommittedOp {
  readonly version: number;
  readonly op: TextOp;
  /** The submitting client's id and sequence number: the identity used for acks and de-duplication. */
  readonly clientId: string;
  readonly seq: number;
  /** The user who submitted it (optional in pure tests). */
  readonly author?: string;
  /** Commit time in milliseconds since the epoch (optional in pure tests). */
  readonly at?: number;
}

/** What a client submits: its op, written against `baseVersion`, with its identity. */
export interface Submission {
  readonly clientId: string;
  readonly seq: number;
  readonly baseVersion: number;
  readonly op: TextOp;
}

/** The facts the decision needs, read from storage. */
export interface SequencingFacts {
  /** The file's current version. */
  readonly head: number;
  /** The text at `head` (a string or the server's rope). */
  readonly headText: TextLike;
  /**
   * The committed ops after `baseVersion`, ascending. May start later than `baseVersion + 1` (or be
   * empty) when history was compacted.
   */
  readonly history: readonly CommittedOp[];
  /** The highest seq this client has committed on this file, and at which version (durable de-dup). */
  readonly lastCommitted?: { readonly seq: number; readonly version: number } | undefined;
  /**
   * Seqs up to this one were abandoned by the client when it resynchronised (it rebased their
   * typing into a new op): if one still arrives late and is not committed, it must be refused, or
   * its text would be applied twice.
   */
  readonly fencedSeq?: number | undefined;
}

/** What to do with a submission. */
export type SequencingDecision =
  /** Commit `op` (rebased onto the head) as version `version` (= head + 1). */
  | { readonly kind: 'commit'; readonly version: number; readonly op: TextOp }
  /** Already committed as `version`: acknowledge again, change nothing. */
  | { readonly kind: 'duplicate'; readonly version: number }
  /** Refuse; nothing changes. */
  | { readonly kind: 'reject'; readonly error: ErrorBody };

function reject(code: ErrorCode, message: string): SequencingDecision {
  return { kind: 'reject', error: { code, message } };
}

/**
 * Decides what to do with `submission` given `facts`. The op must already be well-shaped
 * (`parseOp`); everything that depends on the document is checked here.
 *
 * Order matters: de-duplication comes before the history checks, so that a client resending an
 * op that was committed long ago (its history since compacted) is still acknowledged rather than
 * told to resynchronise and risk applying its typing twice.
 */
export function sequence(
  submission: Submission,
  facts: SequencingFacts,
  limits: Pick<Limits, 'maxDocumentLength'> = DEFAULT_LIMITS,
): SequencingDecision {
  const { clientId, seq, baseVersion } = submission;
  const { head, history } = facts;
  if (!Number.isSafeInteger(baseVersion) || baseVersion < 0) {
    return reject(ErrorCode.INVALID_MESSAGE, `baseVersion must be a non-negative integer`);
  }
  if (baseVersion > head) {
    return reject(ErrorCode.VERSION_AHEAD, `base version ${baseVersion} is ahead of the head ${head}`);
  }

  // A resubmission (the client never saw its ack) is recognised by identity, never applied twice.
  for (const h of history) {
    if (h.clientId === clientId && h.seq === seq) return { kind: 'duplicate', version: h.version };
  }
  const last = facts.lastCommitted;
  if (last && seq <= last.seq) {
    if (seq === last.seq) return { kind: 'duplicate', version: last.version };
    return reject(ErrorCode.STALE_SUBMISSION, `seq ${seq} is older than this client's last committed seq ${last.seq}`);
  }
  if (facts.fencedSeq !== undefined && seq <= facts.fencedSeq) {
    return reject(ErrorCode.STALE_SUBMISSION, `seq ${seq} was abandoned by this client's resynchronisation`);
  }

  // Every op between the base and the head is needed: transforming over a partial history would
  // place the edit at the wrong offsets.
  const missing = head - baseVersion;
  if (history.length !== missing || (missing > 0 && history[0]?.version !== baseVersion + 1)) {
    return reject(
      ErrorCode.HISTORY_COMPACTED,
      `the history from version ${baseVersion} to ${head} is no longer available; resynchronise`,
    );
  }
  const lengthAtBase = missing > 0 ? baseLength((history[0] as CommittedOp).op) : facts.headText.length;
  if (baseLength(submission.op) !== lengthAtBase) {
    return reject(
      ErrorCode.OP_BASE_LENGTH_MISMATCH,
      `operation base length ${baseLength(submission.op)} differs from the document length ${lengthAtBase} at version ${baseVersion}`,
    );
  }

  // Rebase over each committed op in turn (never over their composition: compose is not closed
  // under transform when inserts tie). Already-sequenced ops win ties: they are on the left.
  let op = submission.op;
  let expectedVersion = baseVersion + 1;
  for (const h of history) {
    if (h.version !== expectedVersion) {
      return reject(ErrorCode.HISTORY_COMPACTED, `the history has a gap at version ${expectedVersion}; resynchronise`);
    }
    op = transform(op, h.op, 'right');
    expectedVersion++;
  }
  const fits = checkOpFits(op, facts.headText, limits);
  if (!fits.ok) return { kind: 'reject', error: fits.error };
  return { kind: 'commit', version: head + 1, op };
}
