/**
 * Randomised sessions over a simulated network: the real sequencing core and the real client state
 * machine, with reordering across clients, lost broadcasts, duplicated deliveries, disconnects with
 * half-delivered messages, transient server failures, viewers whose edits are refused, and history
 * compaction. After draining, every client must hold exactly the server's text.
 *
 * SEED=<n> replays a run; SIM_SESSIONS and SIM_STEPS scale it (defaults 2000 sessions of up to 120
 * steps each).
 */
import { strict as assert } from 'node:assert';
import { isSynchronized } from './sync-client';
import { intFromEnv, Random, seedFromEnv } from './test-support/random';
import { initialTexts, SimNetwork, type SimOptions } from './test-support/sim-network';

const BASE_SEED = seedFromEnv();
const SESSIONS = intFromEnv('SIM_SESSIONS', 2000);
const MAX_STEPS = intFromEnv('SIM_STEPS', 120);

/** The seed of session `i`; session 0 uses the base seed itself, so SEED=x SIM_SESSIONS=1 replays it. */
function sessionSeed(i: number): number {
  if (i === 0) return BASE_SEED;
  let h = (BASE_SEED ^ Math.imul(i, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

interface SessionStats {
  commits: number;
  duplicates: number;
  rollbacks: number;
  merges: number;
}

/** Runs one random session and checks convergence; returns what happened for the summary. */
function runSession(seed: number, compaction: boolean): SessionStats {
  const rng = new Random(seed);
  const options: SimOptions = {
    transientFailure: rng.pick([0, 0.05, 0.2]),
    broadcastLoss: rng.pick([0, 0.05, 0.3]),
    duplication: rng.pick([0, 0.05, 0.2]),
  };
  const net = new SimNetwork(rng, options, rng.range(2, 8), rng.pick(initialTexts()));
  if (rng.chance(0.25)) net.server.viewers.add(rng.pick(net.clients).id);
  const steps = rng.range(10, MAX_STEPS);
  for (let i = 0; i < steps; i++) {
    const c = rng.pick(net.clients);
    const roll = rng.next();
    if (roll < 0.3) c.edit(rng);
    else if (roll < 0.55) net.deliverUp(c);
    else if (roll < 0.8) net.deliverDown(c);
    else if (roll < 0.85) net.disconnect(c);
    else if (roll < 0.92) net.reconnect(c);
    else if (roll < 0.97) net.service(c);
    else if (compaction) net.server.compact(net.server.head - rng.int(4));
  }
  net.drain();

  const server = net.server;
  for (const c of net.clients) {
    assert.equal(c.document, server.text, `client ${c.id} differs from the server`);
    assert.equal(c.state.serverText, server.text);
    assert.equal(c.state.version, server.head);
    assert.ok(isSynchronized(c.state), `client ${c.id} still has unsent edits`);
    // Every ack the client saw names the version its op really has in the log.
    for (const [seq, version] of c.acked) {
      const entry = server.log.find((op) => op.version === version);
      if (entry) assert.deepEqual([entry.clientId, entry.seq], [c.id, seq], `ack of ${c.id}#${seq} names version ${version}`);
    }
  }
  // The log is gapless and never holds one (clientId, seq) twice.
  const ids = new Set<string>();
  server.log.forEach((op, i) => {
    assert.equal(op.version, server.firstVersion + i, 'log versions are gapless');
    const id = `${op.clientId}#${op.seq}`;
    assert.ok(!ids.has(id), `${id} committed twice`);
    ids.add(id);
  });
  if (server.firstVersion === 1) assert.equal(server.replay(), server.text, 'replaying the log gives the head text');
  for (const viewer of server.viewers) assert.ok(!server.log.some((op) => op.clientId === viewer), 'a viewer op was committed');
  const rollbacks = net.clients.reduce((n, c) => n + c.rollbacks, 0);
  const merges = net.clients.reduce((n, c) => n + c.merges, 0);
  return { commits: server.commits, duplicates: server.duplicates, rollbacks, merges };
}

describe('sync over a simulated network', function () {
  this.timeout(10 * 60_000);

  for (const compaction of [false, true]) {
    const label = compaction ? 'with history compaction' : 'with full history';
    it(`converges in ${SESSIONS} random sessions ${label} (seed ${BASE_SEED})`, () => {
      const total: SessionStats = { commits: 0, duplicates: 0, rollbacks: 0, merges: 0 };
      for (let i = 0; i < SESSIONS; i++) {
        const seed = sessionSeed(i);
        let stats: SessionStats;
        try {
          stats = runSession(seed, compaction);
        } catch (err) {
          const replay = `SEED=${seed} SIM_SESSIONS=1`;
          throw new Error(`session ${i} ${label} failed; replay it alone with ${replay}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        total.commits += stats.commits;
        total.duplicates += stats.duplicates;
        total.rollbacks += stats.rollbacks;
        total.merges += stats.merges;
      }
      // The run must actually have exercised the interesting paths.
      assert.ok(total.commits > SESSIONS, 'sessions commit ops');
      if (SESSIONS >= 200) {
        assert.ok(total.duplicates > 0, 'some resubmissions were de-duplicated');
        assert.ok(total.rollbacks > 0, 'some refused edits were rolled back');
        if (compaction) assert.ok(total.merges > 0, 'some clients rebased over a compacted history');
      }
      console.log(`      ${label}: ${JSON.stringify(total)}`);
    });
  }
});
