/**
 * Seeded pseudo-random numbers, so that a run's choices (positions, characters, start phases) can be
 * replayed with `SEED=<n>` or `--seed <n>`: the generator the protocol's simulations use (mulberry32,
 * `Random` of its test support), under the name the bench has always used.
 */
import { seedFromEnv } from '@collab/protocol/dist/test-support/random';

export { Random as Rng } from '@collab/protocol/dist/test-support/random';

/** The seed: `explicit` if given, else `SEED` from the environment, else a fresh random one. */
export function chooseSeed(explicit?: number): number {
  return explicit !== undefined ? explicit >>> 0 : seedFromEnv();
}
