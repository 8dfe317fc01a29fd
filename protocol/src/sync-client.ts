/**
 * The client side of synchronisation for one file, as a pure state machine.
 *
 * It is ot.js's three states (synchronized, awaiting ack, awaiting ack with a buffer) plus what a
 * real network needs: acks matched by `(clientId, seq)`, ops applied strictly in version order
 * (early ones held, gaps fetched), resending the in-flight op under the same identity after a
 * reconnect, rolling back a rejected op, and rebasing local typing over a jump in the server text.
 *
 * `step(state, event)` returns the next state and the effects the caller must carry out (send a
 * submission, apply an op to the editor, fetch a range of versions, ...). It does no I/O and keeps
 * no timers: retries and polling are the transport's business.
 *
 * Invariants (checked by the simulated-network tests):
 *  - `serverText` is the server's text at `version`;
 *  - `inflight` (if any) applies to `serverText`; `buffer` (if any) applies after `inflight`;
 *  - the local document equals `apply(buffer, apply(inflight, serverText))` once every `apply`
 *    effect has been carried out.
 */
import { ErrorCode, isRetriable, type ErrorBody } from './errors';
import { diffOp } from './diff';
import type { CommittedOp, Submission } from './sequencer';
import { apply, compose, invert, isNoop, transform, type TextOp } from './text-op';

/** The client's own op that has been sent and awaits its ack. */
export interface InflightOp {
  readonly seq: number;
  readonly op: TextOp;
}

/** The state of one file's synchronisation. Treat as immutable. */
export interface SyncState {
  readonly clientId: string;
  /** The server version `serverText` is at. */
  readonly version: number;
  /** The server's text at `version`. */
  readonly serverText: string;
  /** Sent and not yet acknowledged (rebased onto `version`). */
  readonly inflight: InflightOp | null;
  /** Local edits not yet sent, composed into one op (applies after `inflight`). */
  readonly buffer: TextOp | null;
  /** The next seq to assign; seqs only grow and are never reused for this clientId. */
  readonly nextSeq: number;
  /** True when the transport is up and caught up, so submissions may be sent. */
  readonly online: boolean;
  /** Ops that arrived ahead of `version + 1`, by version. */
  readonly early: ReadonlyMap<number, CommittedOp>;
  /** The version the in-flight op was acknowledged as, when that ack arrived before earlier ops. */
  readonly ackedAs: number | null;
  /** The highest version already requested with a `fetch` effect (0 when none is outstanding). */
  readonly fetchedUpTo: number;
}

/** Something that happened to the client. */
export type SyncEvent =
  /** The user edited the local document (op applies to the current local text). */
  | { readonly type: 'local'; readonly op: TextOp }
  /** A committed op arrived (a broadcast), possibly out of order or twice. */
  | { readonly type: 'remote'; readonly op: CommittedOp }
  /**
   * The reply to a `fetch` effect: the ops it returned, in order. It may cover only part of the
   * range, or nothing (the request failed); anything still missing is requested again.
   */
  | { readonly type: 'fetched'; readonly ops: readonly CommittedOp[] }
  /** The server acknowledged our submission `seq` as `version`. */
  | { readonly type: 'ack'; readonly seq: number; readonly version: number }
  /** The server refused submission `seq`. */
  | { readonly type: 'reject'; readonly seq: number; readonly error: ErrorBody }
  /** The transport went down: stop sending, keep everything. */
  | { readonly type: 'disconnect' }
  /**
   * The transport is back and the server answered our re-open with the ops since `version`
   * (in order). They are applied first; then the in-flight op is resent under the same identity.
   */
  | { readonly type: 'reconnect'; readonly ops: readonly CommittedOp[] }
  /**
   * The server's head is `version` (from a heartbeat or verify reply): fetch anything missing,
   * re-requesting ranges whose fetch may have been lost.
   */
  | { readonly type: 'head'; readonly version: number }
  /** The transport wants the in-flight op sent again (after a retriable error and a back-off). */
  | { readonly type: 'retry' }
  /**
   * Replace our server copy with the server's text at `version` (history compacted, or our copy
   * diverged), keeping local typing. `lastCommitted` is our clientId's last committed submission
   * on the server, read with the text (null if none): it tells whether the in-flight op is already
   * in `text`.
   */
  | {
      readonly type: 'resync';
      readonly version: number;
      readonly text: string;
      readonly lastCommitted: { readonly seq: number; readonly version: number } | null;
    };

