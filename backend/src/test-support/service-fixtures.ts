/**
 * Test fixtures for the account, room and file layers: unique usernames, users inserted directly,
 * the services wired on a test database with a cheap password hash, and a recorder of domain events.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_LIMITS, type Limits } from '@collab/protocol';
import { AccountService, type LoginLimits } from '../domain/accounts';
import { DomainEvents, type DomainEventMap } from '../domain/domain-events';
import { FileService, type HeadVersionLookup } from '../domain/files';
import { PasswordHasher, TEST_SCRYPT_COST } from '../domain/passwords';
import type { BucketSpec } from '../domain/rate-limit';
import { RoomService } from '../domain/rooms';
import { TokenService, type AuthUser } from '../domain/tokens';
import type { Database } from '../storage/database';
import { FilesRepo } from '../storage/files-repo';
import { RoomsRepo } from '../storage/rooms-repo';
import { UsersRepo } from '../storage/users-repo';

let counter = 0;

/** A username no other test of this run uses (valid: 3–32 chars of [A-Za-z0-9_.-]). */
export function uniqueUsername(prefix = 'user'): string {
  counter += 1;
  return `${prefix.slice(0, 12)}_${counter}_${randomBytes(3).toString('hex')}`;
}

/** Inserts a user directly (no hashing work); returns them as an authenticated caller. */
export async function insertUser(users: UsersRepo, username: string = uniqueUsername()): Promise<AuthUser> {
  const created = await users.create({ username, passwordHash: 'scrypt$not-a-real-hash' });
  if (!created.ok) throw new Error(`could not insert test user ${username}: ${created.error.message}`);
  return { userId: created.value.id, username: created.value.username };
}

/** One recorded domain event. */
export type RecordedEvent = { [K in keyof DomainEventMap]: { readonly name: K; readonly event: DomainEventMap[K] } }[keyof DomainEventMap];

const EVENT_NAMES: readonly (keyof DomainEventMap)[] = [
  'participantAdded',
  'roleChanged',
  'participantRemoved',
  'roomDeleted',
  'fileCreated',
  'fileRenamed',
  'fileDeleted',
  'joinRequested',
  'joinResolved',
];

/** Records every event emitted on a bus, in order. */
export class EventRecorder {
  readonly all: RecordedEvent[] = [];

  constructor(events: DomainEvents) {
    for (const name of EVENT_NAMES) {
      events.on(name, (event) => this.all.push({ name, event } as RecordedEvent));
    }
  }

  /** The payloads of the recorded events called `name`. */
  of<K extends keyof DomainEventMap>(name: K): DomainEventMap[K][] {
    return this.all.filter((e) => e.name === name).map((e) => e.event as DomainEventMap[K]);
  }

  /** The names of the recorded events, in order. */
  names(): string[] {
    return this.all.map((e) => e.name);
  }

  /** Forgets what was recorded. */
  clear(): void {
    this.all.length = 0;
  }
}

/** The sign-up limit of test servers and services: far above what any suite signs up from one address. */
export const TEST_REGISTRATION_LIMIT: BucketSpec = Object.freeze({ capacity: 100_000, refillPerSecond: 100_000 });

/** Options of `wireServices`. */
export interface WireOptions {
  readonly limits?: Partial<Limits>;
  readonly loginLimits?: LoginLimits;
  /** Sign-ups per client. @default TEST_REGISTRATION_LIMIT (tests sign up many users from one key) */
  readonly registrationLimit?: BucketSpec;
  readonly now?: () => number;
  readonly headVersion?: HeadVersionLookup;
  /** The token secret. @default a random one */
  readonly jwtSecret?: string;
}

/** The repositories and services on one database, with a recorder of their events. */
export interface Services {
  readonly users: UsersRepo;
  readonly roomsRepo: RoomsRepo;
  readonly filesRepo: FilesRepo;
  readonly events: DomainEvents;
  readonly recorder: EventRecorder;
  readonly tokens: TokenService;
  readonly passwords: PasswordHasher;
  readonly accounts: AccountService;
  readonly rooms: RoomService;
  readonly files: FileService;
}

/** Wires every service on `db` with a cheap scrypt cost and an in-memory token secret. */
export function wireServices(db: Database, options: WireOptions = {}): Services {
  const users = new UsersRepo(db.knex);
  const roomsRepo = new RoomsRepo(db.knex);
  const filesRepo = new FilesRepo(db.knex);
  const events = new DomainEvents((err) => {
    throw err;
  });
  const recorder = new EventRecorder(events);
  const tokens = new TokenService({ secret: options.jwtSecret ?? randomBytes(32).toString('base64url'), now: options.now });
  const passwords = new PasswordHasher(TEST_SCRYPT_COST);
  const accounts = new AccountService({ users, passwords, tokens, loginLimits: options.loginLimits, registrationLimit: options.registrationLimit ?? TEST_REGISTRATION_LIMIT, now: options.now });
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const rooms = new RoomService({ rooms: roomsRepo, users, events, limits });
  const files = new FileService({ rooms: roomsRepo, files: filesRepo, events, limits, headVersion: options.headVersion });
  return { users, roomsRepo, filesRepo, events, recorder, tokens, passwords, accounts, rooms, files };
}
