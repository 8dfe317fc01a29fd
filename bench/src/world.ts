/**
 * Sets up what a scenario needs through the public API, as real clients would: users sign up,
 * owners create rooms and files and invite the others as editors; then clients connect, join and
 * open their file.
 *
 * Layout: client i edits file i mod F; file f lives in room ⌊f / filesPerRoom⌋; client i signs in as
 * user i mod U; a room's owner is the user of its first client, and every other user with a client
 * in the room is invited as an editor. With several server URLs the placement decides each client's
 * node: `room` (as the shipped load balancer does, hashing on the room) puts room r on node r mod N,
 * so a file's clients share a node; `spread` puts client i on node ⌊i / F⌋ mod N, so the clients of
 * one file alternate between nodes (every commit of a file crosses nodes: the worst case, and what
 * a round-robin balancer or a failover produces).
 */
import { Api, pool, type BenchUser } from './api';
import { BenchClient } from './bench-client';
import type { BenchDoc } from './bench-doc';
import type { LatencySink } from './latency';

/** How clients are placed on several nodes (see the header). */
export type Placement = 'room' | 'spread';

/** The shape of a world. */
export interface WorldSpec {
  readonly clients: number;
  readonly files: number;
  readonly filesPerRoom: number;
  /** Distinct users (each client signs in as user i mod users). */
  readonly users: number;
  /** Initial content of every file. */
  readonly content: string;
  /** Server URLs; `nodeOf` says which one each client connects to. */
  readonly urls: readonly string[];
  /** Which node each client connects to when there are several. @default 'spread' */
  readonly placement?: Placement;
  /** Where HTTP API calls go. @default urls[0] */
  readonly apiUrl?: string;
  /** Prefix of usernames (unique per run). */
  readonly tag: string;
}

/** A world after setup. */
export interface World {
  readonly spec: WorldSpec;
  readonly users: BenchUser[];
  readonly clients: BenchClient[];
  /** Client i's open document. */
  readonly docs: BenchDoc[];
  /** Seconds spent in each setup phase. */
  readonly setupSeconds: { users: number; rooms: number; connect: number };
  /** What the REST setup created. */
  readonly setup: WorldSetup;
}

/** Signs up `n` users (usernames `<tag>u<i>`), a few at a time (each sign-up costs the server a scrypt hash). */
export async function signUpUsers(api: Api, tag: string, n: number, concurrency = 8): Promise<BenchUser[]> {
  return pool(n, concurrency, (i) => api.register(`${tag}u${i}`));
}

/** The room of client `c`'s file. */
export function roomOf(spec: Pick<WorldSpec, 'files' | 'filesPerRoom'>, c: number): number {
  return Math.floor((c % spec.files) / spec.filesPerRoom);
}

/** The index of the server URL client `c` connects to, by the spec's placement. */
export function nodeOf(spec: Pick<WorldSpec, 'files' | 'filesPerRoom' | 'urls' | 'placement'>, c: number): number {
  if (spec.placement === 'room') return roomOf(spec, c) % spec.urls.length;
  return Math.floor(c / spec.files) % spec.urls.length;
}

/** What the REST setup produced: users, rooms and files (plain data, so it can be sent to worker threads). */
export interface WorldSetup {
  readonly users: BenchUser[];
  readonly roomIds: string[];
  readonly fileIds: string[];
  /** Seconds spent signing up users and creating rooms and files. */
  readonly seconds: { users: number; rooms: number };
}

/** Signs up the users and creates the rooms and files of `spec` over the HTTP API (no socket yet). */
export async function setupWorld(spec: WorldSpec, log: (line: string) => void): Promise<WorldSetup> {
  const api = new Api(spec.apiUrl ?? (spec.urls[0] as string));
  let t = performance.now();
  const users = await signUpUsers(api, spec.tag, Math.min(spec.users, spec.clients));
  const tUsers = (performance.now() - t) / 1000;
  log(`  signed up ${users.length} users in ${tUsers.toFixed(1)} s`);

  t = performance.now();
  const roomCount = Math.ceil(spec.files / spec.filesPerRoom);
  const userOf = (client: number): number => client % users.length;
  // Which users have a client in each room; the room's owner is the user of its first client.
  const members: Set<number>[] = Array.from({ length: roomCount }, () => new Set<number>());
  const owner: number[] = new Array<number>(roomCount).fill(-1);
  for (let c = 0; c < spec.clients; c++) {
    const room = roomOf(spec, c);
    if (owner[room] === -1) owner[room] = userOf(c);
    (members[room] as Set<number>).add(userOf(c));
  }
  const roomIds: string[] = [];
  const fileIds: string[] = new Array<string>(spec.files);
  await pool(roomCount, 8, async (r) => {
    const ownerUser = users[owner[r] as number] as BenchUser;
    const roomId = await api.createRoom(ownerUser.token, true, `bench room ${r}`);
    roomIds[r] = roomId;
    for (let f = r * spec.filesPerRoom; f < Math.min(spec.files, (r + 1) * spec.filesPerRoom); f++) {
      fileIds[f] = await api.createFile(ownerUser.token, roomId, `src/file-${f}.txt`, spec.content);
    }
    for (const u of members[r] as Set<number>) {
      if (u !== owner[r]) await api.invite(ownerUser.token, roomId, (users[u] as BenchUser).username, 'editor');
    }
  });
  const tRooms = (performance.now() - t) / 1000;
  log(`  created ${roomCount} rooms, ${spec.files} files in ${tRooms.toFixed(1)} s`);
  return { users, roomIds, fileIds, seconds: { users: round1(tUsers), rooms: round1(tRooms) } };
}

/**
 * Connects the clients `indices` of the world (each joins its room and opens its file); the
 * results are indexed by client index (sparse when `indices` is a subset, as in a worker thread).
 */
export async function connectClients(
  spec: WorldSpec,
  setup: WorldSetup,
  indices: readonly number[],
  tracker: LatencySink,
): Promise<{ clients: BenchClient[]; docs: BenchDoc[] }> {
  const clients: BenchClient[] = [];
  const docs: BenchDoc[] = [];
  await pool(indices.length, 50, async (k) => {
    const c = indices[k] as number;
    const file = c % spec.files;
    const roomId = setup.roomIds[roomOf(spec, c)] as string;
    const user = setup.users[c % setup.users.length] as BenchUser;
    // The room as affinity, as the extension connects: through a load balancer (`--via-balancer`)
    // it places the client; on a node's own URL it changes nothing.
    const client = await BenchClient.connect(spec.urls[nodeOf(spec, c)] as string, user.token, c, 30_000, roomId);
    clients[c] = client;
    await client.joinRoom(roomId);
    docs[c] = await client.openFile(roomId, setup.fileIds[file] as string, tracker);
  });
  return { clients, docs };
}

/** Builds the world of `spec`; every client ends up connected with its file open. */
export async function buildWorld(spec: WorldSpec, tracker: LatencySink, log: (line: string) => void): Promise<World> {
  const setup = await setupWorld(spec, log);
  const t = performance.now();
  const { clients, docs } = await connectClients(spec, setup, Array.from({ length: spec.clients }, (_, c) => c), tracker);
  const tConnect = (performance.now() - t) / 1000;
  log(`  connected ${clients.length} clients (joined, file open) in ${tConnect.toFixed(1)} s`);
  return { spec, users: setup.users, clients, docs, setupSeconds: { ...setup.seconds, connect: round1(tConnect) }, setup };
}

/** Rounds to 0.1. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
