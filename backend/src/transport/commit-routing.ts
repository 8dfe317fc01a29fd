/**
 * One sequencer per file across nodes. When several nodes commit to the same file, every commit
 * finds the others' ops under the file's row lock: it cannot be decided on predicted reads (two
 * round trips instead of one), and each node's group holds the lock across its event loop while
 * the other node's group waits for it (docs/benchmarks.md, "Two nodes"). So each file gets one
 * sequencing node, the holder of a lease in Redis, and the other nodes forward their clients'
 * submissions to it over the per-turn cross-node message (`FileBroadcasts.toNode`); the answer
 * comes back the same way, after the broadcast of its op, so the submitter still sees its op
 * before its ack (PROTOCOL.md §7.2).
 *
 * The lease is a performance hint, never a correctness condition: any node may still commit any
 * file, and PostgreSQL decides (the row lock, the version's primary key, `(clientId, seq)`
 * de-duplication). So every failure falls back to committing here:
 * - Redis unreachable (no lease can be read): commit here;
 * - the holder does not answer within `forwardTimeoutMs` (crashed, partitioned, or very slow):
 *   commit here, and keep committing this file here until its lease would have run out. Should
 *   the holder have committed the op after all, the local commit finds `(clientId, seq)` in the
 *   log and answers it as a duplicate with the original version: the op is never applied twice;
 * - the holder no longer has the file open (its last reader left) or is shutting down: it gives
 *   the lease up and answers `redirect`; the submitter's node claims the lease and commits.
 * A lease is taken by the first node to commit a file, so a room whose readers all connect to one
 * node (sticky balancing) is sequenced there and never forwards.
 *
 * Forwards, answers and release notices are signed (HMAC-SHA256 under a key every node derives
 * from the shared JWT secret): a forward commits an op as the user it names, so a party that can
 * publish on Redis but does not have the secret must not be able to forge one (docs/threat-model.md).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, type Submission } from '@collab/protocol';
import type { SubmitOutcome } from '../domain/file-sessions';
import type { FileLease } from './redis-fanout';

/** The commit path on this node. */
export interface LocalCommits {
  /**
   * Sequences and commits a submission here and sends the op to the file's readers on every node
   * (but the connection `except`, its submitter); resolves with the outcome after that.
   */
  commit(fileId: string, userId: string, sub: Submission, except: string): Promise<SubmitOutcome>;
  /** True while some connection of this node has the file open. */
  holds(fileId: string): boolean;
}

/** The leases on sequencing files, kept in Redis (`RedisFanout`). */
export interface SequencerLeases {
  readonly nodeId: string;
  /** False while Redis is unreachable: nothing forwarded now would arrive. */
  ready(): boolean;
  claimFile(fileId: string, ttlMs: number): Promise<FileLease>;
  releaseFile(fileId: string): Promise<void>;
}

/** Messages to one node, in order with this node's broadcasts (`FileBroadcasts`). */
export interface NodeLink {
  toNode(nodeId: string, event: string, payload: unknown): void;
  onNodeMessage(listener: (event: string, payload: unknown) => void): void;
}

/** Timing of leases and forwards. */
export interface CommitRoutingOptions {
  /** How long a lease runs; its holder renews it at half time while it commits. @default 10_000 */
  readonly leaseMs: number;
  /** How long a forwarded submission waits for the holder before it is committed here. @default 2_000 */
  readonly forwardTimeoutMs: number;
}

/** The key that signs forwards and answers between nodes, derived from the secret all nodes share. */
export function nodeLinkKey(sharedSecret: string): Buffer {
  return createHmac('sha256', sharedSecret).update('collab node link v1').digest();
}

/** Defaults for `CommitRoutingOptions`. */
export const DEFAULT_COMMIT_ROUTING_OPTIONS: CommitRoutingOptions = { leaseMs: 10_000, forwardTimeoutMs: 2_000 };

/** How a forwarded submission ended, from the forwarding node's side (metrics). */
export type ForwardEnd = 'answered' | 'redirected' | 'timed_out';

/** Observers of the routing (metrics). */
export interface CommitRoutingHooks {
  onForward?(end: ForwardEnd): void;
}

/** Test-only faults of the sequencing side. */
export interface CommitRoutingFaults {
  /** Forwarded submissions are ignored, as by a node that crashed or is cut off from Redis. */
  readonly ignoreForwards?: boolean;
  /** Forwarded submissions are committed, but their answers are lost. */
  readonly dropForwardAnswers?: boolean;
}

