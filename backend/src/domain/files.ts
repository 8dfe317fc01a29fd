/**
 * Files of a room (PROTOCOL.md §11.6): create with initial text, rename, delete, list, get. Editors
 * and the owner change files; any participant reads the list. Every change is emitted on the
 * DomainEvents bus after it is durable.
 *
 * Editing a file's text (the op log) is not here: see the sequencing path and `ops-repo.ts`.
 */
import {
  DEFAULT_LIMITS,
  ErrorCode,
  LANGUAGE_PATTERN,
  fail,
  isWellFormedUtf16,
  normalizePath,
  ok,
  type FileInfo,
  type Limits,
  type Result,
} from '@collab/protocol';
import type { FileRecord, FilesRepo } from '../storage/files-repo';
import type { RoomsRepo } from '../storage/rooms-repo';
import type { DomainEvents } from './domain-events';
import { resolveMembership, type Membership } from './membership';
import { requireRole } from './permissions';
import type { AuthUser } from './tokens';
import { toFileInfo } from './views';

/**
 * The live head version of a file, when the caller knows better than the stored snapshot version
 * (`undefined`: use the snapshot's).
 */
export type HeadVersionLookup = (fileId: string) => number | undefined | Promise<number | undefined>;

/** What `create` accepts (validated here, not trusted). */
export interface CreateFileInput {
  readonly path: string;
  readonly language: string;
  /** The initial canonical text (version 0). */
  readonly content: string;
}

/** What a FileService needs. */
export interface FileServiceDeps {
  readonly rooms: RoomsRepo;
  readonly files: FilesRepo;
  readonly events: DomainEvents;
  readonly limits?: Pick<Limits, 'maxPathLength' | 'maxFilesPerRoom' | 'maxOpInsertLength' | 'maxDocumentLength'>;
  /** Supplies the live head version; by default FileInfo.version is the snapshot version column. */
  readonly headVersion?: HeadVersionLookup;
}

/** The file rules. Every method takes the authenticated caller and returns a Result. */
export class FileService {
  private readonly rooms: RoomsRepo;
  private readonly files: FilesRepo;
  private readonly events: DomainEvents;
  private readonly limits: NonNullable<FileServiceDeps['limits']>;
  private readonly headVersion: HeadVersionLookup | undefined;

  constructor(deps: FileServiceDeps) {
    this.rooms = deps.rooms;
    this.files = deps.files;
    this.events = deps.events;
    this.limits = deps.limits ?? DEFAULT_LIMITS;
    this.headVersion = deps.headVersion;
  }

  /**
   * Creates a file at version 0 (editors and owner). Refuses: `FORBIDDEN` (viewer),
   * `INVALID_PATH`, `INVALID_MESSAGE` (language), `INVALID_TEXT` (`\r` or ill-formed UTF-16),
   * `OP_TOO_LARGE` (content longer than `maxOpInsertLength`), `DOCUMENT_TOO_LARGE`, `PATH_TAKEN`,
   * `TOO_MANY_FILES`. Emits `fileCreated`.
   */
  async create(roomId: string, actor: AuthUser, input: CreateFileInput): Promise<Result<FileInfo>> {
    const m = await this.asEditor(roomId, actor);
    if (!m.ok) return m;
    const path = normalizePath(input.path, this.limits.maxPathLength);
    if (!path.ok) return path;
    const language = checkLanguage(input.language);
    if (!language.ok) return language;
    const content = this.checkContent(input.content);
    if (!content.ok) return content;
    const { room } = m.value;
    const created = await this.files.create(
      { roomUuid: room.roomUuid, path: path.value, language: language.value, content: content.value, createdBy: actor.userId },
      this.limits.maxFilesPerRoom,
    );
    if (!created.ok) return created;
    const file = toFileInfo(created.value, 0);
    this.events.emit('fileCreated', { roomId: room.roomId, file });
    return ok(file);
  }

