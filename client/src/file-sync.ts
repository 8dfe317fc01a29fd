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
  /** The connection refused the op for a session reason (`stalled`): re-establish the session. */
  onStalled?(effect: Extract<SyncEffect, { type: 'stalled' }>): void;
}

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

  constructor(
    readonly connection: CollabConnection,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    readonly core: SyncCore,
    private readonly hooks: FileSyncHooks = {},
  ) {
    this.unsubscribe.push(
      connection.on('op', (op) => {
        if (op.fileId === this.fileId) this.feed({ type: 'remote', op: fromWire(op) });
      }),
      connection.onStatus((status) => {
        if (status !== 'live' && this.core.state.online) this.feed({ type: 'disconnect' });
      }),
    );
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

  /** Re-opens at the known version after a reconnection (or resyncs when history is gone). */
  async reopen(): Promise<void> {
    const reply = await this.connection.request('file:open', {
      roomId: this.roomId,
      fileId: this.fileId,
      clientId: this.clientId,
      knownVersion: this.core.state.version,
    });
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
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private perform(effect: SyncEffect): void {
    switch (effect.type) {
      case 'send':
        void this.connection
          .request('op:submit', { roomId: this.roomId, fileId: this.fileId, ...effect.submission })
          .then((reply) => {
            if (reply.ok) this.feed({ type: 'ack', seq: effect.submission.seq, version: reply['version'] as number });
            else this.feed({ type: 'reject', seq: effect.submission.seq, error: reply.error });
          });
        break;
      case 'fetch':
        void this.connection
          .request('ops:fetch', { roomId: this.roomId, fileId: this.fileId, from: effect.from, to: effect.to })
          .then((reply) => {
            if (reply.ok) this.feed({ type: 'fetched', ops: (reply['ops'] as WireOp[]).map(fromWire) });
            else if (reply.error.code === 'HISTORY_COMPACTED') void this.resync();
            else this.feed({ type: 'fetched', ops: [] });
          });
        break;
      case 'retryLater':
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.feed({ type: 'retry' }), effect.error.retryAfterMs ?? 250);
        break;
      case 'needResync':
        void this.resync();
        break;
      case 'stalled':
        this.hooks.onStalled?.(effect);
        break;
      case 'apply':
      case 'acked':
      case 'rolledBack':
      case 'merged':
        break;
    }
    this.hooks.onEffect?.(effect);
  }
}
