/**
 * The schema, as Knex migrations kept in code (no migration files to find at run time), applied
 * identically to PostgreSQL and to the embedded PGlite.
 *
 * Never edit a migration that has shipped: add a new one.
 */
import type { Knex } from 'knex';

/**
 * The op log's foreign keys as migration 001 made them and 002 dropped them (table, Knex's name,
 * definition): 002's `down` puts them back, the commit-cost bench measures them.
 */
export const OP_LOG_FOREIGN_KEYS = [
  ['file_ops', 'file_ops_file_id_foreign', 'FOREIGN KEY (file_id) REFERENCES files (id) ON DELETE CASCADE'],
  ['file_ops', 'file_ops_author_foreign', 'FOREIGN KEY (author) REFERENCES users (id) ON DELETE SET NULL'],
  ['client_progress', 'client_progress_file_id_foreign', 'FOREIGN KEY (file_id) REFERENCES files (id) ON DELETE CASCADE'],
] as const;

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
  {
    // The op log's foreign keys cost every committed op two referential checks, each a query with
    // a row lock (the author's row is shared by every op of that user, from every node): ~17 µs of
    // PostgreSQL CPU per op, a third of an op's own cost in a group commit (docs/benchmarks.md,
    // tenth session). What they guaranteed holds without them:
    //  - no op or progress row for a file that does not exist: both are written only under a lock
    //    on the file's row taken after finding it (the group commit's FOR NO KEY UPDATE, checked by
    //    `collab_lock_files` / `collab_commit_predicted`; the fence's FOR SHARE), which a DELETE of
    //    the file waits for; the trigger below removes what a deleted file leaves, as the cascade did;
    //  - `author` names the user who wrote the op (from the signed token); users are not deleted by
    //    the service, and should one be removed by hand, its ops keep the id (authorship history).
    name: '002_op_log_without_foreign_keys',
    async up(db) {
      for (const [table, key] of OP_LOG_FOREIGN_KEYS) await db.raw(`ALTER TABLE ${table} DROP CONSTRAINT ${key}`);
      await db.raw(`CREATE FUNCTION collab_delete_file_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM file_ops WHERE file_id = OLD.id;
          DELETE FROM client_progress WHERE file_id = OLD.id;
          RETURN OLD;
        END $$`);
      // Also fires for files deleted by the cascade of their room's deletion.
      await db.raw(`CREATE TRIGGER collab_delete_file_log AFTER DELETE ON files FOR EACH ROW EXECUTE FUNCTION collab_delete_file_log()`);
    },
    async down(db) {
      await db.raw(`DROP TRIGGER collab_delete_file_log ON files`);
      await db.raw(`DROP FUNCTION collab_delete_file_log()`);
      await db.raw(`UPDATE file_ops SET author = NULL WHERE author IS NOT NULL AND author NOT IN (SELECT id FROM users)`);
      for (const [table, key, definition] of OP_LOG_FOREIGN_KEYS) await db.raw(`ALTER TABLE ${table} ADD CONSTRAINT ${key} ${definition}`);
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

/** Reverts the latest migration (tests only). */
export async function migrateDownLast(db: Knex): Promise<void> {
  await db.migrate.down({ migrationSource: new InCodeMigrationSource() });
}

/** Reverts every migration (tests only). */
export async function migrateDownAll(db: Knex): Promise<void> {
  await db.migrate.rollback({ migrationSource: new InCodeMigrationSource() }, true);
}
