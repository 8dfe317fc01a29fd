/**
 * Every command the extension contributes, with its title. `package.json` `contributes.commands`
 * must list exactly these ids with these titles and the "Collab" category (checked by
 * `commands.test.ts`). This module must not import 'vscode'.
 */
export const CommandId = {
  /** Creates an account on the server and stores its token. */
  SignUp: 'collab.signUp',
  /** Signs in and stores the token. */
  SignIn: 'collab.signIn',
  /** Forgets the stored token. */
  SignOut: 'collab.signOut',
  /** Creates a private room and shares the active file and the files opened afterwards. */
  StartSession: 'collab.startSession',
  /** Shares one file (the active one, or the one picked in the Explorer). */
  ShareFile: 'collab.shareFile',
  /** Shares a folder's text files. */
  ShareFolder: 'collab.shareFolder',
  /** Joins a room by id or join link. */
  JoinSession: 'collab.joinSession',
  /** Leaves the room (membership is kept). */
  LeaveSession: 'collab.leaveSession',
  /** Owner: deletes the room for everyone. */
  EndSession: 'collab.endSession',
  /** Follows a participant's editor (provided by the follow feature). */
  FollowParticipant: 'collab.followParticipant',
  /** Stops following. */
  StopFollowing: 'collab.stopFollowing',
  /** Owner: makes a participant an editor or a viewer. */
  ChangeParticipantRole: 'collab.changeParticipantRole',
  /** Owner: removes a participant from the room. */
  RemoveParticipant: 'collab.removeParticipant',
  /** Copies the room id to the clipboard. */
  CopyRoomId: 'collab.copyRoomId',
  /** Shows the "Collab" output channel. */
  ShowLog: 'collab.showLog',
} as const;

/** One of the contributed command ids. */
export type CommandId = (typeof CommandId)[keyof typeof CommandId];

/** All command ids, in declaration order. */
export const ALL_COMMAND_IDS: readonly CommandId[] = Object.values(CommandId);

/** The title of each command (shown as "Collab: <title>"). */
export const COMMAND_TITLES: Readonly<Record<CommandId, string>> = {
  [CommandId.SignUp]: 'Sign Up',
  [CommandId.SignIn]: 'Sign In',
  [CommandId.SignOut]: 'Sign Out',
  [CommandId.StartSession]: 'Start Session',
  [CommandId.ShareFile]: 'Share File',
  [CommandId.ShareFolder]: 'Share Folder',
  [CommandId.JoinSession]: 'Join Session',
  [CommandId.LeaveSession]: 'Leave Session',
  [CommandId.EndSession]: 'End Session',
  [CommandId.FollowParticipant]: 'Follow Participant',
  [CommandId.StopFollowing]: 'Stop Following',
  [CommandId.ChangeParticipantRole]: 'Change Participant Role',
  [CommandId.RemoveParticipant]: 'Remove Participant',
  [CommandId.CopyRoomId]: 'Copy Room ID',
  [CommandId.ShowLog]: 'Show Log',
};

/** Commands registered but not contributed (not in the Command Palette). */
export const InternalCommandId = {
  /** The status bar item's menu. */
  StatusMenu: 'collab.internal.statusMenu',
} as const;