/** Something the caller must do. */
export type SyncEffect =
  /** Send this submission to the server. */
  | { readonly type: 'send'; readonly submission: Submission }
  /** Apply this op to the local document (it applies to the local text as it is now). */
  | { readonly type: 'apply'; readonly op: TextOp }
  /** Request the committed ops with versions `from..to` (inclusive). */
  | { readonly type: 'fetch'; readonly from: number; readonly to: number }
  /** Our submission `seq` is committed as `version`. */
  | { readonly type: 'acked'; readonly seq: number; readonly version: number }
  /** Submission `seq` failed with a retriable error: send a `retry` event after a back-off. */
  | { readonly type: 'retryLater'; readonly seq: number; readonly error: ErrorBody }
  /** Local edits were undone because the server refused them (`apply` effect already emitted). */
  | { readonly type: 'rolledBack'; readonly seq: number; readonly error: ErrorBody }
  /**
   * The server refused submission `seq` for a reason that is not about the op (the session's token
   * expired, the socket left the room, ...). Nothing is undone and nothing more is sent: re-establish
   * the session (sign in again, re-join) and send `reconnect`, which resends the op.
   */
  | { readonly type: 'stalled'; readonly seq: number; readonly error: ErrorBody }
  /** The client cannot continue from its history: fetch the text and send a `resync` event. */
  | { readonly type: 'needResync'; readonly error: ErrorBody }
  /** Local typing was rebased over a coarse jump in the server's text (after a resync). */
  | { readonly type: 'merged'; readonly fromVersion: number; readonly toVersion: number };

/** The next state and the effects to carry out, in order. */
export interface SyncStep {
  readonly state: SyncState;
  readonly effects: readonly SyncEffect[];
}

/** A new client for a file opened at `version` with `text`; pass `online = false` to start disconnected. */
export function createSyncState(clientId: string, version: number, text: string, online = true): SyncState {
  return {
    clientId,
    version,
    serverText: text,
    inflight: null,
    buffer: null,
    nextSeq: 1,
    online,
    early: new Map(),
    ackedAs: null,
    fetchedUpTo: 0,
  };
}

/** The local text the state implies: the server text plus our in-flight and buffered edits. */
export function localText(state: SyncState): string {
  let text = state.serverText;
  if (state.inflight) text = apply(state.inflight.op, text);
  if (state.buffer) text = apply(state.buffer, text);
  return text;
}

/** True when nothing local awaits the server. */
export function isSynchronized(state: SyncState): boolean {
  return state.inflight === null && state.buffer === null;
}

/** Advances the state machine by one event. */
export function step(state: SyncState, event: SyncEvent): SyncStep {
  const effects: SyncEffect[] = [];
  const next = reduce(state, event, effects);
  return { state: next, effects };
}

function reduce(s: SyncState, event: SyncEvent, fx: SyncEffect[]): SyncState {
  switch (event.type) {
    case 'local':
      return onLocal(s, event.op, fx);
    case 'remote':
      return drain(receive(s, event.op, fx), fx);
    case 'fetched': {
      let next = s;
      for (const op of event.ops) next = receive(next, op, fx);
      // Whatever this reply did not cover is no longer being fetched: ask again.
      next = drain(evolve(next, { fetchedUpTo: 0 }), fx);
      return next.inflight && next.ackedAs !== null ? requestMissing(next, next.ackedAs - 1, fx) : next;
    }
    case 'ack':
      return onAck(s, event.seq, event.version, fx);
    case 'reject':
      return onReject(s, event.seq, event.error, fx);
    case 'disconnect':
      // Outstanding fetches die with the connection; the reconnect catch-up replaces them.
      return evolve(s, { online: false, fetchedUpTo: 0 });
    case 'reconnect':
      return onReconnect(s, event.ops, fx);
    case 'head':
      return requestMissing(evolve(s, { fetchedUpTo: 0 }), event.version, fx);
    case 'retry':
      if (s.inflight && s.online) send(s, s.inflight, fx);
      return s;
    case 'resync':
      return onResync(s, event.version, event.text, event.lastCommitted, fx);
  }
}