  /** Moves a file to a new path (editors and owner); the version does not change. Emits `fileRenamed` if the path changed. */
  async rename(roomId: string, actor: AuthUser, fileId: string, newPath: string): Promise<Result<FileInfo>> {
    const m = await this.asEditor(roomId, actor);
    if (!m.ok) return m;
    const path = normalizePath(newPath, this.limits.maxPathLength);
    if (!path.ok) return path;
    const { room } = m.value;
    const before = await this.files.get(room.roomUuid, fileId);
    if (!before) return fileNotFound();
    if (before.path === path.value) return ok(await this.info(before));
    const renamed = await this.files.rename(room.roomUuid, fileId, path.value);
    if (!renamed.ok) return renamed;
    const file = await this.info(renamed.value);
    this.events.emit('fileRenamed', { roomId: room.roomId, file });
    return ok(file);
  }

  /** Deletes a file with its history (editors and owner). Emits `fileDeleted`. */
  async delete(roomId: string, actor: AuthUser, fileId: string): Promise<Result<void>> {
    const m = await this.asEditor(roomId, actor);
    if (!m.ok) return m;
    const { room } = m.value;
    if (!(await this.files.delete(room.roomUuid, fileId))) return fileNotFound();
    this.events.emit('fileDeleted', { roomId: room.roomId, fileId });
    return ok(undefined);
  }

  /** Every file of the room, by path (any participant). */
  async list(roomId: string, actor: AuthUser): Promise<Result<FileInfo[]>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    const files = await this.files.list(m.value.room.roomUuid);
    return ok(await Promise.all(files.map((f) => this.info(f))));
  }

  /** One file of the room (any participant); `FILE_NOT_FOUND` if it is not in this room. */
  async get(roomId: string, actor: AuthUser, fileId: string): Promise<Result<FileInfo>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    const file = await this.files.get(m.value.room.roomUuid, fileId);
    return file ? ok(await this.info(file)) : fileNotFound();
  }

  /** The caller's membership, required to allow editing (`FORBIDDEN` for viewers), read at this moment. */
  private async asEditor(roomId: string, actor: AuthUser): Promise<Result<Membership>> {
    const m = await resolveMembership(this.rooms, roomId, actor.userId);
    if (!m.ok) return m;
    const allowed = requireRole(m.value.participant.role, 'editor');
    return allowed.ok ? m : allowed;
  }

  private checkContent(content: unknown): Result<string> {
    if (typeof content !== 'string') return fail(ErrorCode.INVALID_MESSAGE, 'the content must be a string');
    if (content.length > this.limits.maxDocumentLength) {
      return fail(ErrorCode.DOCUMENT_TOO_LARGE, `the content is ${content.length} code units long; the limit is ${this.limits.maxDocumentLength}`);
    }
    // The initial text is committed like one insert, so it obeys the insert limit.
    if (content.length > this.limits.maxOpInsertLength) {
      return fail(ErrorCode.OP_TOO_LARGE, `the content is ${content.length} code units long; the limit is ${this.limits.maxOpInsertLength}`);
    }
    const cr = content.indexOf('\r');
    if (cr !== -1) return fail(ErrorCode.INVALID_TEXT, `the content contains '\\r' at offset ${cr}; canonical text uses '\\n' only`);
    if (!isWellFormedUtf16(content)) return fail(ErrorCode.INVALID_TEXT, 'the content contains a lone surrogate');
    return ok(content);
  }

  private async info(file: FileRecord): Promise<FileInfo> {
    const head = this.headVersion ? await this.headVersion(file.id) : undefined;
    return toFileInfo(file, head ?? file.version);
  }
}

function checkLanguage(language: unknown): Result<string> {
  if (typeof language === 'string' && LANGUAGE_PATTERN.test(language)) return ok(language);
  return fail(ErrorCode.INVALID_MESSAGE, "a language id must be 1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '+', '#' and '-'");
}

function fileNotFound<T>(): Result<T> {
  return fail(ErrorCode.FILE_NOT_FOUND, 'no such file in this room');
}
