/**
 * Every command the extension contributes. `package.json` `contributes.commands` must list exactly
 * these ids (checked by `commands.test.ts`). This module must not import 'vscode'.
 */
export const CommandId = {
  /** Shows the "Collab" output channel. */
  ShowLog: 'collab.showLog',
} as const;

/** One of the contributed command ids. */
export type CommandId = (typeof CommandId)[keyof typeof CommandId];

/** All command ids, in declaration order. */
export const ALL_COMMAND_IDS: readonly CommandId[] = Object.values(CommandId);
