/** The literals the group commit inlines: the same text as node-postgres writes, and PostgreSQL reads them back exactly. */
import { strict as assert } from 'node:assert';
import pg from 'pg';
import { Random, seedFromEnv } from '@collab/protocol/dist/test-support/random';
import { openDatabase } from './database';
import { sqlLiteral, textArray } from './pg-group-commit';

/** Strings made of the characters that matter to SQL and array syntax, and some that do not. */
function randomTexts(rnd: Random, count: number): string[] {
  const alphabet = ["'", '\\', '"', '{', '}', ',', ' ', 'a', 'Z', '0', '$', 'E', '\n', '\u00e9', '\u{1F600}', 'NULL'];
  return Array.from({ length: count }, () => Array.from({ length: rnd.int(12) }, () => rnd.pick(alphabet)).join(''));
}

describe('storage: group-commit literals', function () {
  this.timeout(60_000);

  it('sqlLiteral writes exactly what pg.escapeLiteral writes', () => {
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    const rnd = new Random(seed);
    for (const text of ['', "'", '\\', "it's", 'a\\b', "\\'", ...randomTexts(rnd, 5000)]) {
      assert.equal(sqlLiteral(text), pg.escapeLiteral(text), JSON.stringify(text));
    }
  });

  it('PostgreSQL reads a textArray literal back as the same strings', async () => {
    const seed = seedFromEnv();
    console.log(`      seed=${seed} (replay with SEED=${seed})`);
    const rnd = new Random(seed);
    const db = await openDatabase({ kind: 'memory' });
    try {
      for (let round = 0; round < 50; round++) {
        const items = randomTexts(rnd, rnd.range(1, 6));
        const result = (await db.knex.raw(`SELECT ${textArray(items)}::text[] AS a`)) as { rows: { a: string[] }[] };
        assert.deepEqual(result.rows[0]?.a, items, JSON.stringify(items));
      }
    } finally {
      await db.close();
    }
  });
});
