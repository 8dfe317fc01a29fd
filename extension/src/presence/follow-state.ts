/**
 * Follow mode's rules, pure: whom we follow, when following stops (we typed, we switched to another
 * file ourselves, the participant left, the session ended), when a viewer follows the owner by
 * itself, and what to show for the followed participant (which file to open, which range to reveal).
 */
import type { Participant, RemoteCursor, Role } from '@collab/protocol';

/** Why following stopped. */
export type StopReason = 'user' | 'typed' | 'switched-file' | 'left' | 'ended';

/** What the follower's editor should do for the followed participant. */
export interface FollowPlan {
  /** The room file to show (open it when our active editor shows another). */
  readonly fileId: string;
  /** Whether the file must be opened (our active editor shows another file). */
  readonly open: boolean;
  /** The server-offset range to reveal, at `version`, when known (their visible range, else their caret). */
  readonly reveal?: { readonly kind: 'visible' | 'caret'; readonly version: number; readonly start: number; readonly end: number };
}

/** Whom we follow, and the rules for starting and stopping. */
export class FollowState {
  private target: string | undefined;
  private auto = false;
  /** The viewer stopped following the owner by hand: do not follow them again by itself. */
  private optedOut = false;
  /** A file we are opening ourselves (its activation is not the user switching files). */
  private opening: string | undefined;

  /** The followed participant's user id. */
  get following(): string | undefined {
    return this.target;
  }

  /** Whether the current follow was started automatically (viewer follows owner). */
  get automatic(): boolean {
    return this.target !== undefined && this.auto;
  }

  /** Starts following `userId` (by hand unless `auto`); false when it is ourselves. */
  start(userId: string, selfUserId: string, auto = false): boolean {
    if (userId === selfUserId) return false;
    this.target = userId;
    this.auto = auto;
    this.opening = undefined;
    if (!auto) this.optedOut = false;
    return true;
  }

  /** Stops following; returns whether we were following. */
  stop(reason: StopReason): boolean {
    const was = this.target !== undefined;
    if (was && reason !== 'left' && reason !== 'ended' && this.auto) this.optedOut = true;
    this.target = undefined;
    this.auto = false;
    this.opening = undefined;
    return was;
  }

  /** We are about to open `fileId` for the followed participant. */
  willOpen(fileId: string): void {
    this.opening = fileId;
  }

  /**
   * Our active editor changed to `fileId` (a room file id, or undefined for anything else). Stops
   * following (returns true) when the user switched to something other than what we are showing.
   */
  activeFileChanged(fileId: string | undefined, followedFileId: string | null | undefined): boolean {
    if (this.target === undefined) return false;
    if (fileId !== undefined && (fileId === this.opening || fileId === followedFileId)) {
      if (fileId === this.opening) this.opening = undefined;
      return false;
    }
    // An editor closing while ours opens (undefined in between) is not a switch.
    if (fileId === undefined && this.opening !== undefined) return false;
    return this.stop('switched-file');
  }

  /** We typed in a document: following stops (as in Live Share). */
  typed(): boolean {
    return this.stop('typed');
  }

  /** The participant list changed: stops following someone who left or went offline. */
  participantsChanged(participants: readonly Participant[]): boolean {
    if (this.target === undefined) return false;
    const p = participants.find((x) => x.userId === this.target);
    if (!p || !p.online) return this.stop('left');
    return false;
  }

  /** Whom to follow by ourselves: the owner, when we are a viewer and the setting is on. */
  autoTarget(role: Role, setting: boolean, participants: readonly Participant[], selfUserId: string): string | undefined {
    if (!setting || role !== 'viewer' || this.optedOut || this.target !== undefined) return undefined;
    const owner = participants.find((p) => p.role === 'owner' && p.online && p.userId !== selfUserId);
    return owner?.userId;
  }

  /** Our role changed: a viewer who opted out gets the default again on the next demotion. */
  roleChanged(role: Role): void {
    if (role !== 'viewer') {
      this.optedOut = false;
      if (this.auto) this.stop('ended');
    }
  }
}

/**
 * What to show for `followed`: their active file, opened unless it is `activeFileId` (ours), and
 * their visible range (else their first caret) from their latest cursor in that file.
 */
export function followPlan(followed: Participant, activeFileId: string | undefined, cursors: readonly RemoteCursor[]): FollowPlan | undefined {
  const fileId = followed.activeFileId;
  if (!fileId) return undefined;
  const theirs = cursors.filter((c) => c.userId === followed.userId && c.fileId === fileId);
  const cursor = theirs[theirs.length - 1];
  let reveal: FollowPlan['reveal'];
  if (cursor?.visible) reveal = { kind: 'visible', version: cursor.version, start: cursor.visible.start, end: cursor.visible.end };
  else if (cursor?.selections[0]) {
    const s = cursor.selections[0];
    reveal = { kind: 'caret', version: cursor.version, start: Math.min(s.anchor, s.head), end: Math.max(s.anchor, s.head) };
  }
  return { fileId, open: fileId !== activeFileId, ...(reveal ? { reveal } : {}) };
}

/** The status bar hint while following. */
export function followHint(username: string, automatic: boolean): string {
  return `$(eye) Following ${username}${automatic ? ' (owner)' : ''}`;
}
