/**
 * A simulated network for the sync protocol: one server running the real sequencing core, several
 * clients running the real sync state machine, and per-direction FIFO channels between them that
 * the test drives step by step (deliver, drop, duplicate, disconnect, reconnect).
 *
 * Nothing here is clever: the server is a log, a text and a de-dup table, exactly the facts the
 * backend's storage gathers, so the test exercises the same decisions the backend will make.
 */
import { ErrorCode, type ErrorBody } from '../errors';
import { sequence, type CommittedOp, type Submission } from '../sequencer';
import { createSyncState, localText, step, type SyncEffect, type SyncEvent, type SyncState } from '../sync-client';
import { apply, replaceOp, type TextOp } from '../text-op';
import { codePointBoundary, randomText, type Random } from './random';

/** A message from a client to the server. */
export type UpMessage =
  | { readonly kind: 'submit'; readonly submission: Submission }
  | { readonly kind: 'fetch'; readonly from: number; readonly to: number }
  | { readonly kind: 'open'; readonly knownVersion: number }
  | { readonly kind: 'snapshot' }
  | { readonly kind: 'head' };

/** A message from the server to a client. */
export type DownMessage =
  | { readonly kind: 'op'; readonly op: CommittedOp }
  | { readonly kind: 'ack'; readonly seq: number; readonly version: number }
  | { readonly kind: 'reject'; readonly seq: number; readonly error: ErrorBody }
  | { readonly kind: 'ops'; readonly ops: readonly CommittedOp[] }
  | { readonly kind: 'opened'; readonly ops: readonly CommittedOp[] }
  | { readonly kind: 'compacted' }
  | {
      readonly kind: 'snapshot';
      readonly version: number;
      readonly text: string;
      readonly lastCommitted: { readonly seq: number; readonly version: number } | null;
    }
  | { readonly kind: 'head'; readonly version: number };

/** Knobs for a simulated session. */
export interface SimOptions {
  /** Probability that the server answers a submit with a transient error (nothing committed). */
  readonly transientFailure: number;
  /** Probability that a broadcast is lost (fire-and-forget fan-out). */
  readonly broadcastLoss: number;
  /** Probability that a delivered message is delivered twice. */
  readonly duplication: number;
}

/** The server side: the real `sequence` over an in-memory log. */
export class SimServer {
  /** Committed ops; `log[i]` has version `firstVersion + i`. */
  log: CommittedOp[] = [];
  /** The version of the first op still in `log` (older ones were compacted away). */
  firstVersion = 1;
  head = 0;
  text: string;
  readonly progress = new Map<string, { seq: number; version: number }>();
  /** Clients whose edits the server refuses (viewers). */
  readonly viewers = new Set<string>();
  commits = 0;
  duplicates = 0;

  constructor(readonly initialText: string) {
    this.text = initialText;
  }

  /** The committed ops with versions in [from, to], or null when some were compacted. */
  range(from: number, to: number): CommittedOp[] | null {
    if (from < this.firstVersion) return null;
    return this.log.slice(from - this.firstVersion, to - this.firstVersion + 1);
  }

  /** Decides a submission with the real sequencing core and commits it. */
  submit(sub: Submission, transientFailure: boolean): { reply: DownMessage; broadcast?: CommittedOp } {
    if (this.viewers.has(sub.clientId)) {
      return { reply: { kind: 'reject', seq: sub.seq, error: { code: ErrorCode.FORBIDDEN, message: 'viewer' } } };
    }
    if (transientFailure) {
      // Either storage is down (retry the op) or the session's token expired (re-authenticate).
      const code = sub.seq % 3 === 0 ? ErrorCode.TOKEN_EXPIRED : ErrorCode.UNAVAILABLE;
      return { reply: { kind: 'reject', seq: sub.seq, error: { code, message: 'try again' } } };
    }
    const from = Math.max(sub.baseVersion + 1, this.firstVersion);
    const history = sub.baseVersion <= this.head ? this.log.slice(from - this.firstVersion) : [];
    const decision = sequence(sub, {
      head: this.head,
      headText: this.text,
      history,
      lastCommitted: this.progress.get(sub.clientId),
    });
    if (decision.kind === 'reject') return { reply: { kind: 'reject', seq: sub.seq, error: decision.error } };
    if (decision.kind === 'duplicate') {
      this.duplicates++;
      return { reply: { kind: 'ack', seq: sub.seq, version: decision.version } };
    }
    const committed: CommittedOp = { version: decision.version, op: decision.op, clientId: sub.clientId, seq: sub.seq };
    this.text = apply(decision.op, this.text);
    this.log.push(committed);
    this.head = decision.version;
    this.progress.set(sub.clientId, { seq: sub.seq, version: decision.version });
    this.commits++;
    return { reply: { kind: 'ack', seq: sub.seq, version: decision.version }, broadcast: committed };
  }

