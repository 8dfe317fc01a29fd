/**
 * Reads the `collab.*` settings (VS Code adapter of `config.ts`). The server URL comes from the
 * user's setting when they set one, else from the `COLLAB_SERVER_URL` environment variable, else
 * the default.
 */
import * as vscode from 'vscode';
import {
  SERVER_URL_ENV,
  SETTINGS_SECTION,
  SettingKey,
  excludeGlobs,
  maxFileSizeBytes,
  resolveServerUrl,
  type Settings,
} from './config';

/** The settings in force now. */
export function readSettings(): Settings {
  const config = vscode.workspace.getConfiguration(SETTINGS_SECTION);
  const inspected = config.inspect<string>(SettingKey.ServerUrl);
  const userUrl = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
  return {
    serverUrl: resolveServerUrl(userUrl, process.env[SERVER_URL_ENV]),
    displayName: config.get<string>(SettingKey.DisplayName, '').trim(),
    shareExclude: excludeGlobs(config.get<unknown>(SettingKey.ShareExclude)),
    maxFileSizeBytes: maxFileSizeBytes(config.get<unknown>(SettingKey.ShareMaxFileSizeKB)),
    respectGitignore: config.get<boolean>(SettingKey.ShareRespectGitignore, true),
    shareOpenedFiles: config.get<boolean>(SettingKey.ShareOpenedFiles, true),
    followOwnerAsViewer: config.get<boolean>(SettingKey.FollowOwnerAsViewer, true),
  };
}
