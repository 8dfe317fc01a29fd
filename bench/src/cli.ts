#!/usr/bin/env node
/**
 * `npm run bench -- <scenario> [options]`: the Collab load tool. Spawns its own server(s) on a
 * fresh database (or targets --url), runs one scenario, prints a table and one `BENCH_RESULT` JSON
 * line. Exits 1 when the run did not converge (no latency is reported then) or failed.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Args } from './args';
import { printProfile, summariseProfile } from './profile';
import { chooseSeed } from './rng';
import { RunEnv, type EnvOptions } from './run-env';
import { runHotFile } from './scenarios/hot-file';
import { runIdle } from './scenarios/idle';
import { runJoinStorm } from './scenarios/join-storm';
import { runTyping } from './scenarios/typing';
import type { DbKind, SynchronousCommit } from './servers';
import type { Placement } from './world';

const USAGE = `usage: npm run bench -- <scenario> [options]

scenarios:
  typing       C clients × R keystrokes/s over F files     --clients 200 --files 50 --rate 5 --duration 30 --warmup 3
  two-nodes    typing over 2 nodes (Redis fan-out, one PostgreSQL), clients placed by --placement
  hot-file     N clients on one file, one op in flight each --clients 2,10,50 --duration 10 --warmup 2
  idle         idle joined sockets on one node, RSS/socket --sockets 10000 --users 100 --sockets-per-room 10 --hold 10
  join-storm   N clients join one room within a few s     --clients 500 --spread 3
  --threads N  (typing, two-nodes, hot-file) run the clients in N worker threads, client i in thread
               i mod N (default 1: all in the main thread, as before)
  --cursors    (typing, two-nodes) each keystroke also sends the caret (cursor:update), as an editor does
  --placement room|spread  (typing, two-nodes with several nodes) room (default): each room's clients on
               one node, as the shipped nginx balances; spread: a file's clients alternate nodes, so
               every commit crosses nodes (round robin, failover). Also nginx's method (--via-balancer)
  profile <file.cpuprofile>   summarise a CPU profile (self/inclusive time by function and package)

servers (default: spawn one node on a fresh embedded PGlite database):
  --db pglite|postgres         postgres: a scratch database bench_<random> is created and dropped
  --pg-admin-url URL           default postgres://postgres@127.0.0.1:5432/postgres
  --nodes N                    spawn N nodes (N > 1 needs --db postgres and Redis)
  --redis-url URL              default redis://127.0.0.1:6379
  --via-balancer               (several nodes) sockets connect through nginx, not to the nodes in turn
  --url URL                    use a running server instead (repeat for several nodes); --server-pid PID to sample it
  --profile DIR                run spawned nodes with --cpu-prof into DIR and summarise the profile at the end
  --node-flag F                a Node.js or V8 flag for every spawned node (repeat; e.g. --node-flag=--trace-deopt)
  --synchronous-commit on|off  (--db postgres, spawned) off: ALTER DATABASE <scratch> SET synchronous_commit = off,
                               a DIAGNOSTIC run that takes the WAL flush out of every ack (not durable, so the
                               result is marked diagnostic + provisional); tells CPU limits from disk stalls

PostgreSQL runs (spawned, or --url when the admin URL connects) first probe fdatasync for 3 s in the
parent of PostgreSQL's data directory and print p50/p99/max and stalls >20 ms/s: the floor the disk
puts under the latencies (JSON "diskFsyncMs"). During the measured window they watch where a tail
comes from: the servers' own latency histograms (share of ops and commits over 5/10/20/50 ms,
"serverTail"), PostgreSQL's WAL syncs (pg_stat_wal, cluster-wide; times need track_wal_io_timing =
on, "wal"), the block device's counters ("diskInWindow") and 20 timed fdatasyncs a second in a
worker thread ("fsyncInWindowMs"; --no-fsync-watch turns them off).
other: --seed N (or SEED=N), --users U, --files-per-room K, --doc-size N, --max-rate N (hot-file),
       --no-open (idle), --concurrency N (idle), --spread S (join-storm)`;

async function main(argv: string[]): Promise<number> {
  const args = new Args(argv, ['no-open', 'help', 'via-balancer', 'no-fsync-watch', 'cursors']);
  const scenario = args.positional[0];
  if (!scenario || args.flag('help')) {
    console.log(USAGE);
    return scenario ? 0 : 2;
  }
  if (scenario === 'profile') {
    const file = args.positional[1];
    if (!file) throw new Error('profile: give a .cpuprofile file');
    printProfile(summariseProfile(file, args.num('top', 25)));
    return 0;
  }
  const seed = chooseSeed(args.optNum('seed'));
  const log = (line: string): void => console.log(line);
  const twoNodes = scenario === 'two-nodes';
  const profileDir = args.all('profile').at(-1);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const urls = args.all('url');
  const nodes = args.num('nodes', twoNodes ? 2 : 1);
  const placement = placementOption(args);
  const envOptions: EnvOptions = {
    urls,
    nodes,
    db: args.str('db', twoNodes ? 'postgres' : 'pglite') as DbKind,
    pgAdminUrl: args.str('pg-admin-url', 'postgres://postgres@127.0.0.1:5432/postgres'),
    redisUrl: args.str('redis-url', 'redis://127.0.0.1:6379'),
    ...(profileDir ? { profileDir: path.resolve(profileDir) } : {}),
    nodeFlags: args.all('node-flag'),
    viaBalancer: args.flag('via-balancer'),
    placement,
    fsyncWatch: !args.flag('no-fsync-watch'),
    // The idle scenario forces a full GC through the inspector before it reads memory.
    inspect: scenario === 'idle' && urls.length === 0 && nodes === 1,
    ...(args.optNum('server-pid') !== undefined ? { serverPid: args.optNum('server-pid') as number } : {}),
  };
  if (envOptions.db !== 'pglite' && envOptions.db !== 'postgres') throw new Error('--db must be pglite or postgres');
  const refusal = synchronousCommitRefusal(args.str('synchronous-commit', 'on'), envOptions);
  if (typeof refusal === 'string') {
    console.error(`bench: ${refusal}`);
    return 2;
  }
  const envWithCommit: EnvOptions = { ...envOptions, synchronousCommit: refusal.value };
  console.log(`seed ${seed} (replay with --seed ${seed})`);

  // Read every scenario option before starting anything, so a typo fails fast.
  const run = scenarioRunner(scenario, args, seed, log);
  const unknown = args.unknown();
  if (unknown.length > 0) throw new Error(`unknown option(s): ${unknown.map((u) => `--${u}`).join(' ')}\n\n${USAGE}`);

  const env = await RunEnv.start(envWithCommit, log);
  const stopOnSignal = (): void => {
    console.error('bench: interrupted; stopping servers');
    void env.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  let code = 0;
  try {
    const results = await run(env);
    for (const r of results) {
      if (r['converged'] === false) {
        console.error(`bench: ${String(r['scenario'])}: the run did not converge; refusing to report latency`);
        code = 1;
      }
      if (r['complete'] === false) code = 1;
    }
  } finally {
    await env.stop();
  }
  if (profileDir) summariseNewest(profileDir);
  return code;
}

/**
 * The --synchronous-commit value, or why it is refused: the setting is attached to the scratch
 * database the bench creates, so it means nothing on PGlite or on a server given by --url.
 */
