/**
 * What one client knows about a joined room: the room, its limits, the participants (ourselves
 * included), our role and the files. Fed by the `room:join` reply and the server's room events;
 * each update says what changed so the UI and file system can react. Pure: no I/O.
 *
 * Server events may repeat (our own `file:created` echo, a re-join after a reconnection): every
 * update is idempotent and reports no change for a repeat.
 */
import type { FileInfo, Limits, Participant, Role, RoomInfo, RoomJoinReply } from '@collab/protocol';

/** A change to the room's file list. */
export type FileChange =
  | { readonly kind: 'created'; readonly file: FileInfo }
  | { readonly kind: 'renamed'; readonly file: FileInfo; readonly oldPath: string }
  | { readonly kind: 'deleted'; readonly file: FileInfo };

/** What a re-join changed. */
export interface RejoinDiff {
  readonly participantsChanged: boolean;
  readonly roleChanged: boolean;
  readonly fileChanges: readonly FileChange[];
}

/** One joined room's state. */
export class RoomState {
  room: RoomInfo;
  limits: Limits;
  private me: Participant;
  private readonly people = new Map<string, Participant>();
  private readonly fileMap = new Map<string, FileInfo>();

  constructor(reply: RoomJoinReply) {
    this.room = reply.room;
    this.limits = reply.limits;
    this.me = reply.you;
    for (const p of reply.participants) this.people.set(p.userId, p);
    this.people.set(reply.you.userId, reply.you);
    for (const f of reply.files) this.fileMap.set(f.id, f);
  }

  /** The room's id. */
  get roomId(): string {
    return this.room.roomId;
  }

  /** Ourselves as a participant. */
  get you(): Participant {
    return this.me;
  }

  /** Our role. */
  get role(): Role {
    return this.me.role;
  }

  /** True when we may edit (owner or editor). */
  get canEdit(): boolean {
    return this.me.role !== 'viewer';
  }

  /** Every participant, the owner first, then by username. */
  get participants(): Participant[] {
    const rank = (p: Participant) => (p.role === 'owner' ? 0 : 1);
    return [...this.people.values()].sort((a, b) => rank(a) - rank(b) || a.username.localeCompare(b.username));
  }

  /** Participants online (ourselves included: we are connected). */
  get onlineCount(): number {
    let n = 0;
    for (const p of this.people.values()) if (p.online || p.userId === this.me.userId) n++;
    return n;
  }

  /** Number of participants. */
  get participantCount(): number {
    return this.people.size;
  }

  /** A participant by user id. */
  participant(userId: string): Participant | undefined {
    return this.people.get(userId);
  }

  /** Every file, by path. */
  get files(): FileInfo[] {
    return [...this.fileMap.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** A file by id. */
  file(fileId: string): FileInfo | undefined {
    return this.fileMap.get(fileId);
  }

  /** A file by its (normalised) path. */
  fileByPath(path: string): FileInfo | undefined {
    for (const f of this.fileMap.values()) if (f.path === path) return f;
    return undefined;
  }

  /** `participant:joined` / `participant:updated`; true when something changed. */
  upsertParticipant(p: Participant): boolean {
    const before = this.people.get(p.userId);
    const next: Participant = { userId: p.userId, username: p.username, role: p.role, color: p.color, activeFileId: p.activeFileId, online: p.online };
    if (before && sameParticipant(before, next)) return false;
    this.people.set(p.userId, next);
    if (p.userId === this.me.userId) this.me = next;
    return true;
  }

  /** `participant:left`; true when they were known. */
  removeParticipant(userId: string): boolean {
    return this.people.delete(userId);
  }

  /** `role:changed` for ourselves; true when the role changed. */
  setOwnRole(role: Role): boolean {
    if (this.me.role === role) return false;
    this.me = { ...this.me, role };
    this.people.set(this.me.userId, this.me);
    return true;
  }

  /** `file:created` (or our own create's reply); undefined for a repeat. */
  fileCreated(file: FileInfo): FileChange | undefined {
    const before = this.fileMap.get(file.id);
    this.fileMap.set(file.id, toFileInfo(file, before));
    if (before) return before.path === file.path ? undefined : { kind: 'renamed', file: this.fileMap.get(file.id) as FileInfo, oldPath: before.path };
    return { kind: 'created', file: this.fileMap.get(file.id) as FileInfo };
  }

  /** `file:renamed`; undefined for a repeat. An unknown file counts as created. */
  fileRenamed(file: FileInfo): FileChange | undefined {
    return this.fileCreated(file);
  }

  /** `file:deleted`; undefined for a repeat. */
  fileDeleted(fileId: string): FileChange | undefined {
    const before = this.fileMap.get(fileId);
    if (!before) return undefined;
    this.fileMap.delete(fileId);
    return { kind: 'deleted', file: before };
  }

  /** Replaces everything with a fresh `room:join` reply (after a reconnection) and says what changed. */
  rejoined(reply: RoomJoinReply): RejoinDiff {
    const roleChanged = reply.you.role !== this.me.role;
    const beforePeople = JSON.stringify(this.participants);
    this.room = reply.room;
    this.limits = reply.limits;
    this.me = reply.you;
    this.people.clear();
    for (const p of reply.participants) this.people.set(p.userId, p);
    this.people.set(reply.you.userId, reply.you);
    const participantsChanged = beforePeople !== JSON.stringify(this.participants);
    const fileChanges: FileChange[] = [];
    const seen = new Set<string>();
    for (const f of reply.files) {
      seen.add(f.id);
      const change = this.fileCreated(f);
      if (change) fileChanges.push(change);
    }
    for (const id of [...this.fileMap.keys()]) {
      if (seen.has(id)) continue;
      const change = this.fileDeleted(id);
      if (change) fileChanges.push(change);
    }
    return { participantsChanged, roleChanged, fileChanges };
  }
}

function sameParticipant(a: Participant, b: Participant): boolean {
  return a.username === b.username && a.role === b.role && a.color === b.color && a.activeFileId === b.activeFileId && a.online === b.online;
}

function toFileInfo(f: FileInfo, before: FileInfo | undefined): FileInfo {
  // The version in a FileInfo is a snapshot; keep the highest one seen.
  return { id: f.id, path: f.path, language: f.language, version: Math.max(f.version, before?.version ?? 0) };
}
