/**
 * Drives one open file over a connection: feeds the sync state machine what arrives (broadcasts,
 * acks, refusals, fetch replies, reconnections) and carries out what it asks for (submit, fetch,
 * retry after back-off, resync with a fence, re-open after a reconnection).
 *
 * The state itself lives in a `SyncCore`: the headless client's is a plain string; the
 * extension's is the document binding, which also keeps the editor in step. Both absorb `apply`
 * effects themselves; everything else comes back here.
 */
import {
  isRetriable,
  resyncFence,
  textHash,
  type CommittedOp,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
  type WireOp,
} from '@collab/protocol';
import type { CollabConnection } from './connection';

/** Holds one file's sync state; `feed` handles `apply` effects itself and returns the rest. */
export interface SyncCore {
  readonly state: SyncState;
  feed(event: SyncEvent): SyncEffect[];
}

/** Observers of a file's synchronisation. */
export interface FileSyncHooks {
  /** After every event has been handled (the core may have changed). */
  onChange?(): void;
  /** Every transport effect, after it was carried out or scheduled (logs, tests). */
  onEffect?(effect: SyncEffect): void;
  /** An `ops:fetch` for a version gap is sent (after the grace period, for what is still missing). */
  onFetch?(from: number, to: number): void;
  /** The connection refused the op for a session reason (`stalled`): re-establish the session. */
  onStalled?(effect: Extract<SyncEffect, { type: 'stalled' }>): void;
}

/** How a file keeps itself caught up beyond reacting to what arrives. */
export interface FileSyncOptions {
  /**
   * When set, every this many ms in which nothing arrived, ask the server for ops past our version.
   * Broadcasts between server nodes are fire-and-forget: an op lost on its way is normally noticed
   * by the version gap the next op leaves, but the *last* op of a burst leaves none. @default 0 (off)
   */
  readonly catchUpIntervalMs?: number;
  /** How many versions one catch-up request covers (at most the server's `maxFetchOps`). @default 100 */
  readonly catchUpBatch?: number;
  /**
   * How long a version gap may wait for the missing ops to arrive by broadcast before they are
   * fetched. With several server nodes, ops committed on different nodes reach a client by
   * different paths (directly, or through Redis) and commonly arrive out of order by a few
   * milliseconds; fetching at once would cost a request for ops already on their way. @default 30
   */
  readonly gapFetchDelayMs?: number;
}

/** Delays between attempts to re-open after a reconnection while the server answers "retry". */
const REOPEN_BACKOFF_MS = [100, 250, 500, 1000, 2000];

/** First and largest back-off before resending an op refused with a retriable error. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2000;

/** See `FileSyncOptions.gapFetchDelayMs`. */
const DEFAULT_GAP_FETCH_DELAY_MS = 30;

/** Pause before asking again for ops whose fetch failed. */
const FETCH_RETRY_MS = 200;

/** The committed op of a wire op. */
export function fromWire(op: WireOp): CommittedOp {
  return { version: op.version, op: op.op, clientId: op.clientId, seq: op.seq, author: op.author, at: op.at };
}

/** One open file bound to a connection. */
export class FileSync {
  private readonly unsubscribe: (() => void)[] = [];
  private resyncing = false;
  private disposed = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private catchUpTimer: ReturnType<typeof setInterval> | undefined;
  /** The version at the previous catch-up tick: a catch-up is only worth asking for when idle. */
  private lastTickVersion = -1;
  private catchUpInFlight = false;
  /** Consecutive retriable refusals of the in-flight op (reset by an ack). */
  private retries = 0;

  constructor(
    readonly connection: CollabConnection,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    readonly core: SyncCore,
    private readonly hooks: FileSyncHooks = {},
    private readonly options: FileSyncOptions = {},
  ) {
    this.unsubscribe.push(
      connection.on('op', (op) => {
        if (op.fileId === this.fileId) this.feed({ type: 'remote', op: fromWire(op) });
      }),
      connection.onStatus((status) => {
        if (status !== 'live' && this.core.state.online) this.feed({ type: 'disconnect' });
      }),
    );
    const every = options.catchUpIntervalMs ?? 0;
    if (every > 0) {
      this.catchUpTimer = setInterval(() => void this.catchUp(), every);
      this.catchUpTimer.unref?.();
    }
  }

