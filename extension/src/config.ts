/**
 * The extension's settings: their keys and defaults (`package.json` `contributes.configuration`
 * must declare the same, checked by `config.test.ts`) and the pure rules for reading them. This
 * module must not import 'vscode'; `vscode-settings.ts` reads the values.
 */

/** Setting keys, without the `collab.` section. */
export const SettingKey = {
  ServerUrl: 'serverUrl',
  DisplayName: 'displayName',
  ShareExclude: 'share.exclude',
  ShareMaxFileSizeKB: 'share.maxFileSizeKB',
  ShareRespectGitignore: 'share.respectGitignore',
  ShareOpenedFiles: 'share.openedFiles',
  FollowOwnerAsViewer: 'followOwnerAsViewer',
} as const;

/** The configuration section of every setting. */
export const SETTINGS_SECTION = 'collab';

/** The default of every setting, by key. */
export const SETTING_DEFAULTS = {
  [SettingKey.ServerUrl]: 'http://127.0.0.1:3000',
  [SettingKey.DisplayName]: '',
  [SettingKey.ShareExclude]: ['**/.env*', '**/node_modules/**', '**/.git/**'],
  [SettingKey.ShareMaxFileSizeKB]: 1024,
  [SettingKey.ShareRespectGitignore]: true,
  [SettingKey.ShareOpenedFiles]: true,
  [SettingKey.FollowOwnerAsViewer]: true,
} as const;

/** The settings, as the rest of the extension uses them. */
export interface Settings {
  /** Base URL of the Collab server, normalised (no trailing slash). */
  readonly serverUrl: string;
  /** Suggested username in the sign-in and sign-up prompts ('' for none). */
  readonly displayName: string;
  /** Globs of files never shared. */
  readonly shareExclude: readonly string[];
  /** Largest file shared, in bytes. */
  readonly maxFileSizeBytes: number;
  /** Whether `.gitignore` files exclude files from sharing. */
  readonly respectGitignore: boolean;
  /** Whether files the host opens during a session are shared automatically. */
  readonly shareOpenedFiles: boolean;
  /** Whether a viewer follows the owner on joining (used by follow mode). */
  readonly followOwnerAsViewer: boolean;
}

/** The environment variable that overrides the default server URL (tests, dev containers). */
export const SERVER_URL_ENV = 'COLLAB_SERVER_URL';

/**
 * A server URL in normal form: `http(s)://host[:port][/path]` without a trailing slash, or
 * undefined when `raw` is not an http(s) URL.
 */
export function normalizeServerUrl(raw: string): string | undefined {
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password) return undefined;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

/**
 * The server URL in force: the user's setting when they set one, else the environment override,
 * else the default. An invalid value falls through to the next source.
 */
export function resolveServerUrl(configured: string | undefined, env: string | undefined): string {
  for (const candidate of [configured, env]) {
    if (candidate === undefined) continue;
    const normal = normalizeServerUrl(candidate);
    if (normal) return normal;
  }
  return SETTING_DEFAULTS[SettingKey.ServerUrl];
}

/** A non-negative size limit in KB as bytes (invalid values give the default). */
export function maxFileSizeBytes(kb: unknown): number {
  const n = typeof kb === 'number' && Number.isFinite(kb) && kb > 0 ? kb : SETTING_DEFAULTS[SettingKey.ShareMaxFileSizeKB];
  return Math.floor(n * 1024);
}

/** The exclude globs from a setting value: strings only, blanks dropped. */
export function excludeGlobs(value: unknown): string[] {
  if (!Array.isArray(value)) return [...SETTING_DEFAULTS[SettingKey.ShareExclude]];
  return value.filter((g): g is string => typeof g === 'string' && g.trim() !== '').map((g) => g.trim());
}
