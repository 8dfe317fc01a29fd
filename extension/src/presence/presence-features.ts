/**
 * Wires the presence UI to the session manager: for each session, remote cursor decorations and
 * follow mode (created when the session starts, disposed when it ends), plus the Participants view
 * (which lives as long as the extension).
 */
import * as vscode from 'vscode';
import type { SessionModel } from '../session/session-model';
import { FollowController } from './follow-controller';
import { ParticipantsView } from './participants-view';
import { RemoteCursors } from './remote-cursors';

/** Presence features for whichever session is live. */
export class PresenceFeatures implements vscode.Disposable {
  private readonly view = new ParticipantsView();
  private perSession: vscode.Disposable[] = [];
  private follow: FollowController | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(current: SessionModel | undefined, onDidChangeSession: vscode.Event<SessionModel | undefined>) {
    this.subscription = onDidChangeSession((model) => this.setSession(model));
    this.setSession(current);
  }

  /** The live session's follow mode, if any. */
  get followController(): FollowController | undefined {
    return this.follow;
  }

  dispose(): void {
    this.subscription.dispose();
    this.clear();
    this.view.dispose();
  }

  private clear(): void {
    for (const d of this.perSession.splice(0)) d.dispose();
    this.follow = undefined;
  }

  private setSession(model: SessionModel | undefined): void {
    this.clear();
    if (model) {
      const follow = new FollowController(model);
      this.follow = follow;
      this.perSession.push(
        new RemoteCursors(model),
        follow,
        follow.onDidChange(() => this.view.refresh()),
        model.onDidEnd(() => this.clear()),
      );
    }
    this.view.setSession(model, () => this.follow?.following);
  }
}