function synchronousCommitRefusal(raw: string, o: EnvOptions): { value: SynchronousCommit } | string {
  if (raw !== 'on' && raw !== 'off') return `--synchronous-commit must be on or off, got ${JSON.stringify(raw)}`;
  if (raw === 'off' && o.urls.length > 0) return '--synchronous-commit off needs a spawned scratch database: not with --url';
  if (raw === 'off' && o.db !== 'postgres') return '--synchronous-commit off needs --db postgres (PGlite has no such setting here)';
  return { value: raw };
}

/** `--placement` (default `room`), refusing anything else. */
function placementOption(args: Args): Placement {
  const placement = args.str('placement', 'room');
  if (placement !== 'room' && placement !== 'spread') throw new Error('--placement must be room or spread');
  return placement;
}

/** Builds the runner of a scenario from the options (reading them all now). */
function scenarioRunner(scenario: string, args: Args, seed: number, log: (l: string) => void): (env: RunEnv) => Promise<Record<string, unknown>[]> {
  switch (scenario) {
    case 'typing':
    case 'two-nodes': {
      const clients = args.num('clients', 200);
      const o = {
        name: scenario,
        clients,
        files: args.num('files', 50),
        filesPerRoom: args.num('files-per-room', 5),
        users: args.num('users', clients),
        rate: args.num('rate', 5),
        durationS: args.num('duration', 30),
        warmupS: args.num('warmup', 3),
        docSize: args.num('doc-size', 2000),
        seed,
        threads: threadsOption(args),
        cursors: args.flag('cursors'),
        placement: placementOption(args),
      };
      return async (env) => [await runTyping(env, o, log)];
    }
    case 'hot-file': {
      const list = args.nums('clients', [2, 10, 50]);
      const durationS = args.num('duration', 10);
      const warmupS = args.num('warmup', 2);
      const docSize = args.num('doc-size', 2000);
      const maxRatePerClient = args.num('max-rate', 190);
      const users = args.optNum('users');
      const threads = threadsOption(args);
      return async (env) => {
        const out: Record<string, unknown>[] = [];
        for (const clients of list) out.push(await runHotFile(env, { clients, users: users ?? clients, durationS, warmupS, docSize, maxRatePerClient, seed, threads }, log));
        return out;
      };
    }
    case 'idle': {
      const o = {
        sockets: args.num('sockets', 10_000),
        users: args.num('users', 100),
        socketsPerRoom: args.num('sockets-per-room', 10),
        openFile: !args.flag('no-open'),
        holdS: args.num('hold', 10),
        docSize: args.num('doc-size', 2000),
        concurrency: args.num('concurrency', 100),
        seed,
      };
      return async (env) => [await runIdle(env, o, log)];
    }
    case 'join-storm': {
      const clients = args.num('clients', 500);
      const o = { clients, users: args.num('users', clients), spreadS: args.num('spread', 3), docSize: args.num('doc-size', 10_000), seed };
      return async (env) => [await runJoinStorm(env, o, log)];
    }
    default:
      throw new Error(`unknown scenario '${scenario}'\n\n${USAGE}`);
  }
}

/** --threads: a positive integer (default 1). */
function threadsOption(args: Args): number {
  const n = args.num('threads', 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got ${n}`);
  return n;
}

/** Prints the summary of each profile the nodes wrote. */
function summariseNewest(dir: string): void {
  const { readdirSync, statSync } = require('node:fs') as typeof import('node:fs');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  const newest = files[0];
  if (!newest) {
    console.log(`no CPU profile found in ${dir}`);
    return;
  }
  console.log(`\nCPU profile of the server: ${newest}`);
  printProfile(summariseProfile(newest, 25));
}

main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
    // Sockets of closed clients may linger a moment; the run is over.
    setTimeout(() => process.exit(code), 200).unref();
  })
  .catch((err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