  /** Forgets the ops up to `upTo` (a compaction policy would do this after a snapshot). */
  compact(upTo: number): void {
    const n = Math.min(upTo, this.head) - this.firstVersion + 1;
    if (n <= 0) return;
    this.log = this.log.slice(n);
    this.firstVersion += n;
  }

  /** The text at `version`, recomputed from the initial text (only valid without compaction). */
  replay(): string {
    let text = this.initialText;
    for (const op of this.log) text = apply(op.op, text);
    return text;
  }
}

/** A client: the real sync state machine plus its "editor" text and its two channels. */
export class SimClient {
  state: SyncState;
  document: string;
  connected = true;
  /** Client → server, in order. */
  up: UpMessage[] = [];
  /** Server → client, in order. */
  down: DownMessage[] = [];
  /** Set while a reconnect's `open` is outstanding: events other than its reply are not expected. */
  awaitingOpen = false;
  /** A retriable failure happened; a `retry` event is due (the transport's back-off). */
  retryDue = false;
  /** A resync was requested by the state machine. */
  resyncDue = false;
  /** The server refused a submission for a session reason: re-establish the session. */
  stalled = false;
  readonly acked = new Map<number, number>();
  rollbacks = 0;
  merges = 0;

  constructor(
    readonly id: string,
    version: number,
    text: string,
  ) {
    this.state = createSyncState(id, version, text);
    this.document = text;
  }

  /** Feeds one event to the state machine and carries out its effects. */
  handle(event: SyncEvent): void {
    const { state, effects } = step(this.state, event);
    this.state = state;
    for (const effect of effects) this.perform(effect);
    const expected = localText(this.state);
    if (expected !== this.document) {
      throw new Error(`client ${this.id}: editor text diverged from the state after ${event.type}`);
    }
  }

  private perform(effect: SyncEffect): void {
    switch (effect.type) {
      case 'send':
        this.up.push({ kind: 'submit', submission: effect.submission });
        break;
      case 'apply':
        this.document = apply(effect.op, this.document);
        break;
      case 'fetch':
        this.up.push({ kind: 'fetch', from: effect.from, to: effect.to });
        break;
      case 'acked': {
        const previous = this.acked.get(effect.seq);
        if (previous !== undefined) throw new Error(`client ${this.id}: seq ${effect.seq} acknowledged twice`);
        this.acked.set(effect.seq, effect.version);
        break;
      }
      case 'retryLater':
        this.retryDue = true;
        break;
      case 'rolledBack':
        this.rollbacks++;
        break;
      case 'needResync':
        this.resyncDue = true;
        break;
      case 'stalled':
        this.stalled = true;
        break;
      case 'merged':
        this.merges++;
        break;
    }
  }

  /** The user types: a random edit of the current document. */
  edit(rng: Random): void {
    const text = this.document;
    const at = codePointBoundary(text, rng.int(text.length + 1));
    let del = 0;
    if (rng.chance(0.35) && at < text.length) {
      const end = codePointBoundary(text, Math.min(text.length, at + rng.range(1, 4)));
      del = Math.max(0, end - at);
    }
    const insert = rng.chance(0.8) ? randomText(rng, 3) : '';
    const op: TextOp = replaceOp(text.length, at, del, insert);
    this.document = apply(op, this.document);
    this.handle({ type: 'local', op });
  }
}

/** One simulated session: a server and clients joined by FIFO channels. */
export class SimNetwork {
  readonly server: SimServer;
  readonly clients: SimClient[] = [];

  constructor(
    readonly rng: Random,
    readonly options: SimOptions,
    clientCount: number,
    initialText: string,
  ) {
    this.server = new SimServer(initialText);
    for (let i = 0; i < clientCount; i++) {
      this.clients.push(new SimClient(`client-${i}-${rng.int(1e9)}`, 0, initialText));
    }
  }

  /** Delivers the next message from `client` to the server (and the server's replies). */
  deliverUp(client: SimClient): void {
    const msg = client.up.shift();
    if (!msg) return;
    this.serve(client, msg);
    if (this.rng.chance(this.options.duplication)) this.serve(client, msg);
  }

  private serve(client: SimClient, msg: UpMessage): void {
    const server = this.server;
    const reply = (m: DownMessage): void => {
      if (client.connected) client.down.push(m);
    };
    switch (msg.kind) {
      case 'submit': {
        const failed = this.rng.chance(this.options.transientFailure);
        const { reply: r, broadcast } = server.submit(msg.submission, failed);
        if (broadcast) {
          for (const other of this.clients) {
            if (other === client || !other.connected || other.awaitingOpen) continue;
            if (this.rng.chance(this.options.broadcastLoss)) continue;
            other.down.push({ kind: 'op', op: broadcast });
          }
        }
        reply(r);
        break;
      }
      case 'fetch': {
        const ops = server.range(msg.from, Math.min(msg.to, server.head));
        // A server may answer with only part of the range (a reply size cap); the client asks again.
        const partial = ops && this.rng.chance(0.2) ? ops.slice(0, this.rng.int(ops.length + 1)) : ops;
        reply(partial ? { kind: 'ops', ops: partial } : { kind: 'compacted' });
        break;
      }
      case 'open': {
        // Subscribing and reading happen atomically here; the backend subscribes first, then reads.
        client.awaitingOpen = false;
        const ops = server.range(msg.knownVersion + 1, server.head);
        reply(ops ? { kind: 'opened', ops } : { kind: 'compacted' });
        break;
      }
      case 'snapshot':
        reply({
          kind: 'snapshot',
          version: server.head,
          text: server.text,
          lastCommitted: server.progress.get(client.id) ?? null,
        });
        break;
      case 'head':
        reply({ kind: 'head', version: server.head });
        break;
    }
  }