  /**
   * Asks for ops past our version when nothing arrived since the last tick (see
   * `FileSyncOptions.catchUpIntervalMs`). Whatever comes back goes through the state machine like
   * any fetch reply: applied in version order, duplicates dropped.
   */
  async catchUp(): Promise<void> {
    const state = this.core.state;
    const idle = state.version === this.lastTickVersion;
    this.lastTickVersion = state.version;
    if (!idle || !state.online || this.catchUpInFlight || this.disposed) return;
    this.catchUpInFlight = true;
    try {
      const from = state.version + 1;
      const reply = await this.connection.request('ops:fetch', {
        roomId: this.roomId,
        fileId: this.fileId,
        from,
        to: from + (this.options.catchUpBatch ?? 100) - 1,
      });
      if (reply.ok && (reply['ops'] as WireOp[]).length > 0) this.feed({ type: 'fetched', ops: (reply['ops'] as WireOp[]).map(fromWire) });
    } finally {
      this.catchUpInFlight = false;
    }
  }

  /** Feeds an event to the core and carries out the effects it returns. */
  feed(event: SyncEvent): void {
    if (this.disposed) return;
    const effects = this.core.feed(event);
    for (const effect of effects) this.perform(effect);
    this.hooks.onChange?.();
  }

  /**
   * Carries out effects the core produced outside `feed` (the extension's document binding turns
   * editor changes into effects itself), then notifies `onChange`.
   */
  run(effects: readonly SyncEffect[]): void {
    if (this.disposed) return;
    for (const effect of effects) this.perform(effect);
    this.hooks.onChange?.();
  }

