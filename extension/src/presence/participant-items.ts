/**
 * The Participants view's rows, pure: label, description (role, online state, current file) and the
 * `contextValue` the view's menus match (`participant;self` / `participant;other;followable` /
 * `…;manageable`).
 */
import type { FileInfo, Participant, Role } from '@collab/protocol';

/** One row of the Participants view. */
export interface ParticipantItem {
  readonly userId: string;
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly contextValue: string;
  readonly online: boolean;
  readonly following: boolean;
}

/** The last path segment of a room path. */
function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** The rows for `participants` as seen by `self` (with `selfRole`), `followed` marked. */
export function participantItems(
  participants: readonly Participant[],
  files: readonly FileInfo[],
  selfUserId: string,
  selfRole: Role,
  followed: string | undefined,
): ParticipantItem[] {
  return participants.map((p) => {
    const self = p.userId === selfUserId;
    const file = p.activeFileId ? files.find((f) => f.id === p.activeFileId) : undefined;
    const parts: string[] = [p.role];
    if (!p.online) parts.push('offline');
    if (file && p.online) parts.push(baseName(file.path));
    const following = p.userId === followed;
    if (following) parts.push('following');
    const context = ['participant', self ? 'self' : 'other'];
    if (!self && p.online) context.push('followable');
    if (following) context.push('followed');
    if (!self && selfRole === 'owner' && p.role !== 'owner') context.push('manageable');
    return {
      userId: p.userId,
      label: self ? `${p.username} (you)` : p.username,
      description: parts.join(' · '),
      tooltip: `${p.username} — ${p.role}, ${p.online ? 'online' : 'offline'}${file ? `, in ${file.path}` : ''}`,
      contextValue: context.join(';'),
      online: p.online,
      following,
    };
  });
}
