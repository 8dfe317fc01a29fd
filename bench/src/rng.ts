/**
 * Seeded pseudo-random numbers, so that a run's choices (positions, characters, start phases) can be
 * replayed with `SEED=<n>` or `--seed <n>`: the generator the protocol's simulations use (mulberry32,
 * `Random` of its test support), under the name the bench has always used.
 */
export { Random as Rng } from '@collab/protocol/dist/test-support/random';

/** The seed: `explicit` if given, else `SEED` from the environment, else a fresh random one. */
export function chooseSeed(explicit?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return explicit >>> 0;
  const raw = env['SEED'];
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new Error(`SEED must be an integer, got ${JSON.stringify(raw)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
