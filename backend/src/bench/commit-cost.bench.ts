/**
 * What one group commit costs PostgreSQL, piece by piece. Runs the group commit's own prepared
 * statements (`GROUP_COMMIT_STATEMENTS`) serially over one connection on a scratch database built
 * by the real migrations, as the full commit and with one piece left out at a time, and reports
 * the backend's CPU (from /proc, Linux), this process's CPU and the wall time per commit. The
 * difference between the full commit and a variant is what that piece costs.
 *
 *   npm run bench:commit-cost    (COMMITS=3000 ROUNDS=3 FILES_PER_GROUP=1; VARIANTS=a,b runs only the
 *                                 variants whose names contain one of those words; the test suites'
 *                                 PostgreSQL: TEST_DATABASE_URL, else 127.0.0.1:5432 as postgres or root)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { freshPostgres } from '../test-support/databases';
import { OP_LOG_FOREIGN_KEYS } from '../storage/migrations';
import { GROUP_COMMIT_STATEMENTS, intArray, textArray, uuidArray } from '../storage/pg-group-commit';

const COMMITS = Number(process.env['COMMITS'] ?? 3000);
const ROUNDS = Number(process.env['ROUNDS'] ?? 3);
const FILES_PER_GROUP = Number(process.env['FILES_PER_GROUP'] ?? 1);
const FILES = 50;
const ONLY_VARIANTS = (process.env['VARIANTS'] ?? '').split(',').map((w) => w.trim()).filter((w) => w !== '');

/** The pieces of one group commit, in order; a variant leaves one out. */
type Piece = 'lockFiles' | 'lockProgress' | 'roles' | 'newer' | 'insertOps' | 'upsertProgress';

interface Variant {
  readonly name: string;
  readonly without?: Piece;
  /** One round trip: everything in one multi-statement query. */
  readonly oneRoundTrip?: boolean;
  /** As shipped when the group's reads are predicted: the locks, then `collab_commit_predicted` (correct predictions). */
  readonly predicted?: boolean;
  readonly asyncCommit?: boolean;
  /** Only these pieces (overrides `without`). */
  readonly only?: readonly Piece[];
  /**
   * A change to the schema for this variant's commits (run before them), and its undoing (run
   * after): what a constraint or an index of the op log costs each commit.
   */
  readonly schema?: { readonly change: string; readonly undo: string };
}

/** The op log's unique index, as Knex named it. */
const OP_LOG_UNIQUE = `file_ops_file_id_client_id_seq_unique`;

const VARIANTS: readonly Variant[] = [
  { name: 'full commit (two round trips)' },
  { name: 'full commit, one round trip', oneRoundTrip: true },
  { name: 'predicted commit (one round trip, checked)', predicted: true },
  { name: 'without the files lock', without: 'lockFiles' },
  { name: 'without the progress lock', without: 'lockProgress' },
  { name: 'without the role read', without: 'roles' },
  { name: 'without the newer read', without: 'newer' },
  { name: 'without the progress upsert', without: 'upsertProgress' },
  { name: 'without the op insert (locks and reads only)', without: 'insertOps' },
  { name: 'full commit, synchronous_commit off', asyncCommit: true },
  { name: 'the role and newer reads only (nothing written)', only: ['roles', 'newer'] },
  { name: 'BEGIN and COMMIT only', only: [] },
  {
    name: 'predicted, no (file, client, seq) unique index',
    predicted: true,
    schema: { change: `ALTER TABLE file_ops DROP CONSTRAINT ${OP_LOG_UNIQUE}`, undo: `ALTER TABLE file_ops ADD CONSTRAINT ${OP_LOG_UNIQUE} UNIQUE (file_id, client_id, seq)` },
  },
  foreignKeysAdded('predicted, with the author foreign key', ['file_ops_author_foreign']),
  foreignKeysAdded('predicted, with the file foreign keys', ['file_ops_file_id_foreign', 'client_progress_file_id_foreign']),
  foreignKeysAdded('predicted, with the 3 foreign keys (pre-002)', OP_LOG_FOREIGN_KEYS.map(([, name]) => name)),
];