  /**
   * Re-opens at the known version after a reconnection (or resyncs when history is gone). While
   * the server answers with a retriable error (its database restarting, say) it tries again with
   * back-off, as long as the connection stays up. Resolves true once re-opened.
   */
  async reopen(): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const reply = await this.connection.request('file:open', {
        roomId: this.roomId,
        fileId: this.fileId,
        clientId: this.clientId,
        knownVersion: this.core.state.version,
      });
      if (reply.ok || !isRetriable(reply.error.code) || reply.error.code === 'HISTORY_COMPACTED') {
        await this.afterReopen(reply);
        return reply.ok || reply.error.code === 'HISTORY_COMPACTED' || reply.error.code === 'VERSION_AHEAD';
      }
      if (this.disposed || this.connection.status !== 'live') return false;
      await new Promise((resolve) => setTimeout(resolve, REOPEN_BACKOFF_MS[Math.min(attempt, REOPEN_BACKOFF_MS.length - 1)]));
    }
  }

  private async afterReopen(reply: Awaited<ReturnType<CollabConnection['request']>>): Promise<void> {
    if (reply.ok && reply['mode'] === 'ops') {
      this.feed({ type: 'reconnect', ops: (reply['ops'] as WireOp[]).map(fromWire) });
      this.feed({ type: 'head', version: reply['version'] as number });
    } else if (!reply.ok && (reply.error.code === 'HISTORY_COMPACTED' || reply.error.code === 'VERSION_AHEAD')) {
      await this.resync();
      this.feed({ type: 'reconnect', ops: [] });
    } else if (reply.ok) {
      // A snapshot answered a re-open: resynchronise from a fenced read (PROTOCOL.md §8.2).
      await this.resync();
      this.feed({ type: 'reconnect', ops: [] });
    }
  }

  /** Fetches the head text with a fence and rebases local typing onto it. */
  async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    try {
      const fence = resyncFence(this.core.state);
      const reply = await this.connection.request('file:open', {
        roomId: this.roomId,
        fileId: this.fileId,
        clientId: this.clientId,
        ...(fence !== null ? { fenceSeq: fence } : {}),
      });
      if (!reply.ok || reply['mode'] !== 'snapshot') return;
      this.feed({
        type: 'resync',
        version: reply['version'] as number,
        text: reply['text'] as string,
        lastCommitted: (reply['lastCommitted'] as { seq: number; version: number } | null) ?? null,
      });
    } finally {
      this.resyncing = false;
    }
  }

  /**
   * Compares our server text's hash with the server's at our version. A mismatch (which should
   * never happen) is repaired by a resync; returns what the server said.
   */
  async verify(): Promise<{ head: number; match: boolean | null }> {
    const state = this.core.state;
    const reply = await this.connection.request('file:verify', {
      roomId: this.roomId,
      fileId: this.fileId,
      version: state.version,
      hash: textHash(state.serverText),
    });
    if (!reply.ok) return { head: state.version, match: null };
    const result = { head: reply['head'] as number, match: reply['match'] as boolean | null };
    if (result.match === false) await this.resync();
    else if (result.head > this.core.state.version) this.feed({ type: 'head', version: result.head });
    return result;
  }

  /** Closes the file on the server and stops listening. */
  async close(): Promise<void> {
    this.dispose();
    await this.connection.request('file:close', { roomId: this.roomId, fileId: this.fileId });
  }

  /** Stops listening (the connection stays open). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.catchUpTimer);
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /**
   * Fetches what is still missing of the gap (from, to]: the state machine counts these versions as
   * requested until a `fetched` event, so one is always fed, also when broadcasts filled the gap
   * while we waited (then with no ops, and nothing is asked of the server).
   */
  private fetchGap(from: number, to: number): void {
    if (this.disposed) return;
    const start = Math.max(from, this.core.state.version + 1);
    if (start > to) {
      this.feed({ type: 'fetched', ops: [] });
      return;
    }
    this.hooks.onFetch?.(start, to);
    void this.connection.request('ops:fetch', { roomId: this.roomId, fileId: this.fileId, from: start, to }).then((reply) => {
      if (reply.ok) this.feed({ type: 'fetched', ops: (reply['ops'] as WireOp[]).map(fromWire) });
      else if (reply.error.code === 'HISTORY_COMPACTED') void this.resync();
      // Failed (server busy, database restarting): the state machine asks again for what is
      // still missing, so pause first rather than spin.
      else setTimeout(() => this.feed({ type: 'fetched', ops: [] }), FETCH_RETRY_MS);
    });
  }

  private perform(effect: SyncEffect): void {
    switch (effect.type) {
      case 'send':
        // The reply is fed before any packet that follows it (see `requestNow`): the ack of our op
        // comes before the broadcasts of the versions after it, so they are not taken for a gap.
        this.connection.requestNow('op:submit', { roomId: this.roomId, fileId: this.fileId, ...effect.submission }, (reply) => {
          if (reply.ok) this.feed({ type: 'ack', seq: effect.submission.seq, version: reply['version'] as number });
          else this.feed({ type: 'reject', seq: effect.submission.seq, error: reply.error });
        });
        break;
      case 'fetch': {
        const delay = this.options.gapFetchDelayMs ?? DEFAULT_GAP_FETCH_DELAY_MS;
        if (delay <= 0) this.fetchGap(effect.from, effect.to);
        else setTimeout(() => this.fetchGap(effect.from, effect.to), delay);
        break;
      }
      case 'retryLater': {
        clearTimeout(this.retryTimer);
        // The server's hint when it gave one (RATE_LIMITED); otherwise exponential back-off with
        // jitter (PROTOCOL.md §7.3), so that a database outage is not met by every client at once.
        const backoff = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.retries++) * (0.5 + Math.random() / 2);
        this.retryTimer = setTimeout(() => this.feed({ type: 'retry' }), effect.error.retryAfterMs ?? backoff);
        break;
      }
      case 'needResync':
        void this.resync();
        break;
      case 'stalled':
        this.hooks.onStalled?.(effect);
        break;
      case 'acked':
        this.retries = 0;
        break;
      case 'apply':
      case 'rolledBack':
      case 'merged':
        break;
    }
    this.hooks.onEffect?.(effect);
  }
}
