/**
 * Owner commands on participants (Change Participant Role, Remove Participant) and Copy Room ID.
 * The participant may come as the command's argument (a user id, or an object with `userId`, as a
 * participants view would pass it), else from a quick pick.
 */
import * as vscode from 'vscode';
import type { AssignableRole, Participant } from '@collab/protocol';
import type { SessionManager } from './session-manager';
import type { ActiveSession } from './active-session';
import { joinLink } from './room-link';

function ownerSession(manager: SessionManager): ActiveSession | undefined {
  const active = manager.current;
  if (!active) {
    void vscode.window.showInformationMessage('Collab: you are not in a session.');
    return undefined;
  }
  if (active.role !== 'owner') {
    void vscode.window.showWarningMessage('Collab: only the room’s owner can manage participants.');
    return undefined;
  }
  return active;
}

function userIdOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object' && typeof (arg as { userId?: unknown }).userId === 'string') return (arg as { userId: string }).userId;
  return undefined;
}

async function pickParticipant(active: ActiveSession, arg: unknown, title: string): Promise<Participant | undefined> {
  const others = active.participants.filter((p) => p.role !== 'owner' && p.userId !== active.self.userId);
  const given = userIdOf(arg);
  if (given) {
    const found = others.find((p) => p.userId === given);
    if (!found) void vscode.window.showWarningMessage('Collab: that participant cannot be changed (the owner, yourself, or gone).');
    return found;
  }
  if (others.length === 0) {
    void vscode.window.showInformationMessage('Collab: there are no other participants yet.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    others.map((p) => ({ label: p.username, description: `${p.role}${p.online ? '' : ' · offline'}`, participant: p })),
    { title, placeHolder: 'Choose a participant' },
  );
  return picked?.participant;
}

/** Change Participant Role. */
export async function changeParticipantRole(manager: SessionManager, arg?: unknown): Promise<void> {
  const active = ownerSession(manager);
  if (!active) return;
  const participant = await pickParticipant(active, arg, 'Change a participant’s role');
  if (!participant) return;
  const roles: Array<{ label: string; description: string; role: AssignableRole }> = [
    { label: 'Editor', description: 'can edit files', role: 'editor' },
    { label: 'Viewer', description: 'read-only', role: 'viewer' },
  ];
  const picked = await vscode.window.showQuickPick(
    roles.map((r) => ({ ...r, description: r.role === participant.role ? `${r.description} (current)` : r.description })),
    { title: `Role of ${participant.username}` },
  );
  if (!picked || picked.role === participant.role) return;
  const result = await active.session.setRole(participant.userId, picked.role);
  if (result.ok) void vscode.window.showInformationMessage(`Collab: ${participant.username} is now ${picked.role === 'editor' ? 'an editor' : 'a viewer'}.`);
  else void vscode.window.showErrorMessage(`Collab: cannot change the role: ${result.error.message}`);
}

/** Remove Participant. */
export async function removeParticipant(manager: SessionManager, arg?: unknown): Promise<void> {
  const active = ownerSession(manager);
  if (!active) return;
  const participant = await pickParticipant(active, arg, 'Remove a participant');
  if (!participant) return;
  const confirm = await vscode.window.showWarningMessage(`Remove ${participant.username} from the room? They would have to ask to join again.`, { modal: true }, 'Remove');
  if (confirm !== 'Remove') return;
  const result = await active.session.removeParticipant(participant.userId);
  if (result.ok) void vscode.window.showInformationMessage(`Collab: ${participant.username} was removed.`);
  else void vscode.window.showErrorMessage(`Collab: cannot remove ${participant.username}: ${result.error.message}`);
}

/** Copy Room ID. */
export async function copyRoomId(manager: SessionManager): Promise<void> {
  const active = manager.current;
  if (!active) {
    void vscode.window.showInformationMessage('Collab: you are not in a session.');
    return;
  }
  await vscode.env.clipboard.writeText(active.roomId);
  const choice = await vscode.window.showInformationMessage(`Collab: room ID copied: ${active.roomId}`, 'Copy Join Link');
  if (choice === 'Copy Join Link') await vscode.env.clipboard.writeText(joinLink(active.roomId, vscode.env.uriScheme));
}