/** The predicted commit with some of the foreign keys that migration 002 dropped put back for its commits. */
function foreignKeysAdded(name: string, names: readonly string[]): Variant {
  const keys = OP_LOG_FOREIGN_KEYS.filter(([, key]) => names.includes(key));
  return {
    name,
    predicted: true,
    schema: {
      change: keys.map(([table, key, definition]) => `ALTER TABLE ${table} ADD CONSTRAINT ${key} ${definition}`).join(';\n'),
      undo: keys.map(([table, key]) => `ALTER TABLE ${table} DROP CONSTRAINT ${key}`).join(';\n'),
    },
  };
}

async function main(): Promise<void> {
  // A fresh database with the real migrations, dropped at the end (the test suites' helper).
  const scratch = await freshPostgres();
  if (typeof scratch === 'string') throw new Error(scratch);
  try {
    await run(scratch.url as string);
  } finally {
    await scratch.dispose();
  }
}

async function run(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const user = randomUUID();
  const room = randomUUID();
  const files: string[] = Array.from({ length: FILES }, () => randomUUID());
  await client.query(`INSERT INTO users (id, username, username_key, password_hash) VALUES ($1, 'u', 'u', 'x')`, [user]);
  await client.query(`INSERT INTO rooms (id, room_id, owner_id) VALUES ($1, $2, $3)`, [room, randomBytes(16).toString('base64url'), user]);
  await client.query(`INSERT INTO room_participants (room_id, user_id, role) VALUES ($1, $2, 'editor')`, [room, user]);
  for (const [i, f] of files.entries()) await client.query(`INSERT INTO files (id, room_id, name, language, content) VALUES ($1, $2, $3, 'plaintext', '')`, [f, room, `f${i}.txt`]);
  await client.query(GROUP_COMMIT_STATEMENTS);
  const backendPid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  const head = new Map(files.map((f) => [f, 0]));
  const seqs = new Map<string, number>();
  /** Each (file, client)'s progress row as the database has it (what a node would predict). */
  const progress = new Map<string, { seq: number; version: number }>();
  let turn = 0;

  /** One group commit of `variant`: FILES_PER_GROUP files, one submission each, 4 clients per file. */
  const commitOnce = async (variant: Variant): Promise<void> => {
    const group = Array.from({ length: FILES_PER_GROUP }, (_, k) => files[(turn * FILES_PER_GROUP + k) % FILES] as string).sort();
    const clients = group.map((f, k) => `c${(turn + k) % 4}-${f.slice(0, 8)}`);
    turn++;
    const [uuids, texts, ints] = [uuidArray, textArray, intArray];
    const versions = group.map((f) => (head.get(f) ?? 0) + 1);
    const seqList = clients.map((c) => {
      const s = (seqs.get(c) ?? 0) + 1;
      seqs.set(c, s);
      return s;
    });
    const op = JSON.stringify([100, 'x', 900]);
    const pieces: Record<Piece, string> = {
      lockFiles: `EXECUTE collab_lock_files(${uuids(group)})`,
      lockProgress: `EXECUTE collab_lock_progress(${uuids(group)}, ${texts(clients)})`,
      roles: `EXECUTE collab_roles(${uuids([room])}, ${uuids([user])})`,
      newer: `EXECUTE collab_newer(${uuids(group)}, ${ints(group.map((f) => head.get(f) ?? 0))})`,
      insertOps: `EXECUTE collab_insert_ops(${uuids(group)}, ${ints(versions)}, ${texts(group.map(() => op))}, ${uuids(group.map(() => user))}, ${texts(clients)}, ${ints(seqList)})`,
      upsertProgress: `EXECUTE collab_upsert_progress(${uuids(group)}, ${texts(clients)}, ${ints(seqList)}, ${ints(versions)})`,
    };
    const keep = (p: Piece): boolean => (variant.only ? variant.only.includes(p) : variant.without !== p);
    const first = ['BEGIN', ...(variant.asyncCommit ? ['SET LOCAL synchronous_commit = off'] : []), 'SET LOCAL plan_cache_mode = force_generic_plan', ...(['lockFiles', 'lockProgress', 'roles', 'newer'] as const).filter(keep).map((p) => pieces[p])];
    const second = [...(['insertOps', 'upsertProgress'] as const).filter(keep).map((p) => pieces[p]), 'COMMIT'];
    if (variant.predicted) {
      const facts = group.map((f, k) => progress.get(`${f}/${clients[k]}`) ?? null);
      const predicted = `EXECUTE collab_commit_predicted(${[
        uuids(group),
        ints(group.map((f) => head.get(f) ?? 0)),
        uuids(group),
        texts(clients),
        ints(facts.map((p) => p?.seq ?? null)),
        ints(facts.map((p) => p?.version ?? null)),
        ints(facts.map((p) => (p ? 0 : null))),
        uuids(group),
        uuids(group.map(() => room)),
        uuids(group.map(() => user)),
        texts(group.map(() => 'editor')),
        uuids(group),
        ints(versions),
        texts(group.map(() => op)),
        uuids(group.map(() => user)),
        texts(clients),
        ints(seqList),
        uuids(group),
        texts(clients),
        ints(seqList),
        ints(versions),
      ].join(', ')})`;
      const results = (await client.query([...first.slice(0, 2), pieces.lockFiles, predicted, 'COMMIT'].join(';\n'))) as unknown as pg.QueryResult[];
      const rows = (results[3] as pg.QueryResult).rows as { version: number | null }[];
      if (rows.length !== group.length || rows.some((r) => r.version === null)) throw new Error(`a prediction failed: ${JSON.stringify(rows)}`);
    } else if (variant.oneRoundTrip) await client.query([...first, ...second].join(';\n'));
    else {
      await client.query(first.join(';\n'));
      await client.query(second.join(';\n'));
    }
    if (variant.predicted || keep('insertOps')) group.forEach((f, k) => head.set(f, versions[k] as number));
    if (variant.predicted || keep('upsertProgress')) group.forEach((f, k) => progress.set(`${f}/${clients[k]}`, { seq: seqList[k] as number, version: versions[k] as number }));
  };

  const backendCpuMs = (): number => {
    const stat = readFileSync(`/proc/${backendPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  };

  console.log(`commit cost: ${COMMITS} serial group commits per variant and round, ${FILES_PER_GROUP} file(s) of one submission per group, ${ROUNDS} rounds (µs per commit; the median round)`);
  console.log(`${'variant'.padEnd(46)} ${'PostgreSQL CPU'.padStart(15)} ${'node CPU'.padStart(9)} ${'wall'.padStart(7)}`);
  const results = new Map<string, { pg: number[]; node: number[]; wall: number[] }>();
  const variants = VARIANTS.filter((v) => ONLY_VARIANTS.length === 0 || ONLY_VARIANTS.some((w) => v.name.includes(w)));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one variant later, so that none always runs first or last (the tables grow).
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length] as Variant;
      if (variant.schema) await client.query(variant.schema.change);
      for (let i = 0; i < 200; i++) await commitOnce(variant);
      const pg0 = backendCpuMs();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < COMMITS; i++) await commitOnce(variant);
      const wall = ((performance.now() - t0) * 1000) / COMMITS;
      const cpu = process.cpuUsage(cpu0);
      const r = results.get(variant.name) ?? { pg: [], node: [], wall: [] };
      r.pg.push(((backendCpuMs() - pg0) * 1000) / COMMITS);
      r.node.push((cpu.user + cpu.system) / COMMITS);
      r.wall.push(wall);
      results.set(variant.name, r);
      if (variant.schema) await client.query(variant.schema.undo);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const json: Record<string, unknown> = {};
  for (const variant of variants) {
    const r = results.get(variant.name);
    if (!r) continue;
    console.log(`${variant.name.padEnd(46)} ${median(r.pg).toFixed(0).padStart(15)} ${median(r.node).toFixed(0).padStart(9)} ${median(r.wall).toFixed(0).padStart(7)}`);
    json[variant.name] = { pgCpuUs: r.pg.map((x) => Math.round(x)), nodeCpuUs: r.node.map((x) => Math.round(x)), wallUs: r.wall.map((x) => Math.round(x)) };
  }
  console.log(`BENCH_RESULT ${JSON.stringify({ benchmark: 'commit-cost', commits: COMMITS, rounds: ROUNDS, filesPerGroup: FILES_PER_GROUP, variants: json })}`);
  await client.end();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