/**
 * A copy of `s` with `changes` (fields left undefined keep their value). Built field by field on
 * purpose: this runs several times per delivered op, and V8 compiles `{ ...s, field }` on this
 * shape to a slow path (about 0.6 µs a call against 0.05 µs here, measured on Node 20).
 */
function evolve(s: SyncState, changes: Partial<SyncState>): SyncState {
  const c = changes;
  return {
    clientId: s.clientId,
    version: c.version !== undefined ? c.version : s.version,
    serverText: c.serverText !== undefined ? c.serverText : s.serverText,
    inflight: c.inflight !== undefined ? c.inflight : s.inflight,
    buffer: c.buffer !== undefined ? c.buffer : s.buffer,
    nextSeq: c.nextSeq !== undefined ? c.nextSeq : s.nextSeq,
    online: c.online !== undefined ? c.online : s.online,
    early: c.early !== undefined ? c.early : s.early,
    ackedAs: c.ackedAs !== undefined ? c.ackedAs : s.ackedAs,
    fetchedUpTo: c.fetchedUpTo !== undefined ? c.fetchedUpTo : s.fetchedUpTo,
  };
}

function send(s: SyncState, inflight: InflightOp, fx: SyncEffect[]): void {
  fx.push({
    type: 'send',
    submission: { clientId: s.clientId, seq: inflight.seq, baseVersion: s.version, op: inflight.op },
  });
}

/** Sends the buffer as the new in-flight op when nothing is in flight and we are online. */
function flush(s: SyncState, fx: SyncEffect[]): SyncState {
  // Typing that cancelled itself out (a character typed, then deleted) is not worth a version.
  if (s.buffer && isNoop(s.buffer)) s = evolve(s, { buffer: null });
  if (s.inflight || !s.buffer || !s.online) return s;
  const inflight = { seq: s.nextSeq, op: s.buffer };
  send(s, inflight, fx);
  return evolve(s, { inflight, buffer: null, nextSeq: s.nextSeq + 1 });
}

function onLocal(s: SyncState, op: TextOp, fx: SyncEffect[]): SyncState {
  if (isNoop(op)) return s;
  const buffer = s.buffer ? compose(s.buffer, op) : op;
  return flush(evolve(s, { buffer }), fx);
}

/** Files an incoming op: drops old ones, holds early ones (fetching the gap), applies the next one. */
function receive(s: SyncState, op: CommittedOp, fx: SyncEffect[]): SyncState {
  if (op.version <= s.version) return s; // already applied (a duplicate delivery)
  if (op.version > s.version + 1) {
    if (s.early.has(op.version)) return s;
    const early = new Map(s.early);
    early.set(op.version, op);
    return requestMissing(evolve(s, { early }), op.version - 1, fx);
  }
  return applyNext(s, op, fx);
}

/** Applies the op at `version + 1`: either our own (an ack by identity) or someone else's. */
function applyNext(s: SyncState, op: CommittedOp, fx: SyncEffect[]): SyncState {
  if (s.inflight && op.clientId === s.clientId && op.seq === s.inflight.seq) {
    return confirmInflight(s, op.op, op.version, fx);
  }
  // Someone else's op, concurrent with our in-flight and buffered edits. The server sequenced it
  // before ours, so it wins ties (left); ours are rebased onto it exactly as the server will do.
  let remote = op.op;
  let inflight = s.inflight;
  let buffer = s.buffer;
  if (inflight) {
    const rebased = transform(inflight.op, remote, 'right');
    remote = transform(remote, inflight.op, 'left');
    inflight = { seq: inflight.seq, op: rebased };
  }
  if (buffer) {
    const rebased = transform(buffer, remote, 'right');
    remote = transform(remote, buffer, 'left');
    buffer = rebased;
  }
  fx.push({ type: 'apply', op: remote });
  return evolve(s, {
    version: op.version,
    serverText: apply(op.op, s.serverText),
    inflight,
    buffer,
    fetchedUpTo: s.fetchedUpTo <= op.version ? 0 : s.fetchedUpTo,
  });
}

