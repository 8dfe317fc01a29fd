/**
 * Prometheus metrics of one server instance (its own registry, so tests can run several servers
 * in one process). Served at `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's metrics. */
export class Metrics {
  readonly registry = new Registry();
  /** Connected, authenticated sockets. */
  readonly sockets = new Gauge({ name: 'collab_sockets', help: 'Connected authenticated sockets', registers: [this.registry] });
  /** Rooms with at least one joined socket on this node. */
  readonly rooms = new Gauge({ name: 'collab_active_rooms', help: 'Rooms with at least one joined socket on this node', registers: [this.registry] });
  /** Files with a live session (cache) on this node. */
  readonly openFiles = new Gauge({ name: 'collab_open_files', help: 'Files with a live session on this node', registers: [this.registry] });
  /** Operations committed to the database. */
  readonly opsCommitted = new Counter({ name: 'collab_ops_committed_total', help: 'Operations committed', registers: [this.registry] });
  /** Resubmissions acknowledged as duplicates. */
  readonly opsDuplicate = new Counter({ name: 'collab_ops_duplicate_total', help: 'Resubmissions acknowledged as duplicates', registers: [this.registry] });
  /** Operations refused, by error code. */
  readonly opsRejected = new Counter({
    name: 'collab_ops_rejected_total',
    help: 'Operations refused, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  /** Commit attempts that found other nodes' ops past their head (read under the lock, or a lost race on the version key). */
  readonly commitConflicts = new Counter({ name: 'collab_commit_conflicts_total', help: "Commit attempts that found other nodes' ops past their head (caught up under the lock, or retried after losing a race)", registers: [this.registry] });
  /** Batches decided on predicted reads (one-round-trip commits) that the database's check refused, and retried. */
  readonly commitMispredictions = new Counter({
    name: 'collab_commit_mispredictions_total',
    help: 'One-round-trip commit attempts whose predicted reads were wrong, retried',
    registers: [this.registry],
  });
  /** Time in the database commit path per submission. */
  readonly commitSeconds = new Histogram({
    name: 'collab_commit_seconds',
    help: 'Time to sequence and durably commit one submission',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Submissions of one file committed together (group commit per file): one sample per file batch. */
  readonly commitBatchSize = new Histogram({
    name: 'collab_commit_batch_size',
    help: 'Submissions of one file committed together in one batch',
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers: [this.registry],
  });
  /** Group transactions by their round trips to the database: 1 when the group's reads were predicted, 2 when read under its locks. */
  readonly commitGroupRoundTrips = new Counter({
    name: 'collab_commit_groups_total',
    help: 'Group-commit transactions, by round trips (1: predicted reads, 2: read under the locks)',
    labelNames: ['round_trips'] as const,
    registers: [this.registry],
  });
  /** Files whose batches were committed in one group transaction: one sample per transaction attempt. */
  readonly commitGroupFiles = new Histogram({
    name: 'collab_commit_group_files',
    help: 'Files committed together in one group transaction',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });
  /** Submissions (over all files) committed in one group transaction: one sample per transaction attempt. */
  readonly commitGroupSubmissions = new Histogram({
    name: 'collab_commit_group_submissions',
    help: 'Submissions committed together in one group transaction, over all files',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [this.registry],
  });
  /** From receiving a submission to sending its ack and broadcast (the server's share of end-to-end latency). */
  readonly opSeconds = new Histogram({
    name: 'collab_op_latency_seconds',
    help: 'From receiving a submission to acknowledging and broadcasting it',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  /** Inbound messages refused before reaching the domain (validation, rate limits), by code. */
  readonly messagesRejected = new Counter({
    name: 'collab_messages_rejected_total',
    help: 'Inbound messages refused by validation or rate limits, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  /** Cross-node publishes (Redis) that failed; the message was dropped (clients repair by version). */
  readonly commitsForwarded = new Counter({
    name: 'collab_commits_forwarded_total',
    help: "Submissions forwarded to their file's sequencing node, by how the forward ended (answered, redirected, timed_out)",
    labelNames: ['end'],
    registers: [this.registry],
  });
  readonly fanoutPublishErrors = new Counter({ name: 'collab_fanout_publish_errors_total', help: 'Redis publishes that failed and were dropped', registers: [this.registry] });
  /** Background failures (snapshots, compaction, event relays). */
  readonly backgroundErrors = new Counter({ name: 'collab_background_errors_total', help: 'Failures of background tasks', registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type for `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
