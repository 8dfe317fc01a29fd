/**
 * The VS Code entry point. Only this layer imports 'vscode'; the logic lives in pure modules
 * (commands.ts, eol.ts, ...) that are tested in plain Node.
 */
import * as vscode from 'vscode';
import { CommandId } from './commands';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Collab', { log: true });
  context.subscriptions.push(log);

  context.subscriptions.push(vscode.commands.registerCommand(CommandId.ShowLog, () => log.show()));

  log.info(`Collab ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
