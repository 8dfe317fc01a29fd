/**
 * File metadata in the `files` table: create (with the initial text as the version-0 snapshot),
 * rename, delete, list, get. The op log and later snapshots (`files.content`/`files.version`) belong
 * to `ops-repo.ts`; nothing here reads or writes them after creation.
 *
 * Paths are unique per room by the (room_id, name) constraint; the caller passes normalised paths.
 */
import type { Knex } from 'knex';
import { ErrorCode, fail, ok, type Result } from '@collab/protocol';
import { isUniqueViolation } from './database';
import { isUuid, newRowId } from './row-ids';

/** A file's metadata (never its content). `version` is the version of the stored snapshot. */
export interface FileRecord {
  readonly id: string;
  readonly roomUuid: string;
  /** The normalised relative path (column `name`). */
  readonly path: string;
  readonly language: string;
  /** The snapshot's version; the live head may be newer (see ops-repo). */
  readonly version: number;
  readonly createdBy: string | null;
  readonly createdAt: Date;
}

/** What `create` needs; `path` is already normalised and `content` canonical. */
export interface NewFile {
  readonly roomUuid: string;
  readonly path: string;
  readonly language: string;
  readonly content: string;
  readonly createdBy: string;
}

interface FileRow {
  id: string;
  room_id: string;
  name: string;
  language: string;
  version: number | string;
  created_by: string | null;
  created_at: Date | string;
}

const FILE_COLUMNS = ['id', 'room_id', 'name', 'language', 'version', 'created_by', 'created_at'] as const;

/** Reads and writes file metadata with Knex. */
export class FilesRepo {
  constructor(private readonly db: Knex) {}

  /**
   * Creates a file at version 0 with `content` as its snapshot. Fails with `PATH_TAKEN` when the
   * room has a file at this path, `TOO_MANY_FILES` when it already has `maxFiles` files, and
   * `ROOM_NOT_FOUND` when the room no longer exists.
   *
   * Race: two concurrent creations could both count `maxFiles - 1`. Locking the room row (FOR NO
   * KEY UPDATE, which still lets other transactions insert rows referencing the room) serialises
   * file creation per room, so the count is exact.
   */
  async create(file: NewFile, maxFiles: number): Promise<Result<FileRecord>> {
    try {
      return await this.db.transaction(async (trx) => {
        const room = await trx('rooms').where('id', file.roomUuid).forNoKeyUpdate().first('id');
        if (!room) return fail<FileRecord>(ErrorCode.ROOM_NOT_FOUND, 'the room no longer exists');
        const counted = await trx('files').where('room_id', file.roomUuid).count<{ n: string | number }[]>('* as n');
        const count = Number(counted[0]?.n ?? 0);
        if (count >= maxFiles) {
          return fail<FileRecord>(ErrorCode.TOO_MANY_FILES, `the room already has ${count} files; the limit is ${maxFiles}`);
        }
        const rows: FileRow[] = await trx('files')
          .insert({
            id: newRowId(),
            room_id: file.roomUuid,
            name: file.path,
            language: file.language,
            content: file.content,
            version: 0,
            created_by: file.createdBy,
          })
          .returning([...FILE_COLUMNS]);
        const row = rows[0];
        if (!row) throw new Error('INSERT INTO files returned no row');
        return ok(toRecord(row));
      });
    } catch (err) {
      if (isUniqueViolation(err)) return fail(ErrorCode.PATH_TAKEN, `a file already exists at '${file.path}'`);
      throw err;
    }
  }

  /** Moves a file to `path` (normalised); `FILE_NOT_FOUND` if it is not in the room, `PATH_TAKEN` if the path is used. */
  async rename(roomUuid: string, fileId: string, path: string): Promise<Result<FileRecord>> {
    if (!isUuid(fileId)) return notFound();
    try {
      const rows = await this.db<FileRow>('files')
        .where({ id: fileId, room_id: roomUuid })
        .update({ name: path })
        .returning([...FILE_COLUMNS]);
      const row = rows[0];
      return row ? ok(toRecord(row)) : notFound();
    } catch (err) {
      if (isUniqueViolation(err)) return fail(ErrorCode.PATH_TAKEN, `a file already exists at '${path}'`);
      throw err;
    }
  }

  /** Deletes a file with its op log (ON DELETE CASCADE); false if it was not in the room. */
  async delete(roomUuid: string, fileId: string): Promise<boolean> {
    if (!isUuid(fileId)) return false;
    // RETURNING, not the row count: knex-pglite answers a bare DELETE with a result object.
    const deleted = await this.db('files').where({ id: fileId, room_id: roomUuid }).delete().returning(['id']);
    return deleted.length > 0;
  }

  /** Every file of the room, ordered by path (code-unit order, the same on every database collation). */
  async list(roomUuid: string): Promise<FileRecord[]> {
    const rows = await this.db<FileRow>('files').where('room_id', roomUuid).select(...FILE_COLUMNS);
    return rows.map(toRecord).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The file with this id in the room, or undefined (a file of another room is not found). */
  async get(roomUuid: string, fileId: string): Promise<FileRecord | undefined> {
    if (!isUuid(fileId)) return undefined;
    const row = await this.db<FileRow>('files').where({ id: fileId, room_id: roomUuid }).first(...FILE_COLUMNS);
    return row ? toRecord(row) : undefined;
  }

  /** How many files the room has. */
  async count(roomUuid: string): Promise<number> {
    const counted = await this.db('files').where('room_id', roomUuid).count<{ n: string | number }[]>('* as n');
    return Number(counted[0]?.n ?? 0);
  }
}

function notFound(): Result<FileRecord> {
  return fail(ErrorCode.FILE_NOT_FOUND, 'no such file in this room');
}

function toRecord(row: FileRow): FileRecord {
  return {
    id: row.id,
    roomUuid: row.room_id,
    path: row.name,
    language: row.language,
    version: Number(row.version),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
  };
}
