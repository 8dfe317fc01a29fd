/**
 * The platform's floor under the typing scenario: what the least a server can do per keystroke
 * costs on this machine. A bare `ws` server (no Socket.IO, no OT, no auth, no validation) that, for
 * each message, optionally commits it to PostgreSQL in a group transaction of ONE round trip per
 * turn of its event loop (one commit in flight), then acks the sender and forwards the message to
 * the other clients of its file. The clients run in this process, as the load tool's do.
 *
 * An instrument, not a component: its figures say how much of the measured CPU and latency is the
 * platform's (frames, wake-ups, WAL flushes, the disk) and how much is ours.
 *
 * `--transport socket.io` runs the same server and clients on Socket.IO instead of bare `ws` (the
 * server with our node's engine options, the clients as `@collab/client` connects and submits:
 * WebSocket only, an ack with a timeout per message; a room per file, forwarded with one
 * broadcast): the floor of any server built on Socket.IO, which the design prescribes.
 *
 * `--servers 2` runs two server processes, each file's clients on one of them (file f on server
 * f mod 2), as two nodes with clients placed by room: the processes share nothing but PostgreSQL.
 *
 * `--work-us N` has each server burn N µs of CPU per message before queueing it: a stand-in for a
 * real server's own work per op (validation, sequencing, the commit's planning), so a sweep of N
 * finds how much of it the load leaves room for before the tail grows.
 *
 *   npm run bench:floor -- --clients 1000 --files 250 --rate 5 --duration 15 --pg [--transport ws|socket.io] [--servers 1|2] [--commit-interval MS] [--async-commit] [--work-us N]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Client } from 'pg';
import { Server as SocketIoServer } from 'socket.io';
import { io as socketIoClient } from 'socket.io-client';
import WebSocket, { WebSocketServer } from 'ws';
import { Args } from './args';
import { FsyncWatch, postgresDisk, STALL_MS } from './disk-probe';
import { cpuTicks, machineTicks, ticksPerSecond } from './proc';
import { Rng, chooseSeed } from './rng';
import { createScratchDatabase, dropScratchDatabase } from './servers';
import { round, Samples } from './stats';

/** The wire between the floor's clients and its server. */
type Transport = 'ws' | 'socket.io';

/** What the server process is told. */
interface ServeOptions {
  readonly transport: Transport;
  readonly databaseUrl?: string;
  /** Diagnostic: `SET synchronous_commit = off` (acks stop waiting for the WAL flush). */
  readonly asyncCommit: boolean;
  /** At most one commit per this many ms (0: as soon as the previous one returned). */
  readonly commitIntervalMs: number;
  /** CPU burnt per message before it is queued (µs; `--work-us`). */
  readonly workUs: number;
}

/** What the server process answers once listening. */
interface Listening {
  readonly port: number;
  /** Pid of its PostgreSQL backend, if any (for its CPU). */
  readonly backendPid?: number;
}

if (process.argv[2] === '--serve') void serve(JSON.parse(process.argv[3] ?? '{}') as ServeOptions);
else
  void drive(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );

/** The server: one process, as a node is. Never returns. */
async function serve(o: ServeOptions): Promise<void> {
  let db: Client | undefined;
  let backendPid: number | undefined;
  if (o.databaseUrl) {
    db = new Client({ connectionString: o.databaseUrl });
    await db.connect();
    // With --servers 2 the second server finds the table made (the servers start one after the other).
    await db.query('CREATE TABLE IF NOT EXISTS ops (file int NOT NULL, seq int NOT NULL, body text NOT NULL)');
    if (o.asyncCommit) await db.query('SET synchronous_commit = off');
    backendPid = Number((await db.query('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
  }
  // A message awaiting its commit: the row to insert, and how to ack its sender and forward it.
  let waiting: { file: number; seq: number; text: string; ack: () => void; forward: () => void }[] = [];
  let busy = false;
  let lastCommitAt = 0;
  // One group at a time: everything that arrived while the previous commit was out goes together.
  const flush = async (): Promise<void> => {
    if (busy || waiting.length === 0) return;
    const wait = lastCommitAt + o.commitIntervalMs - performance.now();
    if (wait > 0) {
      busy = true;
      setTimeout(() => {
        busy = false;
        void flush();
      }, wait);
      return;
    }
    busy = true;
    lastCommitAt = performance.now();
    const group = waiting;
    waiting = [];
    if (db) {
      const values = group.map((m) => `(${m.file},${m.seq},${db.escapeLiteral(m.text)})`).join(',');
      await db.query(`BEGIN; INSERT INTO ops VALUES ${values}; COMMIT`);
    }
    for (const m of group) {
      m.ack();
      m.forward();
    }
    busy = false;
    if (waiting.length > 0) setImmediate(() => void flush());
  };
  const arrived = (m: (typeof waiting)[number]): void => {
    waiting.push(m);
    if (waiting.length === 1) setImmediate(() => void flush());
  };
  const listening = (port: number): void => {
    process.send?.({ port, ...(backendPid ? { backendPid } : {}) } satisfies Listening);
  };
  if (o.transport === 'socket.io') {
    const http = createServer();
    // As our node configures Socket.IO (transport/socket-server.ts), minus the frame limit.
    const io = new SocketIoServer(http, { serveClient: false, pingInterval: 10_000, pingTimeout: 10_000 });
    io.on('connection', (socket) => {
      const file = Number(socket.handshake.query['file']);
      const room = `f${file}`;
      void socket.join(room);
      socket.on('m', (payload: { s: number }, reply: (ack: { a: number }) => void) => {
        const seq = payload.s;
        burnCpu(o.workUs);
        // One broadcast per message: Socket.IO encodes it once for all the file's other sockets.
        // The row's body is the message re-encoded (Socket.IO parsed it; `ws` stores the frame as read).
        arrived({ file, seq, text: JSON.stringify(payload), ack: () => reply({ a: seq }), forward: () => socket.to(room).emit('m', payload) });
      });
    });
    http.listen(0, '127.0.0.1', () => {
      const address = http.address();
      listening(address && typeof address === 'object' ? address.port : 0);
    });
    return;
  }
  const readers = new Map<number, Set<WebSocket>>();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  wss.on('connection', (ws, req) => {
    const file = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('file'));
    let set = readers.get(file);
    if (!set) readers.set(file, (set = new Set()));
    set.add(ws);
    ws.on('message', (data) => {
      const text = String(data);
      const seq = Number(/"s":(\d+)/.exec(text)?.[1]);
      const forward = (): void => {
        for (const other of set) if (other !== ws) other.send(text);
      };
      burnCpu(o.workUs);
      arrived({ file, seq, text, ack: () => ws.send(`{"a":${seq}}`), forward });
    });
  });
  wss.on('listening', () => {
    const address = wss.address();
    listening(address && typeof address === 'object' ? address.port : 0);
  });
}

/** The clients: spawns the server, connects, types at the rate, measures; returns the exit code. */
async function drive(argv: string[]): Promise<number> {
  const args = new Args(argv, ['pg', 'async-commit']);
  const clients = args.num('clients', 1000);
  const files = args.num('files', 250);
  const rate = args.num('rate', 5);
  const durationS = args.num('duration', 15);
  const warmupS = args.num('warmup', 3);
  const seed = chooseSeed(args.optNum('seed'));
  const pg = args.flag('pg');
  const asyncCommit = args.flag('async-commit');
  const commitIntervalMs = args.num('commit-interval', 0);
  const workUs = args.num('work-us', 0);
  const transport = args.str('transport', 'ws');
  const serverCount = args.num('servers', 1);
  if (serverCount !== 1 && serverCount !== 2) throw new Error('--servers must be 1 or 2');
  if (transport !== 'ws' && transport !== 'socket.io') throw new Error(`--transport must be ws or socket.io, not ${transport}`);
  if (asyncCommit && !pg) throw new Error('--async-commit needs --pg');
  if (workUs > 10_000) throw new Error('--work-us must be between 0 and 10000'); // Args refuses negatives
  console.log(`floor: ${clients} clients × ${rate}/s over ${files} files on ${transport}, ${serverCount} server process${serverCount > 1 ? 'es' : ''}, ${pg ? `PostgreSQL${asyncCommit ? ' (synchronous_commit off: DIAGNOSTIC)' : ''}` : 'no database'}${workUs > 0 ? `, ${workUs} µs of server CPU burnt per message` : ''}, seed ${seed}`);
  const adminUrl = args.str('pg-admin-url', 'postgres://postgres@127.0.0.1:5432/postgres');
  const scratch = pg ? `floor_${randomBytes(6).toString('hex')}` : undefined;
  const databaseUrl = scratch ? await createScratchDatabase(adminUrl, scratch) : undefined;
  const serveOptions: ServeOptions = { transport, ...(databaseUrl ? { databaseUrl } : {}), asyncCommit, commitIntervalMs, workUs };
  // Every process forked is killed at the end, also one that never came to listen.
  const children: ChildProcess[] = [];
  try {
    const servers: FloorServer[] = [];
    // One after the other: the second finds the first's table (CREATE TABLE IF NOT EXISTS).
    for (let n = 0; n < serverCount; n++) {
      const child = fork(__filename, ['--serve', JSON.stringify(serveOptions)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      const listening = await new Promise<Listening>((resolve, reject) => {
        child.once('message', (m) => resolve(m as Listening));
        child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
      });
      servers.push({ child, listening });
    }
    return await measure(servers, { clients, files, rate, durationS, warmupS, seed, pg, asyncCommit, commitIntervalMs, workUs, adminUrl, transport });
  } finally {
    for (const child of children) child.kill();
    if (scratch) await dropScratchDatabase(adminUrl, scratch);
  }
}

/** A spawned floor server and where it listens. */
interface FloorServer {
  readonly child: ChildProcess;
  readonly listening: Listening;
}

/** What `measure` runs and reports (the load, and the servers' settings for the report). */
interface MeasureOptions {
  readonly clients: number;
  readonly files: number;
  readonly rate: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly seed: number;
  readonly pg: boolean;
  readonly asyncCommit: boolean;
  readonly commitIntervalMs: number;
  readonly workUs: number;
  readonly adminUrl: string;
  readonly transport: Transport;
}

/** The typing load against the listening floor servers, and the report. */
async function measure(
  servers: readonly FloorServer[],
  o: MeasureOptions,
): Promise<number> {
  const rng = new Rng(o.seed);
  // Keyed by "client:seq": when it was sent, how many readers have yet to receive it, whether it
  // was acked, whether it counts. Dropped once acked and received by every reader, in either order.
  const inFlight = new Map<string, { at: number; remaining: number; acked: boolean; measured: boolean }>();
  const endToEnd = new Samples();
  const acks = new Samples();
  let measuring = false;
  const sockets: FloorSocket[] = [];
  // Client i is on file i mod F; the others of its file read what it types.
  const readersOf = (i: number): number => Math.floor((o.clients - 1 - (i % o.files)) / o.files);
  const connect = o.transport === 'socket.io' ? connectSocketIo : connectWs;
  for (let i = 0; i < o.clients; i++) {
    const onAck = (seq: number): void => {
      const id = `${i}:${seq}`;
      const sent = inFlight.get(id);
      if (!sent) return;
      if (sent.measured) acks.add(performance.now() - sent.at);
      sent.acked = true;
      if (sent.remaining <= 0) inFlight.delete(id);
    };
    const onForward = (id: string): void => {
      const sent = inFlight.get(id);
      if (!sent) return;
      if (--sent.remaining === 0) {
        if (sent.measured) endToEnd.add(performance.now() - sent.at);
        if (sent.acked) inFlight.delete(id);
      }
    };
    const file = i % o.files;
    sockets.push(await connect((servers[file % servers.length] as FloorServer).listening.port, file, onAck, onForward));
  }
  const seqs = new Array<number>(o.clients).fill(0);
  const timers: NodeJS.Timeout[] = [];
  sockets.forEach((socket, i) => {
    const readers = readersOf(i);
    const clientRng = rng.fork(i);
    const type = (): void => {
      const seq = ++seqs[i]!;
      const id = `${i}:${seq}`;
      // A client alone on its file still has its ack measured; its entry is dropped at the ack.
      inFlight.set(id, { at: performance.now(), remaining: readers, acked: false, measured: measuring });
      socket.send(id, seq, clientRng.int(2000));
      timers[i] = setTimeout(type, 1000 / o.rate);
    };
    timers[i] = setTimeout(type, clientRng.next() * (1000 / o.rate));
  });
  await sleep(o.warmupS * 1000);
  const tick = ticksPerSecond();
  const cpuOf = (pid: number | undefined): number => (pid === undefined ? 0 : (cpuTicks(pid) ?? 0) / tick);
  const sum = (pids: (number | undefined)[]): number => pids.reduce<number>((total, pid) => total + cpuOf(pid), 0);
  const serverCpu = (): number => sum(servers.map((s) => s.child.pid));
  const backendCpu = (): number => sum(servers.map((s) => s.listening.backendPid));
  // The disk under PostgreSQL during the window (as the load tool watches it).
  const disk = o.pg ? await postgresDisk(o.adminUrl) : undefined;
  const watch = disk && !('reason' in disk) && typeof disk.probeDir === 'string' ? await FsyncWatch.start(disk.probeDir).catch(() => undefined) : undefined;
  const from = { server: serverCpu(), backend: backendCpu(), self: process.cpuUsage(), machine: machineTicks(), at: performance.now() };
  measuring = true;
  await sleep(o.durationS * 1000);
  measuring = false;
  const wall = (performance.now() - from.at) / 1000;
  const self = process.cpuUsage(from.self);
  const machine = machineTicks();
  const fsync = await watch?.stop();
  const cpu = {
    server: round(serverCpu() - from.server),
    postgres: round(backendCpu() - from.backend),
    clients: round((self.user + self.system) / 1e6),
    machineBusy: round((machine.busy - from.machine.busy) / tick),
    steal: round((machine.steal - from.machine.steal) / tick),
    wall: round(wall),
  };
  for (const t of timers) clearTimeout(t);
  await sleep(1000);
  for (const socket of sockets) socket.close();
  const e2e = endToEnd.summary();
  const ack = acks.summary();
  const result = {
    scenario: 'floor',
    params: { clients: o.clients, files: o.files, rate: o.rate, durationS: o.durationS, transport: o.transport, servers: servers.length, pg: o.pg, asyncCommit: o.asyncCommit, commitIntervalMs: o.commitIntervalMs, workUs: o.workUs },
    ackedPerSec: round((ack?.n ?? 0) / wall, 1),
    latencyMs: { endToEnd: e2e, ack },
    cpuSeconds: cpu,
    fsyncInWindowMs: fsync ?? null,
    cpuMsPerOp: ack && ack.n > 0 ? round(((cpu.server + cpu.postgres + cpu.clients) * 1000) / ack.n, 3) : null,
    seed: o.seed,
    ...(o.asyncCommit ? { diagnostic: true } : {}),
  };
  const p = (s: typeof e2e): string => (s ? `p50 ${s.p50}  p95 ${s.p95}  p99 ${s.p99}  max ${s.max} ms (n=${s.n})` : 'no samples');
  console.log(`  acked         ${result.ackedPerSec}/s`);
  console.log(`  end-to-end    ${p(e2e)}`);
  console.log(`  ack           ${p(ack)}`);
  console.log(`  CPU seconds   server ${cpu.server}, postgres ${cpu.postgres}, clients ${cpu.clients}; machine busy ${cpu.machineBusy}, of which steal ${cpu.steal} (over ${cpu.wall} s, 2 cores = ${round(cpu.wall * 2)})`);
  if (fsync) console.log(`  fsync in window  p50 ${fsync.p50}  p99 ${fsync.p99}  max ${fsync.max} ms, ${fsync.stalls} stalls >${STALL_MS} ms (${fsync.samples} writes)`);
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  return 0;
}

/** One floor client's connection: sends a keystroke's message; acks and forwarded messages go to the callbacks it was made with. */
interface FloorSocket {
  send(id: string, seq: number, offset: number): void;
  close(): void;
}

/** A bare WebSocket client (the floor's own minimal framing). */
async function connectWs(port: number, file: number, onAck: (seq: number) => void, onForward: (id: string) => void): Promise<FloorSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/?file=${file}`, { perMessageDeflate: false });
  ws.on('message', (data) => {
    const text = String(data);
    if (text.startsWith('{"a"')) onAck(Number(/"a":(\d+)/.exec(text)?.[1]));
    else onForward(/"i":"([^"]+)"/.exec(text)?.[1] ?? '');
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    send: (id, seq, offset) => ws.send(`{"i":"${id}","s":${seq},"op":[${offset},"x"]}`),
    close: () => ws.close(),
  };
}

/** A Socket.IO client connected and sending as `@collab/client`'s `CollabConnection` does. */
async function connectSocketIo(port: number, file: number, onAck: (seq: number) => void, onForward: (id: string) => void): Promise<FloorSocket> {
  const socket = socketIoClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], query: { file: String(file) }, forceNew: true, reconnection: false });
  socket.on('m', (message: { i: string }) => onForward(message.i));
  await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined));
    socket.once('connect_error', reject);
  });
  return {
    send: (id, seq, offset) =>
      socket.timeout(10_000).emit('m', { i: id, s: seq, op: [offset, 'x'] }, (err: Error | null, reply: { a: number }) => {
        if (!err) onAck(reply.a);
      }),
    close: () => socket.close(),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Burns `us` µs of this process's CPU time (not wall time: a spin preempted by another process
 * would otherwise count the other's time as its own work). The process's time includes its helper
 * threads' (the garbage collector's), which run seldom and briefly next to a spin of tens of µs.
 */
function burnCpu(us: number): void {
  if (us <= 0) return;
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= us) return;
  }
}