/** Our in-flight op is committed as `version`: fold it into the server text and send the buffer. */
function confirmInflight(s: SyncState, committed: TextOp, version: number, fx: SyncEffect[]): SyncState {
  const seq = (s.inflight as InflightOp).seq;
  fx.push({ type: 'acked', seq, version });
  const next = evolve(s, {
    version,
    serverText: apply(committed, s.serverText),
    inflight: null,
    ackedAs: null,
    fetchedUpTo: s.fetchedUpTo <= version ? 0 : s.fetchedUpTo,
  });
  return flush(next, fx);
}

/** Applies held ops that have become next in line, and a held ack whose turn has come. */
function drain(s: SyncState, fx: SyncEffect[]): SyncState {
  for (;;) {
    if (s.inflight && s.ackedAs === s.version + 1) {
      s = confirmInflight(s, s.inflight.op, s.ackedAs, fx);
      continue;
    }
    const op = s.early.get(s.version + 1);
    if (!op) break;
    const early = new Map(s.early);
    early.delete(op.version);
    s = applyNext(evolve(s, { early }), op, fx);
  }
  if (s.early.size > 0) {
    // Drop anything stale, then make sure the next gap is being fetched.
    const early = new Map([...s.early].filter(([v]) => v > s.version));
    s = evolve(s, { early });
    const firstHeld = Math.min(...early.keys());
    if (Number.isFinite(firstHeld)) s = requestMissing(s, firstHeld - 1, fx);
  }
  return s;
}

/** Emits a fetch for versions up to `upTo` that we neither have nor have asked for already. */
function requestMissing(s: SyncState, upTo: number, fx: SyncEffect[]): SyncState {
  let from = Math.max(s.version + 1, s.fetchedUpTo + 1);
  if (!s.online || upTo < from) return s;
  // Versions already held at either end of the range are not asked for again (a burst of early
  // ops would otherwise re-request each one as the next arrives); one held in the middle may be.
  let to = upTo;
  while (from <= to && s.early.has(from)) from++;
  while (to >= from && s.early.has(to)) to--;
  if (from <= to) fx.push({ type: 'fetch', from, to });
  return evolve(s, { fetchedUpTo: upTo });
}

function onAck(s: SyncState, seq: number, version: number, fx: SyncEffect[]): SyncState {
  if (!s.inflight || s.inflight.seq !== seq) return s; // stale or duplicate ack
  if (version <= s.version) return s; // already confirmed by identity in the op stream
  if (version === s.version + 1) return drain(confirmInflight(s, s.inflight.op, version, fx), fx);
  // Committed after ops we have not seen yet: wait for them (fetching the gap), then confirm.
  return requestMissing(evolve(s, { ackedAs: version }), version - 1, fx);
}

/** Refusals that mean our copy of the server's history is wrong or gone. */
const NEEDS_RESYNC: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.HISTORY_COMPACTED,
  ErrorCode.VERSION_AHEAD,
  ErrorCode.DIVERGED,
  ErrorCode.STALE_SUBMISSION,
  ErrorCode.OP_BASE_LENGTH_MISMATCH,
]);

/** Refusals of the op itself, for good: the edit is undone locally. */
const ROLL_BACK: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.FORBIDDEN,
  ErrorCode.INVALID_OP,
  ErrorCode.INVALID_TEXT,
  ErrorCode.OP_TOO_LARGE,
  ErrorCode.DOCUMENT_TOO_LARGE,
  ErrorCode.INVALID_MESSAGE,
]);