/** The event names on the node link. */
const FORWARD = 'submit:forward';
const ANSWER = 'submit:answer';
const RELEASED = 'sequencer:released';

/** A forwarded submission. */
interface ForwardMessage {
  readonly id: number;
  readonly from: string;
  readonly fileId: string;
  readonly userId: string;
  readonly sub: Submission;
  readonly except: string;
  readonly mac: string;
}

/** The answer to a forwarded submission: its outcome, or `redirect` (commit it yourself). */
interface AnswerMessage {
  readonly id: number;
  readonly outcome: SubmitOutcome | { readonly kind: 'redirect' };
  readonly mac: string;
}

/** Who sequences a file, as this node last learned it. */
interface Sequencer {
  readonly node: string;
  /** Trusted until then (ms since the epoch). */
  readonly until: number;
  /** This node holds the lease (renewed from then on), rather than merely committing here. */
  readonly leased: boolean;
  readonly renewAt: number;
}

/** A forwarded submission waiting for its answer. */
interface Waiting {
  readonly resolve: (outcome: SubmitOutcome | Promise<SubmitOutcome>) => void;
  readonly timer: NodeJS.Timeout;
  readonly fileId: string;
  readonly userId: string;
  readonly sub: Submission;
  readonly except: string;
  readonly redirects: number;
}

/** A peer that forwarded nothing for this many leases is forgotten (its cached view has expired). */
const PEER_MEMORY_LEASES = 3;

/** Most redirects a submission follows before it is simply committed here. */
const MAX_REDIRECTS = 2;

/** Routes each submission to its file's sequencing node (this one, or another over the node link). */
export class CommitRouter {
  private readonly options: CommitRoutingOptions;
  private readonly sequencers = new Map<string, Sequencer>();
  private readonly claims = new Map<string, Promise<string>>();
  private readonly waiting = new Map<number, Waiting>();
  /** Nodes that forwarded submissions here, and when last: told when this node stops sequencing. */
  private readonly peers = new Map<string, number>();
  private nextId = 1;
  private closing = false;
  private readonly sweeper: NodeJS.Timeout | undefined;
  /** This node's id ('' without leases, where nothing is ever forwarded). */
  private readonly self: string;

