/**
 * What the multi-node and fault tests check after a storm: every client reaches the database's
 * head with the database's text, and every acknowledgement names exactly the logged row. Plus the
 * seeded random edit they all type, and the hook that starts (or skips) a multi-node suite.
 */
import { strict as assert } from 'node:assert';
import type { Knex } from 'knex';
import type { Random } from '@collab/protocol/dist/test-support/random';
import type { FileDoc } from '@collab/client';
import { multiNodeServices } from './cluster';
import type { TestDatabase } from './databases';
import { storedText } from './remote-api';
import { opRows } from './sockets';

/** What a multi-node suite needs: a fresh PostgreSQL database and a Redis URL. */
export interface Services {
  pg: TestDatabase;
  redisUrl: string;
}

/**
 * Starts the services in the suite's `before` (and drops the database in its `after`), or skips the
 * suite with the reason; under CI=true a missing service fails it.
 */
export function withServices(suite: Mocha.Suite): () => Services {
  let services: Services | undefined;
  suite.beforeAll(async function () {
    this.timeout(60_000);
    const s = await multiNodeServices();
    if (typeof s === 'string') {
      console.log(`      skipped: ${s}`);
      this.skip();
    }
    services = s as Services;
  });
  suite.afterAll(async function () {
    this.timeout(60_000);
    await services?.pg.dispose();
  });
  return () => {
    if (!services) throw new Error('services not started');
    return services;
  };
}

/** Waits until every doc is synchronised at the database's head and the head is stable. */
export async function quiesce(knex: Knex, docs: readonly FileDoc[], fileId: string, timeoutMs = 20_000): Promise<{ version: number; text: string }> {
  for (;;) {
    const before = await storedText(knex, fileId);
    for (const d of docs) await d.synced(timeoutMs, before.version);
    const after = await storedText(knex, fileId);
    if (after.version === before.version) return after;
  }
}

/** Asserts every doc equals the database at its head; returns the head. */
export async function assertConverged(knex: Knex, docs: readonly FileDoc[], fileId: string, what: string): Promise<{ version: number; text: string }> {
  const stored = await quiesce(knex, docs, fileId);
  for (const [i, d] of docs.entries()) {
    assert.equal(d.text, stored.text, `${what}: client ${i} text`);
    assert.equal(d.expectedText(), d.text, `${what}: client ${i} state machine and text disagree`);
    assert.equal(d.state.version, stored.version, `${what}: client ${i} version`);
  }
  return stored;
}

/**
 * Asserts that every ack a doc received names the row holding its (clientId, seq), and that no seq
 * was acknowledged with two versions. Returns the number of acks.
 */
export async function assertAcksMatchLog(knex: Knex, fileId: string, docs: readonly FileDoc[], what: string): Promise<number> {
  const rows = await opRows(knex, fileId);
  const byId = new Map(rows.map((r) => [`${r.client_id}#${r.seq}`, r.version]));
  let acks = 0;
  for (const d of docs) {
    const seen = new Map<number, number>();
    for (const e of d.effects) {
      if (e.type !== 'acked') continue;
      acks++;
      assert.equal(seen.get(e.seq) ?? e.version, e.version, `${what}: seq ${e.seq} acked as two versions`);
      seen.set(e.seq, e.version);
      assert.equal(byId.get(`${d.clientId}#${e.seq}`), e.version, `${what}: ack of ${d.clientId}#${e.seq} does not match the log`);
    }
  }
  return acks;
}

/** The (clientId#seq → version) of every ack the docs have received so far. */
export function ackedSoFar(docs: readonly FileDoc[]): Map<string, number> {
  const acked = new Map<string, number>();
  for (const d of docs) for (const e of d.effects) if (e.type === 'acked') acked.set(`${d.clientId}#${e.seq}`, e.version);
  return acked;
}

/** Asserts every op in `acked` is in the file's log at the version it was acknowledged as. */
export async function assertAllInLog(knex: Knex, fileId: string, acked: ReadonlyMap<string, number>, docsOfFile: readonly FileDoc[], what: string): Promise<void> {
  const rows = await opRows(knex, fileId);
  const byId = new Map(rows.map((r) => [`${r.client_id}#${r.seq}`, r.version]));
  const mine = new Set(docsOfFile.map((d) => d.clientId));
  for (const [id, version] of acked) {
    if (!mine.has(id.split('#')[0]!)) continue;
    assert.equal(byId.get(id), version, `${what}: acknowledged ${id} (v${version}) is not in the log`);
  }
}

/** Types one random edit into `doc` (letters identify the client). */
export function randomEdit(rnd: Random, doc: FileDoc, letter: string): void {
  const len = doc.text.length;
  if (len > 6 && rnd.chance(0.3)) {
    const at = rnd.int(len - 1);
    doc.type(at, '', Math.min(rnd.range(1, 4), len - at));
  } else {
    doc.type(rnd.int(len + 1), letter.repeat(rnd.range(1, 3)));
  }
}