function onReject(s: SyncState, seq: number, error: ErrorBody, fx: SyncEffect[]): SyncState {
  if (!s.inflight || s.inflight.seq !== seq) return s;
  if (isRetriable(error.code)) {
    fx.push({ type: 'retryLater', seq, error });
    return s;
  }
  if (NEEDS_RESYNC.has(error.code)) {
    // Our history no longer lines up with the server's; whether the op is committed is unknown
    // until the resync reads our last committed seq, so it must not be rolled back blindly.
    fx.push({ type: 'needResync', error });
    return s;
  }
  if (!ROLL_BACK.has(error.code)) {
    // Not about the op (token expired, not joined, ...): keep everything and stop sending until
    // the session is re-established; `reconnect` then resends the op under the same identity.
    fx.push({ type: 'stalled', seq, error });
    return evolve(s, { online: false, fetchedUpTo: 0 });
  }
  // The server refused the op for good (a viewer, an invalid edit): undo it locally. A refusal
  // of our role undoes every local edit, since the buffer would be refused next.
  const undoAll = error.code === ErrorCode.FORBIDDEN && s.buffer !== null;
  const inflightOp = s.inflight.op;
  const pending = undoAll ? compose(inflightOp, s.buffer as TextOp) : inflightOp;
  const inverse = invert(pending, s.serverText);
  let undo = inverse;
  let buffer = undoAll ? null : s.buffer;
  if (buffer) {
    undo = transform(inverse, buffer, 'left');
    buffer = transform(buffer, inverse, 'right');
    if (isNoop(buffer)) buffer = null;
  }
  fx.push({ type: 'apply', op: undo });
  fx.push({ type: 'rolledBack', seq, error });
  return flush(evolve(s, { inflight: null, buffer, ackedAs: null }), fx);
}

function onReconnect(s: SyncState, ops: readonly CommittedOp[], fx: SyncEffect[]): SyncState {
  // Catch up first, by version: our own op may be among these (committed, ack lost), which
  // confirms it by identity and means it must not be resent.
  let next: SyncState = evolve(s, { online: true, fetchedUpTo: 0 });
  for (const op of ops) next = receive(next, op, fx);
  next = drain(next, fx);
  // Still unconfirmed: resend it under the same (clientId, seq), so the server de-duplicates it if
  // it did arrive. (If the catch-up confirmed it, the buffer was already flushed as a new op.)
  if (next.inflight && next.inflight.seq === s.inflight?.seq) send(next, next.inflight, fx);
  return flush(next, fx);
}

function onResync(
  s: SyncState,
  version: number,
  text: string,
  lastCommitted: { readonly seq: number; readonly version: number } | null,
  fx: SyncEffect[],
): SyncState {
  // Seqs commit in order and only one is in flight, so `seq <= last.seq` means it is in `text`.
  const inflightCommitted = s.inflight !== null && lastCommitted !== null && s.inflight.seq <= lastCommitted.seq;
  if (inflightCommitted && s.inflight?.seq === lastCommitted?.seq && lastCommitted) {
    fx.push({ type: 'acked', seq: lastCommitted.seq, version: lastCommitted.version });
  }
  const base = inflightCommitted ? apply((s.inflight as InflightOp).op, s.serverText) : s.serverText;
  let pending: TextOp | null = s.buffer;
  if (!inflightCommitted && s.inflight) pending = s.buffer ? compose(s.inflight.op, s.buffer) : s.inflight.op;
  // The jump from what we had to what the server has, as one coarse op; our pending typing is
  // rebased over it like over any concurrent op, so nothing typed locally is lost. The rebased
  // typing is submitted afresh on top of the server's head, so either side may win ties here: the
  // local typing does, to keep it where the user put it (the coarse diff creates spurious ties).
  const jump = diffOp(base, text);
  let toLocal = jump;
  let buffer: TextOp | null = null;
  if (pending) {
    toLocal = transform(jump, pending, 'right');
    buffer = transform(pending, jump, 'left');
    if (isNoop(buffer)) buffer = null;
  }
  if (!isNoop(toLocal)) fx.push({ type: 'apply', op: toLocal });
  if (pending) fx.push({ type: 'merged', fromVersion: s.version, toVersion: version });
  const early = new Map([...s.early].filter(([v]) => v > version));
  const next = evolve(s, {
    version,
    serverText: text,
    inflight: null,
    buffer,
    ackedAs: null,
    fetchedUpTo: 0,
    early,
  });
  return flush(drain(next, fx), fx);
}

/**
 * The seq to fence when asking the server for a snapshot to resync from: the in-flight op, which
 * may still be on its way to some server node. The server refuses it from then on unless it is
 * already committed, so its typing (rebased into a new op by the resync) cannot land twice.
 */
export function resyncFence(state: SyncState): number | null {
  return state.inflight ? state.inflight.seq : null;
}
