/**
 * One open file of a bench client: the sync state machine of `@collab/protocol` with a plain
 * string for the document (as the headless `FileDoc` of `@collab/client`; while nothing local is
 * pending it is the state machine's server text itself), instrumented for the latency tracker. It keeps no log of effects or events, so long runs do not grow memory.
 *
 * "Applied" is observed on the state machine itself: an op is applied when the client's `version`
 * passes the op's version, whatever path delivered it (broadcast, gap fetch, reconnect catch-up or
 * a held op drained later), so ops that arrive early are not counted before they are applied.
 */
import {
  apply,
  compose,
  createSyncState,
  invert,
  isSynchronized,
  localText,
  replaceOp,
  step,
  transformSelection,
  type SyncEffect,
  type SyncEvent,
  type SyncState,
} from '@collab/protocol';
import { FileSync, type CollabConnection, type SyncCore } from '@collab/client';
import type { LatencySink } from './latency';
import type { SentOp } from './op-ledger';

/** A file open in a bench client. */
export class BenchDoc implements SyncCore {
  state: SyncState;
  text: string;
  readonly sync: FileSync;
  /** Called after each ack of our own submission (the hot-file scenario types again then). */
  onAcked: (() => void) | undefined;
  /** Keystroke times not yet part of a submission. */
  private typedAt: number[] = [];
  /** Our submissions: seq → first send time and keystrokes folded in. */
  private readonly sent = new Map<number, SentOp>();
  /** The range of the last gap fetch, to tell whether our own pending ack was the "gap". */
  private lastFetch: { from: number; to: number } | undefined;

  constructor(
    private readonly connection: CollabConnection,
    readonly roomId: string,
    readonly fileId: string,
    readonly clientId: string,
    version: number,
    text: string,
    private readonly tracker: LatencySink,
  ) {
    this.state = createSyncState(clientId, version, text);
    this.text = text;
    this.sync = new FileSync(connection, roomId, fileId, clientId, this, { onFetch: () => this.tracker.counts.add('gapFetches') });
  }

  /** Types `insert` at `offset`, replacing `remove` code units (a local edit fed to the state machine). */
  type(offset: number, insert: string, remove = 0): void {
    const op = replaceOp(this.text.length, offset, remove, insert);
    this.text = apply(op, this.text);
    this.typedAt.push(performance.now());
    if (this.tracker.inWindow) this.tracker.counts.add('typed');
    this.sync.feed({ type: 'local', op });
  }

  /**
   * Sends the caret at `offset` of the local text as a `cursor:update`, as an editor does when its
   * selection moves: in the server text's offsets at `version` (PROTOCOL.md §10), so mapped back
   * through the pending local edits.
   */
  sendCursor(offset: number): void {
    const s = this.state;
    const pending = s.inflight && s.buffer ? compose(s.inflight.op, s.buffer) : (s.inflight?.op ?? s.buffer);
    let selection = { anchor: offset, head: offset };
    if (pending) selection = transformSelection(selection, invert(pending, s.serverText));
    this.connection.notify('cursor:update', { roomId: this.roomId, fileId: this.fileId, version: s.version, selections: [selection] });
  }

  /** True when nothing local awaits the server. */
  get synchronized(): boolean {
    return isSynchronized(this.state);
  }

  /** The text the state machine believes the document holds (must equal `text`). */
  expectedText(): string {
    return localText(this.state);
  }

  /** Asks the server whether our copy matches at our version (a mismatch is repaired by a resync). */
  verify(): Promise<{ head: number; match: boolean | null }> {
    return this.sync.verify();
  }

  /** SyncCore: steps the state machine, applies `apply` effects, and reports to the tracker. */
  feed(event: SyncEvent): SyncEffect[] {
    if (event.type === 'ack' && this.lastFetch && event.version >= this.lastFetch.from && event.version <= this.lastFetch.to) {
      // The "missing" version was our own op, whose ack was still on its way: the ack is fed from
      // a promise continuation, after broadcasts that arrived right behind it were already fed.
      this.tracker.counts.add('gapFetchesForOwnAck');
      this.lastFetch = undefined;
    }
    const before = this.state.version;
    const { state, effects } = step(this.state, event);
    this.state = state;
    // With nothing local pending, the document is the server text (the state machine's invariant
    // once its `apply` effects are carried out): share that string instead of copying the document
    // a second time per remote op, as an editor's buffer does not copy the whole text per edit.
    const synchronized = state.inflight === null && state.buffer === null;
    const now = performance.now();
    const rest: SyncEffect[] = [];
    let own = -1; // the version our own op became, when this step confirmed it
    for (const effect of effects) {
      switch (effect.type) {
        case 'apply':
          if (!synchronized) this.text = apply(effect.op, this.text);
          continue;
        case 'send': {
          const { seq } = effect.submission;
          if (!this.sent.has(seq)) {
            // A first send: the keystrokes typed since the previous submission are folded into it.
            const typed = this.typedAt.splice(0);
            const measured = this.tracker.submitted(typed.length);
            this.sent.set(seq, { sentAt: now, typedAt: typed[0] ?? now, keystrokes: typed.length, measured });
          } else {
            this.tracker.counts.add('resent');
          }
          break;
        }
        case 'acked': {
          const s = this.sent.get(effect.seq);
          this.sent.delete(effect.seq);
          own = effect.version;
          if (s) this.tracker.acked(this.fileId, effect.version, now, s);
          if (this.onAcked) queueMicrotask(this.onAcked);
          break;
        }
        case 'fetch':
          // A gap noticed; FileSync fetches what is still missing after a short grace (onFetch).
          this.tracker.counts.add('gapsNoticed');
          this.lastFetch = { from: effect.from, to: effect.to };
          break;
        case 'retryLater':
        case 'rolledBack':
        case 'stalled':
          this.tracker.error(`${effect.type}:${effect.error.code}`);
          break;
        case 'needResync':
          this.tracker.error(`needResync:${effect.error.code}`);
          break;
        case 'merged':
          this.tracker.error('merged');
          break;
      }
      rest.push(effect);
    }
    if (synchronized) this.text = state.serverText;
    if (this.state.version > before) this.tracker.applied(this.fileId, before, this.state.version, own, now);
    return rest;
  }
}
