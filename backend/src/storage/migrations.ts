/**
 * The schema, as Knex migrations kept in code (no migration files to find at run time), applied
 * identically to PostgreSQL and to the embedded PGlite.
 *
 * Never edit a migration that has shipped: add a new one.
 */
import type { Knex } from 'knex';

interface Migration {
  readonly name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  {
    name: '001_initial',
    async up(db) {
      await db.schema.createTable('users', (t) => {
        t.uuid('id').primary();
        t.text('username').notNullable();
        // Usernames are unique regardless of case: "Ada" and "ada" are one account.
        t.text('username_key').notNullable().unique();
        t.text('email').nullable();
        t.text('email_key').nullable().unique();
        t.text('password_hash').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      });
      await db.schema.createTable('rooms', (t) => {
        t.uuid('id').primary();
        // The public, unguessable handle (>= 128 random bits, base64url) used to join.
        t.text('room_id').notNullable().unique();
        t.text('name').nullable();
        t.uuid('owner_id').notNullable().references('users.id').onDelete('CASCADE');
        t.boolean('is_private').notNullable().defaultTo(true);
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.index(['owner_id']);
      });
      await db.schema.createTable('room_participants', (t) => {
        t.uuid('room_id').notNullable().references('rooms.id').onDelete('CASCADE');
        t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
        t.text('role').notNullable();
        t.timestamp('joined_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.primary(['room_id', 'user_id']);
        t.index(['user_id']);
      });
      await db.raw(`ALTER TABLE room_participants ADD CONSTRAINT room_participants_role_check
        CHECK (role IN ('owner', 'editor', 'viewer'))`);
      await db.schema.createTable('files', (t) => {
        t.uuid('id').primary();
        t.uuid('room_id').notNullable().references('rooms.id').onDelete('CASCADE');
        // A normalised relative POSIX path (protocol normalizePath).
        t.text('name').notNullable();
        t.text('language').notNullable();
        // The snapshot: the text at `version`. Written every N ops or when idle, never per op.
        t.text('content').notNullable();
        t.integer('version').notNullable().defaultTo(0);
        t.uuid('created_by').nullable().references('users.id').onDelete('SET NULL');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.unique(['room_id', 'name']);
      });
      // The operation log: the authoritative order of each file. The primary key on
      // (file_id, version) is what makes two nodes unable to commit the same version.
      await db.schema.createTable('file_ops', (t) => {
        t.uuid('file_id').notNullable().references('files.id').onDelete('CASCADE');
        // The file's version after this op (the first op is version 1).
        t.integer('version').notNullable();
        t.jsonb('op').notNullable();
        t.uuid('author').nullable().references('users.id').onDelete('SET NULL');
        t.text('client_id').notNullable();
        t.bigInteger('seq').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.primary(['file_id', 'version']);
        t.unique(['file_id', 'client_id', 'seq']);
      });
      // Per (file, client): the last committed seq (de-duplication that survives compaction of
      // file_ops) and the fence set when the client abandoned older seqs by resynchronising.
      await db.schema.createTable('client_progress', (t) => {
        t.uuid('file_id').notNullable().references('files.id').onDelete('CASCADE');
        t.text('client_id').notNullable();
        t.bigInteger('last_seq').notNullable().defaultTo(0);
        t.integer('last_version').notNullable().defaultTo(0);
        t.bigInteger('fenced_seq').notNullable().defaultTo(0);
        t.primary(['file_id', 'client_id']);
      });
      // Which user owns a clientId: nobody can submit under another user's clientId.
      await db.schema.createTable('client_ids', (t) => {
        t.text('client_id').primary();
        t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      });
      // A private room's pending requests to join, answered by the owner.
      await db.schema.createTable('join_requests', (t) => {
        t.uuid('id').primary();
        t.uuid('room_id').notNullable().references('rooms.id').onDelete('CASCADE');
        t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
        t.text('role').notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.unique(['room_id', 'user_id']);
      });
      await db.raw(`ALTER TABLE join_requests ADD CONSTRAINT join_requests_role_check
        CHECK (role IN ('editor', 'viewer'))`);
    },
    async down(db) {
      for (const table of ['join_requests', 'client_ids', 'client_progress', 'file_ops', 'files', 'room_participants', 'rooms', 'users']) {
        await db.schema.dropTableIfExists(table);
      }
    },
  },
];

/** Knex's migration source over the list above. */
class InCodeMigrationSource implements Knex.MigrationSource<Migration> {
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve([...MIGRATIONS]);
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: (db: Knex) => migration.up(db), down: (db: Knex) => migration.down(db) });
  }
}

/**
 * Applies every pending migration. Knex takes a lock in `knex_migrations_lock`; a node that finds
 * it taken (several nodes starting at once) waits and tries again, and then finds nothing to do.
 */
export async function migrateToLatest(db: Knex, lockWaitMs = 30_000): Promise<void> {
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    try {
      await db.migrate.latest({ migrationSource: new InCodeMigrationSource() });
      return;
    } catch (err) {
      // Two nodes creating Knex's own bookkeeping tables at once: one loses with a unique
      // violation (23505), "relation exists" (42P07) or "type exists" (42710); its retry finds
      // them there.
      const code = (err as { code?: unknown }).code;
      const raced = code === '23505' || code === '42P07' || code === '42710';
      const locked = err instanceof Error && (err.name === 'MigrationLocked' || /already locked/i.test(err.message) || raced);
      if (!locked || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
    }
  }
}

/** Reverts every migration (tests only). */
export async function migrateDownAll(db: Knex): Promise<void> {
  await db.migrate.rollback({ migrationSource: new InCodeMigrationSource() }, true);
}