  /** Delivers the next message from the server to `client`. */
  deliverDown(client: SimClient): void {
    const msg = client.down.shift();
    if (!msg) return;
    this.receive(client, msg);
    if (this.rng.chance(this.options.duplication)) this.receive(client, msg);
  }

  private receive(client: SimClient, msg: DownMessage): void {
    switch (msg.kind) {
      case 'op':
        client.handle({ type: 'remote', op: msg.op });
        break;
      case 'ack':
        client.handle({ type: 'ack', seq: msg.seq, version: msg.version });
        break;
      case 'reject':
        client.handle({ type: 'reject', seq: msg.seq, error: msg.error });
        break;
      case 'ops':
        client.handle({ type: 'fetched', ops: msg.ops });
        break;
      case 'opened':
        if (!client.state.online) client.handle({ type: 'reconnect', ops: msg.ops });
        else for (const op of msg.ops) client.handle({ type: 'remote', op });
        break;
      case 'compacted':
        client.resyncDue = true;
        break;
      case 'snapshot':
        client.resyncDue = false;
        client.handle({ type: 'resync', version: msg.version, text: msg.text, lastCommitted: msg.lastCommitted });
        // A reconnect whose catch-up was compacted away comes online only now, from the snapshot.
        if (!client.state.online) client.handle({ type: 'reconnect', ops: [] });
        break;
      case 'head':
        client.handle({ type: 'head', version: msg.version });
        break;
    }
  }

  /**
   * Drops the connection. Messages already on the wire to the server may or may not arrive (a
   * random prefix does); replies and broadcasts in flight to the client are lost.
   */
  disconnect(client: SimClient): void {
    if (!client.connected) return;
    const arrived = this.rng.int(client.up.length + 1);
    const wire = client.up.slice(0, arrived);
    client.up = [];
    client.connected = false;
    for (const msg of wire) this.serve(client, msg);
    client.down = [];
    client.handle({ type: 'disconnect' });
  }

  /** Re-establishes the connection and re-opens the file at the client's known version. */
  reconnect(client: SimClient): void {
    if (client.connected) return;
    client.connected = true;
    client.awaitingOpen = true;
    client.up.push({ kind: 'open', knownVersion: client.state.version });
  }

  /** Carries out a due retry or resync request (what the transport does after its back-off). */
  service(client: SimClient): void {
    if (client.stalled) {
      client.stalled = false;
      this.disconnect(client);
      this.reconnect(client);
      return;
    }
    if (!client.connected) return;
    if (client.resyncDue) {
      client.resyncDue = false;
      client.up.push({ kind: 'snapshot' });
    } else if (client.retryDue) {
      client.retryDue = false;
      client.handle({ type: 'retry' });
    }
  }

  /** True when no message is in flight and no client owes the server anything. */
  quiet(): boolean {
    return this.clients.every(
      (c) =>
        c.connected &&
        !c.awaitingOpen &&
        c.up.length === 0 &&
        c.down.length === 0 &&
        !c.retryDue &&
        !c.resyncDue &&
        !c.stalled,
    );
  }

  /**
   * Stops editing and failures, reconnects everyone and delivers until nothing moves, polling
   * heads so that lost broadcasts are noticed. Throws when it does not settle.
   */
  drain(maxRounds = 10_000): void {
    for (const c of this.clients) this.reconnect(c);
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const c of this.clients) {
        if (c.up.length) {
          this.deliverUp(c);
          moved = true;
        }
        if (c.down.length) {
          this.deliverDown(c);
          moved = true;
        }
        if (c.retryDue || c.resyncDue || c.stalled) {
          this.service(c);
          moved = true;
        }
      }
      if (moved) continue;
      // Nothing in flight: ask each client whether it is behind (a heartbeat).
      const behind = this.clients.filter((c) => c.state.version < this.server.head || c.state.inflight || c.state.buffer);
      if (behind.length === 0) return;
      for (const c of behind) c.up.push({ kind: 'head' });
    }
    throw new Error('the simulated network did not settle');
  }
}

/** Seeds for the server's initial text: empty, short, or with emoji and CRLF-converted lines. */
export function initialTexts(): readonly string[] {
  return ['', 'hello\nworld\n', 'fn main() {\n    println!("héllo 😀");\n}\n', '漢字かな👍🏽\ne\u0301\n'];
}

export { localText };