  constructor(
    private readonly local: LocalCommits,
    private readonly leases: SequencerLeases | undefined,
    private readonly link: NodeLink,
    /** Signs forwards and answers (`nodeLinkKey`); required with `leases`. */
    private readonly linkKey: Buffer | undefined,
    options: Partial<CommitRoutingOptions> = {},
    private readonly hooks: CommitRoutingHooks = {},
    private readonly faults: CommitRoutingFaults = {},
  ) {
    this.options = { ...DEFAULT_COMMIT_ROUTING_OPTIONS, ...options };
    this.self = leases?.nodeId ?? '';
    if (!leases) return;
    if (!linkKey) throw new Error('commit routing needs a node link key');
    link.onNodeMessage((event, payload) => {
      if (event === FORWARD) void this.serve(payload as ForwardMessage);
      else if (event === ANSWER) this.answered(payload as AnswerMessage);
      else if (event === RELEASED) this.released(payload as { node?: unknown; mac?: unknown } | undefined);
    });
    // Forget what expired, so that the map does not grow with every file ever committed.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [fileId, s] of this.sequencers) if (now >= s.until) this.sequencers.delete(fileId);
      // A node that forwarded nothing for a while no longer counts on this one (or is gone).
      for (const [peer, seen] of this.peers) if (now - seen > PEER_MEMORY_LEASES * this.options.leaseMs) this.peers.delete(peer);
    }, this.options.leaseMs);
    this.sweeper.unref();
  }

  /** Commits a submission on its file's sequencing node; resolves once its op went out to the readers. */
  submit(fileId: string, userId: string, sub: Submission, except: string): Promise<SubmitOutcome> {
    if (!this.leases) return this.local.commit(fileId, userId, sub, except);
    return this.route({ fileId, userId, sub, except, redirects: 0 });
  }

  /**
   * Stops sequencing for other nodes (later forwards are redirected), gives up this node's leases
   * and tells the nodes that forwarded here, so that they claim the files at once instead of
   * waiting for a forward to time out (a rolling restart costs no stall).
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.sweeper);
    const leases = this.leases;
    if (!leases) return; // a node alone holds no leases and has no peers
    const mine = [...this.sequencers].filter(([, s]) => s.leased).map(([fileId]) => fileId);
    this.sequencers.clear();
    await Promise.all(mine.map((fileId) => leases.releaseFile(fileId).catch(() => undefined)));
    // After the releases (same Redis connection, so they are done when the notice arrives).
    for (const peer of this.peers.keys()) this.link.toNode(peer, RELEASED, { node: this.self, mac: this.mac(releasedFields(peer, this.self)) });
  }

  /**
   * Commits here when this node sequences the file, when Redis is down (a forward would only wait
   * for its timeout) or after `MAX_REDIRECTS` redirects; otherwise forwards to the sequencing node.
   */
  private async route(w: Omit<Waiting, 'resolve' | 'timer'>): Promise<SubmitOutcome> {
    const leases = this.leases as SequencerLeases;
    const node = w.redirects <= MAX_REDIRECTS ? await this.sequencerOf(w.fileId) : this.self;
    if (node === this.self || !leases.ready()) return this.local.commit(w.fileId, w.userId, w.sub, w.except);
    return this.forward(node, w);
  }

  /** Remembers that this node commits `fileId` itself, without a lease, for `ms`. */
  private sequenceHere(fileId: string, ms: number): void {
    this.sequencers.set(fileId, { node: this.self, until: Date.now() + ms, leased: false, renewAt: Infinity });
  }

  private mac(fields: string): string {
    return createHmac('sha256', this.linkKey as Buffer).update(fields).digest('base64url');
  }

  private verify(fields: string, mac: unknown): boolean {
    if (typeof mac !== 'string') return false;
    const expected = Buffer.from(this.mac(fields));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** A node stopped sequencing (signed notice): forget every file this node learned it sequences. */
  private released(message: { node?: unknown; mac?: unknown } | undefined): void {
    const node = message?.node;
    if (typeof node !== 'string' || !this.verify(releasedFields(this.self, node), message?.mac)) return;
    for (const [fileId, s] of this.sequencers) if (s.node === node) this.sequencers.delete(fileId);
  }

  /** The node that sequences `fileId`: from what this node learned, or by claiming its lease. */
  private sequencerOf(fileId: string): string | Promise<string> {
    const now = Date.now();
    const known = this.sequencers.get(fileId);
    if (known && now < known.until) {
      if (known.leased && now >= known.renewAt) void this.claim(fileId);
      return known.node;
    }
    return this.claim(fileId);
  }

  /** Claims (or renews) the lease, or learns its holder; one claim per file at a time. */
  private claim(fileId: string): Promise<string> {
    const running = this.claims.get(fileId);
    if (running) return running;
    const { leaseMs } = this.options;
    const claim = (this.leases as SequencerLeases)
      .claimFile(fileId, leaseMs)
      .then(
        (lease) => {
          const now = Date.now();
          const mine = lease.owner === this.self;
          // Our own lease is trusted a little less than it runs (clocks, the round trip); another
          // node's is asked again within half a lease, so a released one is noticed soon.
          const until = now + (mine ? leaseMs * 0.8 : Math.min(lease.remainingMs, leaseMs / 2));
          this.sequencers.set(fileId, { node: lease.owner, until, leased: mine, renewAt: now + leaseMs / 2 });
          return lease.owner;
        },
        () => {
          // Redis unreachable: nobody can be asked, so commit here (PostgreSQL still decides), and
          // ask again in a second.
          this.sequenceHere(fileId, 1000);
          return this.self;
        },
      )
      .finally(() => this.claims.delete(fileId));
    this.claims.set(fileId, claim);
    return claim;
  }

  /** Sends a submission to the node that sequences its file and waits for the answer. */
  private forward(node: string, w: Omit<Waiting, 'resolve' | 'timer'>): Promise<SubmitOutcome> {
    return new Promise<SubmitOutcome>((resolve) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        if (!this.waiting.delete(id)) return;
        this.hooks.onForward?.('timed_out');
        // The holder is gone or stuck: sequence this file here until its lease would have run out.
        this.sequenceHere(w.fileId, this.options.leaseMs);
        resolve(this.local.commit(w.fileId, w.userId, w.sub, w.except));
      }, this.options.forwardTimeoutMs);
      this.waiting.set(id, { ...w, resolve, timer });
      const unsigned = { id, from: this.self, fileId: w.fileId, userId: w.userId, sub: w.sub, except: w.except };
      const message: ForwardMessage = { ...unsigned, mac: this.mac(forwardFields(node, unsigned)) };
      this.link.toNode(node, FORWARD, message);
    });
  }

  /** An answer from a sequencing node. */
  private answered(message: AnswerMessage): void {
    const w = typeof message?.id === 'number' ? this.waiting.get(message.id) : undefined;
    if (!w || !message.outcome || typeof message.outcome.kind !== 'string') return;
    // Signed for this node and this id (node ids are random per process: no replay across restarts).
    if (!this.verify(answerFields(this.self, message.id, message.outcome), message.mac)) return;
    this.waiting.delete(message.id);
    clearTimeout(w.timer);
    if (message.outcome.kind !== 'redirect') {
      this.hooks.onForward?.('answered');
      // The sequencing node already sent the op to every reader, this node's included.
      w.resolve(message.outcome.kind === 'committed' ? { ...message.outcome, published: true } : message.outcome);
      return;
    }
    this.hooks.onForward?.('redirected');
    // The node gave the lease up: ask again (and most likely take it).
    const known = this.sequencers.get(w.fileId);
    if (known && !known.leased) this.sequencers.delete(w.fileId);
    w.resolve(this.route({ fileId: w.fileId, userId: w.userId, sub: w.sub, except: w.except, redirects: w.redirects + 1 }));
  }

  /** A submission another node forwarded here: commit it if this node (still) sequences the file. */
  private async serve(message: ForwardMessage): Promise<void> {
    if (!isForward(message) || this.faults.ignoreForwards) return;
    // Forged (no shared secret) or meant for another node: dropped; the sender, if real, times out.
    if (!this.verify(forwardFields(this.self, message), message.mac)) return;
    this.peers.set(message.from, Date.now());
    const answer = (outcome: AnswerMessage['outcome']): void => {
      const mac = this.mac(answerFields(message.from, message.id, outcome));
      if (!this.faults.dropForwardAnswers) this.link.toNode(message.from, ANSWER, { id: message.id, outcome, mac });
    };
    if (this.closing || !this.local.holds(message.fileId)) {
      // A node without readers of the file (or on its way out) gives its lease up, so that the
      // forwarding node, which has some, takes it: the release goes out before the answer.
      if (this.sequencers.get(message.fileId)?.leased) {
        this.sequencers.delete(message.fileId);
        void this.leases?.releaseFile(message.fileId).catch(() => undefined);
      }
      answer({ kind: 'redirect' });
      return;
    }
    // Renews the lease at half time, or claims it again if it ran out meanwhile. Forwards of one
    // file are served in arrival order: each awaits the same (or no) claim before committing.
    if ((await this.sequencerOf(message.fileId)) !== this.self) {
      answer({ kind: 'redirect' });
      return;
    }
    let outcome: SubmitOutcome;
    try {
      outcome = await this.local.commit(message.fileId, message.userId, message.sub, message.except);
    } catch {
      outcome = { kind: 'rejected', error: { code: ErrorCode.UNAVAILABLE, message: 'the sequencing node failed to commit; retry' } };
    }
    answer(outcome);
  }
}

