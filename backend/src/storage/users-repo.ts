/**
 * The `users` table: accounts with their password hash. Usernames and e-mail addresses are unique
 * regardless of case; uniqueness is enforced by the database (`username_key`, `email_key`), not by
 * a prior SELECT, so two concurrent sign-ups with the same name cannot both succeed.
 */
import type { Knex } from 'knex';
import { ErrorCode, fail, ok, type Result } from '@collab/protocol';
import { isUniqueViolation } from './database';
import { isUuid, newRowId } from './row-ids';

/** A stored account. `passwordHash` never leaves the domain layer. */
export interface UserRecord {
  readonly id: string;
  /** The username as registered (its case preserved). */
  readonly username: string;
  readonly email: string | null;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

/** What `create` needs: the caller has already validated and hashed. */
export interface NewUser {
  readonly username: string;
  readonly email?: string | null;
  readonly passwordHash: string;
}

interface UserRow {
  id: string;
  username: string;
  email: string | null;
  password_hash: string;
  created_at: Date | string;
}

/** The case-insensitive key a username or e-mail address is unique under. */
export function lookupKey(name: string): string {
  return name.toLowerCase();
}

/** Reads and writes accounts with Knex. */
export class UsersRepo {
  constructor(private readonly db: Knex) {}

  /** Inserts an account; `USERNAME_TAKEN` when the username or e-mail is already registered (any case). */
  async create(user: NewUser): Promise<Result<UserRecord>> {
    const email = user.email ?? null;
    try {
      const rows: UserRow[] = await this.db('users')
        .insert({
          id: newRowId(),
          username: user.username,
          username_key: lookupKey(user.username),
          email,
          email_key: email === null ? null : lookupKey(email),
          password_hash: user.passwordHash,
        })
        .returning(['id', 'username', 'email', 'password_hash', 'created_at']);
      const row = rows[0];
      if (!row) throw new Error('INSERT INTO users returned no row');
      return ok(toRecord(row));
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_key_unique')) {
        return fail(ErrorCode.USERNAME_TAKEN, 'this e-mail address is already registered');
      }
      if (isUniqueViolation(err)) return fail(ErrorCode.USERNAME_TAKEN, `the username '${user.username}' is already taken`);
      throw err;
    }
  }

  /** The account registered under `username` in any case, or undefined. */
  async findByUsername(username: string): Promise<UserRecord | undefined> {
    const row = await this.db<UserRow>('users')
      .where('username_key', lookupKey(username))
      .first('id', 'username', 'email', 'password_hash', 'created_at');
    return row ? toRecord(row) : undefined;
  }

  /** The account with this id, or undefined (also for ids that are not UUIDs). */
  async findById(id: string): Promise<UserRecord | undefined> {
    if (!isUuid(id)) return undefined;
    const row = await this.db<UserRow>('users').where('id', id).first('id', 'username', 'email', 'password_hash', 'created_at');
    return row ? toRecord(row) : undefined;
  }
}

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    passwordHash: row.password_hash,
    createdAt: new Date(row.created_at),
  };
}