/** The signed fields of a forward to `to` (fixed order). */
function forwardFields(to: string, m: Omit<ForwardMessage, 'mac'>): string {
  return JSON.stringify(['forward', to, m.id, m.from, m.fileId, m.userId, m.sub.clientId, m.sub.seq, m.sub.baseVersion, m.sub.op, m.except]);
}

/** The signed fields of `node`'s notice to `to` that it stopped sequencing. */
function releasedFields(to: string, node: string): string {
  return JSON.stringify(['released', to, node]);
}

/** The signed fields of an answer to node `to`'s forward `id`. */
function answerFields(to: string, id: number, outcome: AnswerMessage['outcome']): string {
  return JSON.stringify(['answer', to, id, outcome]);
}

/** A well-formed forwarded submission (the message crossed Redis: check before use). */
function isForward(m: ForwardMessage): boolean {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.id === 'number' &&
    typeof m.from === 'string' &&
    typeof m.fileId === 'string' &&
    typeof m.userId === 'string' &&
    typeof m.except === 'string' &&
    typeof m.mac === 'string' &&
    typeof m.sub === 'object' &&
    m.sub !== null &&
    typeof m.sub.clientId === 'string' &&
    typeof m.sub.seq === 'number' &&
    typeof m.sub.baseVersion === 'number' &&
    Array.isArray(m.sub.op)
  );
}
