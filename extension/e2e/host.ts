/**
 * End-to-end host: runs a real VS Code (code-server 4.100.3 = VS Code 1.100.3, Node extension host)
 * and drives its web workbench with playwright-core + Debian's /usr/bin/chromium.
 *
 * One `startVsCode()` = one simulated user: its own code-server process (own free port, user-data-dir,
 * extensions-dir, XDG dirs, config file, settings.json) and its own headless Chromium window. Nothing is
 * written to ~. Install the host first with `bash extension/e2e/vscode-host/install.sh`.
 *
 * This file is compiled by extension/e2e/tsconfig.json to extension/dist/e2e/host.js. It is not a
 * `*.test.js` file, so the root test runner does not load it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  accessSync,
  constants as fsConstants,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';

// ---------------------------------------------------------------------------------------------------
// Paths

function findExtensionRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'collab-vscode') return dir;
      } catch {
        // keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`e2e: cannot find the collab-vscode package above ${__dirname}`);
    dir = parent;
  }
}

/** extension/ (the collab-vscode package). */
export const EXTENSION_ROOT = findExtensionRoot();
/** The repository root (the npm workspaces root). */
export const REPO_ROOT = path.dirname(EXTENSION_ROOT);
/** Where screenshots and other artifacts go (git-ignored). */
export const OUTPUT_DIR = process.env.COLLAB_E2E_OUTPUT_DIR ?? path.join(REPO_ROOT, 'output', 'e2e');
/** The folder install.sh installs code-server into. */
export const HOST_DIR = process.env.COLLAB_E2E_HOST_DIR ?? path.join(EXTENSION_ROOT, 'e2e', 'vscode-host');
/** Chromium to drive (Debian's package; Playwright downloads no browser). */
export const CHROMIUM_PATH = process.env.COLLAB_E2E_CHROMIUM ?? '/usr/bin/chromium';

const CODE_SERVER_ENTRY = path.join(HOST_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const INSTALL_COMMAND = 'bash extension/e2e/vscode-host/install.sh';

/** The code-server version pinned in vscode-host/package.json. */
export function pinnedCodeServerVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(HOST_DIR, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const version = pkg.dependencies?.['code-server'];
  if (!version) throw new Error(`e2e: ${HOST_DIR}/package.json does not pin code-server`);
  return version;
}

// ---------------------------------------------------------------------------------------------------
// Availability (for skip-with-reason)

/**
 * `reason`: what is missing, one line. `fix`: the command that fixes it (e.g. the install script).
 * Print both with `describeUnavailable()`: "<reason> (run <fix>)".
 */
export type E2eAvailability = { ok: true } | { ok: false; reason: string; fix: string };

/** "<reason> (run <fix>)" for a failed availability check. */
export function describeUnavailable(availability: { reason: string; fix: string }): string {
  return `${availability.reason} (run ${availability.fix})`;
}

/**
 * Whether the e2e tests can run here: Chromium, the installed code-server host (its `.installed`
 * stamp matches the pinned version and this Node's ABI) and playwright-core. Cheap; no process starts.
 */
export function e2eAvailability(): E2eAvailability {
  try {
    accessSync(CHROMIUM_PATH, fsConstants.X_OK);
  } catch {
    const hint = process.env.COLLAB_E2E_CHROMIUM ? ' (set by COLLAB_E2E_CHROMIUM)' : '';
    return { ok: false, reason: `Chromium not found at ${CHROMIUM_PATH}${hint}`, fix: INSTALL_COMMAND };
  }
  let version: string;
  try {
    version = pinnedCodeServerVersion();
  } catch (error) {
    return { ok: false, reason: String(error instanceof Error ? error.message : error), fix: INSTALL_COMMAND };
  }
  const expected = `code-server@${version} node-abi=${process.versions.modules}`;
  const stampFile = path.join(HOST_DIR, '.installed');
  let stamp = '';
  try {
    stamp = readFileSync(stampFile, 'utf8').trim();
  } catch {
    return { ok: false, reason: `the VS Code host (code-server ${version}) is not installed in ${path.relative(REPO_ROOT, HOST_DIR) || HOST_DIR}`, fix: INSTALL_COMMAND };
  }
  if (stamp !== expected) {
    return { ok: false, reason: `the VS Code host stamp is "${stamp}", expected "${expected}"`, fix: INSTALL_COMMAND };
  }
  if (!existsSync(CODE_SERVER_ENTRY)) {
    return { ok: false, reason: `${CODE_SERVER_ENTRY} is missing`, fix: `${INSTALL_COMMAND} --force` };
  }
  try {
    require.resolve('playwright-core');
  } catch {
    return { ok: false, reason: 'playwright-core is not installed', fix: 'npm ci (at the repository root)' };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------------
// Processes

interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..." — comm may contain spaces and parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0] ?? '?', ppid: Number(rest[1]), pgrp: Number(rest[2]) };
}

function allProcs(): ProcStat[] {
  const procs: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) procs.push(stat);
  }
  return procs;
}

/** The pid and all its live descendants (walked by PPID), parents first. */
export function processTree(rootPid: number): number[] {
  const procs = allProcs();
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const out: number[] = [];
  const queue = [rootPid];
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Alive = exists and is not a zombie (a zombie's parent, or init, reaps it; it holds no resources). */
export function isAlive(pid: number): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves/rejects like `promise`, or rejects after `ms`; never leaves a timer behind. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(100);
    alive = alive.filter(isAlive);
  }
  return alive;
}

/**
 * Kills a process and ALL its descendants: collects the tree by PPID first (children are reparented
 * once their parent dies), plus anything still in its process group, sends SIGTERM, waits, then
 * SIGKILLs the leftovers. Resolves to the pids that were still alive after SIGKILL (normally none).
 */
export async function killTree(rootPid: number, graceMs = 5000, debug?: (line: string) => void): Promise<number[]> {
  const group = () => allProcs().filter((p) => p.pgrp === rootPid).map((p) => p.pid);
  const pids = new Set([...processTree(rootPid), ...group()]);
  debug?.(`SIGTERM to ${[...pids].map(describePid).join(', ')}`);
  for (const pid of pids) signal(pid, 'SIGTERM');
  let alive = await waitGone([...pids], graceMs);
  // Anything spawned meanwhile (still in the group, or a child of a survivor).
  for (const pid of [...group(), ...alive.flatMap((p) => processTree(p))]) pids.add(pid);
  alive = [...pids].filter(isAlive);
  if (alive.length > 0) debug?.(`SIGKILL to ${alive.map(describePid).join(', ')}`);
  for (const pid of alive) signal(pid, 'SIGKILL');
  return waitGone(alive, 3000);
}

function describePid(pid: number): string {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const type = cmd.find((arg) => arg.startsWith('--type='));
    return `${pid} (${path.basename(cmd[1] ?? cmd[0] ?? '?')}${type ? ` ${type}` : ''})`;
  } catch {
    return `${pid}`;
  }
}

/** Pids of processes whose command line contains `needle` (e.g. a Chromium profile dir). */
function pidsWithArg(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle) && isAlive(Number(name))) found.push(Number(name));
    } catch {
      // gone
    }
  }
  return found;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; tiny race until code-server binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!port) throw new Error('e2e: could not get a free port');
  return port;
}

// ---------------------------------------------------------------------------------------------------
// Starting a host

/** Settings every e2e user-data-dir starts with (quiet, no trust prompt, no welcome/AI/chat). */
export const DEFAULT_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'editor.minimap.enabled': false,
  'window.commandCenter': false,
};

export interface StartVsCodeOptions {
  /** Label of this user/window: used in temp dir names and error messages. */
  name: string;
  /** The folder VS Code opens (created if missing). */
  workspaceDir: string;
  /**
   * An unpacked extension folder to install by symlink as `<publisher>.<name>-<version>` in the
   * extensions dir. Default: our extension (extension/). Pass `null` for none.
   */
  extensionDevelopmentPath?: string | null;
  /**
   * .vsix files to install with `code-server --install-extension` (same isolated dirs) before the
   * server starts. Usually combined with `extensionDevelopmentPath: null`. `extensionId` is then
   * taken from the first installed package.
   */
  vsix?: string[];
  /** Extra environment for code-server, inherited by the extension host. */
  env?: Record<string, string>;
  /** Merged over DEFAULT_SETTINGS into <user-data-dir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Parent for this host's state dirs. Default: a fresh dir under os.tmpdir(). */
  stateDir?: string;
  /** Keep the state dirs (logs, profile) after stop(). Default: env COLLAB_E2E_KEEP=1. */
  keepState?: boolean;
  /** Browser viewport. Default 1280x800. */
  viewport?: { width: number; height: number };
  /** Timeout for startup (server + workbench + Explorer). Default 60 s. */
  timeoutMs?: number;
}

export interface VsCodeHost {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly page: Page;
  readonly context: BrowserContext;
  readonly workspaceDir: string;
  readonly stateDir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** code-server's wrapper pid (its descendants: server, file watcher, extension host, pty host). */
  readonly pid: number;
  /** Identifier of the installed development extension, e.g. "collab.collab-vscode". */
  readonly extensionId: string | undefined;
  /** code-server's stdout+stderr so far. */
  serverOutput(): string;
  /** Browser console errors and page errors so far. */
  browserErrors(): string[];
  /** Waits until the extension host log says the extension was activated (throws on activation error). */
  waitForActivation(extensionId?: string, timeoutMs?: number): Promise<void>;
  /** Closes the browser and kills code-server with all its descendants. Idempotent. */
  stop(): Promise<void>;
}

const liveHosts = new Set<VsCodeHost>();
const livePids = new Set<number>();

// Last resort if the test process dies without stop(): synchronously kill the process groups.
process.on('exit', () => {
  for (const pid of livePids) signal(-pid, 'SIGKILL');
});

/** Stops every host started by this process (for signal handlers and after-all hooks). */
export async function stopAllHosts(): Promise<void> {
  await Promise.all([...liveHosts].map((host) => host.stop()));
}

function readExtensionManifest(dir: string): { publisher: string; name: string; version: string; main?: string } {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    publisher?: string;
    name?: string;
    version?: string;
    main?: string;
  };
  if (!manifest.publisher || !manifest.name || !manifest.version) {
    throw new Error(`e2e: ${dir}/package.json lacks publisher/name/version`);
  }
  return { publisher: manifest.publisher, name: manifest.name, version: manifest.version, ...(manifest.main ? { main: manifest.main } : {}) };
}

/**
 * The palette title of a contributed command ("Category: Title"), read from the extension's
 * package.json, e.g. contributedCommandTitle('collab.showLog') === 'Collab: Show Log'.
 */
export function contributedCommandTitle(commandId: string, extensionDir = EXTENSION_ROOT): string {
  const manifest = JSON.parse(readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as {
    contributes?: { commands?: { command: string; title: string; category?: string }[] };
  };
  const entry = manifest.contributes?.commands?.find((c) => c.command === commandId);
  if (!entry) throw new Error(`e2e: ${commandId} is not in ${extensionDir}/package.json contributes.commands`);
  return entry.category ? `${entry.category}: ${entry.title}` : entry.title;
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    // Do not leak a surrounding VS Code / Electron session into ours.
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE' || key.startsWith('npm_')) continue;
    env[key] = value;
  }
  return env;
}

async function waitForHealthz(url: string, child: ChildProcess, deadline: number, output: () => string): Promise<void> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`code-server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output().slice(-4000)}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz in time:\n${output().slice(-4000)}`);
    await sleep(150);
  }
}

let bundleChecked = false;

/**
 * When our extension's package.json "main" points at the esbuild bundle (out/...), rebuilds that bundle
 * once per process (`node extension/esbuild.mjs --production`, well under a second), so the hosts run the
 * current sources, exactly as packaged (esbuild compiles extension/, protocol/ and client/ from their
 * TypeScript sources; it does not type-check: `npm run build` does). COLLAB_E2E_NO_BUNDLE=1 skips this.
 */
export function ensureBundle(): void {
  if (bundleChecked || process.env.COLLAB_E2E_NO_BUNDLE === '1') return;
  const { main } = readExtensionManifest(EXTENSION_ROOT);
  if (main && path.resolve(EXTENSION_ROOT, main).startsWith(path.join(EXTENSION_ROOT, 'out') + path.sep)) {
    const result = spawnSync(process.execPath, [path.join(EXTENSION_ROOT, 'esbuild.mjs'), '--production'], {
      cwd: EXTENSION_ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    if (result.status !== 0) {
      throw new Error(`e2e: bundling the extension failed (node extension/esbuild.mjs --production, exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
    }
  }
  bundleChecked = true;
}

/** The code-server command line that runs with a host's isolated dirs (for CLI calls such as --install-extension). */
function codeServerCli(dirs: { userDataDir: string; extensionsDir: string; configFile: string }): string[] {
  return [CODE_SERVER_ENTRY, '--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir, '--config', dirs.configFile];
}

/**
 * Installs a .vsix into an extensions dir with `code-server --install-extension` (no server runs) and
 * returns the installed extension's id ("publisher.name"), read from the folder it created.
 */
export function installVsix(
  vsix: string,
  dirs: { userDataDir: string; extensionsDir: string; configFile: string; env?: Record<string, string> },
): string {
  const file = path.resolve(vsix);
  if (!existsSync(file)) throw new Error(`e2e: ${file} does not exist (npm run package)`);
  const before = new Set(readdirSync(dirs.extensionsDir));
  mkdirSync(path.dirname(dirs.configFile), { recursive: true });
  if (!existsSync(dirs.configFile)) writeFileSync(dirs.configFile, 'auth: none\ncert: false\n');
  const result = spawnSync(process.execPath, [...codeServerCli(dirs), '--install-extension', file], {
    encoding: 'utf8',
    env: { ...cleanEnv(), ...dirs.env },
    timeout: 60_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 || !/was successfully installed/.test(output)) {
    throw new Error(`e2e: code-server --install-extension ${file} failed (exit ${result.status ?? result.signal}):\n${output}`);
  }
  const added = readdirSync(dirs.extensionsDir).filter((name) => !before.has(name) && !name.startsWith('.') && name !== 'extensions.json');
  for (const name of added) {
    const manifestFile = path.join(dirs.extensionsDir, name, 'package.json');
    if (existsSync(manifestFile)) {
      const manifest = readExtensionManifest(path.dirname(manifestFile));
      return `${manifest.publisher}.${manifest.name}`;
    }
  }
  throw new Error(`e2e: ${file} installed, but no new extension folder appeared in ${dirs.extensionsDir}:\n${output}`);
}

/**
 * Starts an isolated code-server and a headless Chromium window on it, opens `workspaceDir`, and waits
 * for the workbench and the Explorer. Always call `stop()` (also on failure paths: use try/finally).
 */
export async function startVsCode(options: StartVsCodeOptions): Promise<VsCodeHost> {
  const availability = e2eAvailability();
  if (!availability.ok) throw new Error(`e2e host unavailable: ${describeUnavailable(availability)}`);
  const { chromium } = await import('playwright-core');

  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const safeName = options.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const stateDir = options.stateDir
    ? (mkdirSync(options.stateDir, { recursive: true }), mkdtempSync(path.join(options.stateDir, `${safeName}-`)))
    : mkdtempSync(path.join(os.tmpdir(), `collab-e2e-${safeName}-`));
  const keepState = options.keepState ?? process.env.COLLAB_E2E_KEEP === '1';
  const dir = (sub: string) => {
    const full = path.join(stateDir, sub);
    mkdirSync(full, { recursive: true });
    return full;
  };
  const userDataDir = dir('user-data');
  const extensionsDir = dir('extensions');
  const xdg = { XDG_CONFIG_HOME: dir('xdg-config'), XDG_DATA_HOME: dir('xdg-data'), XDG_CACHE_HOME: dir('xdg-cache') };
  const profileDir = dir('chromium-profile');
  const browserXdg = { XDG_CONFIG_HOME: dir('chromium-xdg/config'), XDG_CACHE_HOME: dir('chromium-xdg/cache'), XDG_DATA_HOME: dir('chromium-xdg/data') };
  const workspaceDir = path.resolve(options.workspaceDir);
  mkdirSync(workspaceDir, { recursive: true });

  // Settings.
  mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...options.settings }, null, 2),
  );

  const cleanupState = () => {
    if (!keepState) rmSync(stateDir, { recursive: true, force: true });
  };

  // Extension, installed by symlink (no copy, no registration; require() resolves from the real path).
  let extensionId: string | undefined;
  const devPath = options.extensionDevelopmentPath === undefined ? EXTENSION_ROOT : options.extensionDevelopmentPath;
  if (devPath !== null) {
    const real = path.resolve(devPath);
    if (real === EXTENSION_ROOT) ensureBundle();
    const manifest = readExtensionManifest(real);
    if (manifest.main && !existsSync(path.resolve(real, manifest.main)) && !existsSync(path.resolve(real, `${manifest.main}.js`))) {
      throw new Error(`e2e: ${manifest.main} of ${real} does not exist (build first: npm run build && npm run bundle -w extension)`);
    }
    extensionId = `${manifest.publisher}.${manifest.name}`;
    symlinkSync(real, path.join(extensionsDir, `${extensionId}-${manifest.version}`), 'dir');
  }
  // Packaged extensions, installed the way a user would (code-server --install-extension).
  for (const vsix of options.vsix ?? []) {
    try {
      const installed = installVsix(vsix, { userDataDir, extensionsDir, configFile: path.join(xdg.XDG_CONFIG_HOME, 'code-server', 'config.yaml'), env: xdg });
      extensionId ??= installed;
    } catch (error) {
      cleanupState();
      throw error;
    }
  }

  // code-server, in its own session/process group (detached = setsid).
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = path.join(xdg.XDG_CONFIG_HOME, 'code-server', 'config.yaml');
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const logPath = path.join(stateDir, 'code-server.log');
  const logStream = createWriteStream(logPath);
  let output = '';
  const child = spawn(
    process.execPath,
    [
      CODE_SERVER_ENTRY,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      '--config', configFile,
      workspaceDir,
    ],
    { env: { ...cleanEnv(), ...xdg, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: stateDir },
  );
  const pid = child.pid;
  if (pid === undefined) {
    cleanupState();
    throw new Error('e2e: could not spawn code-server');
  }
  livePids.add(pid);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-200_000);
      logStream.write(chunk);
    });
  }

  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const browserErrors: string[] = [];
  let stopped: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const t0 = Date.now();
      const debug = (what: string) => {
        if (process.env.COLLAB_E2E_DEBUG) console.error(`e2e[${options.name}] stop: ${what} +${Date.now() - t0} ms`);
      };
      // 1. Browser: close the context (ends Chromium), then kill anything left on our profile dir.
      if (context) {
        await withTimeout(context.close(), 10_000).catch(() => undefined);
        debug('browser context closed');
      }
      const strayBrowser = pidsWithArg(profileDir);
      for (const p of strayBrowser) signal(p, 'SIGTERM');
      const browserLeft = await waitGone(strayBrowser, 3000);
      for (const p of browserLeft) signal(p, 'SIGKILL');
      // 2. code-server and all its descendants.
      debug('stray browser processes gone');
      const left = await killTree(pid, 5000, debug);
      debug('code-server tree gone');
      livePids.delete(pid);
      liveHosts.delete(host);
      await new Promise<void>((resolve) => logStream.end(resolve));
      if (left.length > 0) console.error(`e2e[${options.name}]: processes survived SIGKILL: ${left.join(', ')}`);
      cleanupState();
    })();
    return stopped;
  };

  const host: VsCodeHost = {
    name: options.name,
    port,
    url,
    get page(): Page {
      if (!page) throw new Error('e2e: page not ready');
      return page;
    },
    get context(): BrowserContext {
      if (!context) throw new Error('e2e: browser not started');
      return context;
    },
    workspaceDir,
    stateDir,
    userDataDir,
    extensionsDir,
    pid,
    extensionId,
    serverOutput: () => output,
    browserErrors: () => [...browserErrors],
    waitForActivation: (id = extensionId, ms = 30_000) => {
      if (!id) throw new Error('e2e: no extension id to wait for');
      return waitForActivationInLog(userDataDir, id, ms);
    },
    stop,
  };
  liveHosts.add(host);

  try {
    await waitForHealthz(url, child, deadline, () => output);

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      env: { ...cleanEnv(), ...browserXdg },
      viewport: options.viewport ?? { width: 1280, height: 800 },
      timeout: Math.max(5000, deadline - Date.now()),
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') browserErrors.push(message.text());
    });
    page.on('pageerror', (error) => browserErrors.push(String(error)));

    await page.goto(`${url}/?folder=${encodeURI(workspaceDir)}`, { timeout: Math.max(5000, deadline - Date.now()) });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: Math.max(1000, deadline - Date.now()) });
    await waitForExplorer(page, workspaceDir, Math.max(1000, deadline - Date.now()));
    return host;
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`e2e[${options.name}]: startup failed: ${message}\n--- code-server output (tail) ---\n${output.slice(-3000)}`);
  }
}

async function waitForExplorer(page: Page, workspaceDir: string, timeoutMs: number): Promise<void> {
  const explorer = page.locator('.explorer-folders-view');
  await explorer.waitFor({ state: 'visible', timeout: timeoutMs });
  const hasEntries = readdirSync(workspaceDir).some((name) => !name.startsWith('.'));
  if (hasEntries) {
    await explorer.locator('.monaco-list-row').first().waitFor({ state: 'visible', timeout: timeoutMs });
  }
}

/** All the extension host logs of a user-data-dir (one per window/reload). */
function extHostLogs(userDataDir: string): string[] {
  const logs = path.join(userDataDir, 'logs');
  if (!existsSync(logs)) return [];
  const files: string[] = [];
  for (const session of readdirSync(logs)) {
    const sessionDir = path.join(logs, session);
    let entries: string[];
    try {
      entries = readdirSync(sessionDir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.startsWith('exthost')) continue;
      const file = path.join(sessionDir, entry, 'remoteexthost.log');
      if (existsSync(file)) files.push(file);
    }
  }
  return files;
}

/**
 * Waits until `<user-data-dir>/logs/* /exthost* /remoteexthost.log` contains
 * "ExtensionService#_doActivateExtension <id>"; throws early if the log reports an activation error.
 * Note: with activationEvents [] the extension activates on its first command, not at startup.
 */
export async function waitForActivationInLog(userDataDir: string, extensionId: string, timeoutMs = 30_000): Promise<void> {
  const started = new RegExp(`ExtensionService#_doActivateExtension ${extensionId.replace(/\./g, '\\.')}\\b`, 'i');
  const failed = new RegExp(`Activating extension.{0,4}${extensionId.replace(/\./g, '\\.')}.{0,4} failed[^\\n]*`, 'i');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const file of extHostLogs(userDataDir)) {
      const text = readFileSync(file, 'utf8');
      const failure = failed.exec(text);
      if (failure) throw new Error(`e2e: ${extensionId} failed to activate: ${failure[0]} (${file})`);
      if (started.test(text)) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`e2e: ${extensionId} not activated within ${timeoutMs} ms (no "_doActivateExtension" in ${userDataDir}/logs/*/exthost*/remoteexthost.log)`);
    }
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------------
// Workbench helpers

const QUICK_INPUT = '.quick-input-widget';

async function openQuickInput(page: Page, key: string): Promise<Locator> {
  const widget = page.locator(QUICK_INPUT);
  await page.keyboard.press(key);
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  return widget.locator('.quick-input-box input');
}

/** The quick-input list row whose label is exactly `label`. */
function quickPickRow(page: Page, label: string): Locator {
  return page
    .locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`)
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) }) });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Picks the row: Enter when it is the focused one, else a click (which also accepts). Then waits until
 * the quick input closed or was reused for a new prompt (a command that opens its own quick pick).
 */
async function acceptRow(page: Page, row: Locator): Promise<void> {
  const first = row.first();
  await first.waitFor({ state: 'visible', timeout: 10_000 });
  const input = page.locator(`${QUICK_INPUT} .quick-input-box input`);
  const before = await input.inputValue();
  const focused = await first.evaluate((el) => el.classList.contains('focused'));
  if (focused) await page.keyboard.press('Enter');
  else await first.click();
  await waitForQuickInputDone(page, before);
}

async function waitForQuickInputDone(page: Page, valueBefore: string, timeoutMs = 10_000): Promise<void> {
  await page.waitForFunction(
    ({ selector, value }) => {
      const widget = document.querySelector<HTMLElement>(selector);
      if (!widget || widget.style.display === 'none' || widget.offsetParent === null) return true;
      const box = widget.querySelector<HTMLInputElement>('.quick-input-box input');
      return !box || box.value !== value;
    },
    { selector: QUICK_INPUT, value: valueBefore },
    { timeout: timeoutMs, polling: 50 },
  );
}

/**
 * Runs a command by its palette title (e.g. "Collab: Show Log"): F1, fill ">Title", pick the row.
 * The palette lists only the commands known when it opens, and right after startup the extensions'
 * contributions may not be registered yet (seen with a .vsix-installed extension): when the row does
 * not show up within a few seconds, it closes the palette and opens it again, until `timeoutMs`.
 */
export async function runCommand(page: Page, title: string, options: { timeoutMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const input = await openQuickInput(page, 'F1');
    await input.fill(`>${title}`);
    const row = quickPickRow(page, title);
    try {
      await row.first().waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(4000, deadline - Date.now())) });
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`e2e: "${title}" is not in the Command Palette (is the extension installed, and its contribution registered?): ${String(error)}`);
      }
      await page.keyboard.press('Escape');
      await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5000 }).catch(() => undefined);
      await sleep(250);
      continue;
    }
    await acceptRow(page, row);
    return;
  }
}

/**
 * Answers the currently open quick input (an input box or a quick pick opened by the extension):
 * waits for it, types `text` and presses Enter. For a quick pick, pass `{ pick: label }` to choose a row.
 */
export async function quickInput(page: Page, text: string, options: { pick?: string; timeoutMs?: number } = {}): Promise<void> {
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: 'visible', timeout: options.timeoutMs ?? 10_000 });
  await widget.locator('.quick-input-box input').fill(text);
  if (options.pick !== undefined) {
    await acceptRow(page, quickPickRow(page, options.pick));
  } else {
    await page.keyboard.press('Enter');
    await waitForQuickInputDone(page, text, options.timeoutMs);
  }
}

/** The quick input's title/prompt/message text (to assert what the extension asked). */
export async function quickInputText(page: Page): Promise<string> {
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  return (await widget.innerText()).trim();
}

/** Opens a workspace file by name with Ctrl+P (Quick Open) and waits for its editor tab to be active. */
export async function openFile(page: Page, name: string): Promise<void> {
  const input = await openQuickInput(page, 'Control+P');
  await input.fill(name);
  const base = path.basename(name);
  await acceptRow(page, quickPickRow(page, base));
  await page
    .locator('.editor-group-container.active .tab.active .label-name', { hasText: base })
    .first()
    .waitFor({ state: 'visible', timeout: 10_000 });
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 10_000 });
}

/** Types into whatever has focus (after openFile: the editor, at the cursor). */
export async function typeText(page: Page, text: string, options: { delayMs?: number } = {}): Promise<void> {
  await page.keyboard.type(text, { delay: options.delayMs ?? 10 });
}

/**
 * The visible lines of the active editor, top to bottom, joined by "\n". Monaco renders only the
 * lines in view (positioned by style.top, spaces as U+00A0), and decoration text is CSS, not text.
 */
export async function readVisibleEditorText(page: Page): Promise<string> {
  const lines = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
  await lines.waitFor({ state: 'visible', timeout: 10_000 });
  return lines.evaluate((root) => {
    const rows = Array.from(root.querySelectorAll<HTMLElement>(':scope > .view-line'));
    rows.sort((a, b) => parseFloat(a.style.top || '0') - parseFloat(b.style.top || '0'));
    return rows.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n');
  });
}

/** Waits for a notification toast containing `text`; resolves to the toast's whole text. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 15_000): Promise<string> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return (await toast.innerText()).trim();
}

/** The texts of the visible status bar items, left to right (e.g. ["Ln 1, Col 1", "Layout: us", ...]). */
export async function statusBarText(page: Page): Promise<string[]> {
  const items = page.locator('.part.statusbar .statusbar-item');
  const texts = await items.evaluateAll((elements) =>
    elements
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .map((el) => ((el as HTMLElement).innerText || el.getAttribute('aria-label') || '').replace(/\s+/g, ' ').trim())
      .filter((text) => text.length > 0),
  );
  return texts;
}

/** The panel's Output view: selected channel name and visible text. */
export async function outputPanel(page: Page): Promise<{ channel: string; text: string }> {
  const panel = page.locator('.part.panel');
  await panel.waitFor({ state: 'visible', timeout: 10_000 });
  const select = panel.locator('select.monaco-select-box').first();
  const channel = (await select.count()) > 0 ? await select.evaluate((el) => {
    const s = el as HTMLSelectElement;
    return s.options[s.selectedIndex]?.text ?? '';
  }) : '';
  const lines = panel.locator('.monaco-editor .view-lines').first();
  const text = (await lines.count()) > 0
    ? await lines.evaluate((root) => {
        const rows = Array.from(root.querySelectorAll<HTMLElement>(':scope > .view-line'));
        rows.sort((a, b) => parseFloat(a.style.top || '0') - parseFloat(b.style.top || '0'));
        return rows.map((row) => (row.textContent ?? '').replace(/\u00a0/g, ' ')).join('\n');
      })
    : '';
  return { channel, text };
}

/** Saves a PNG screenshot of the window (creates the folder). Waits `settleMs` first (toasts animate in). */
export async function screenshot(page: Page, file: string, options: { settleMs?: number } = {}): Promise<string> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  if (options.settleMs ?? 500) await sleep(options.settleMs ?? 500);
  await page.screenshot({ path: file });
  return path.resolve(file);
}

function pngSize(file: string): { width: number; height: number } {
  const header = readFileSync(file).subarray(0, 24);
  if (header.toString('latin1', 1, 4) !== 'PNG') throw new Error(`e2e: ${file} is not a PNG`);
  return { width: header.readUInt32BE(16), height: header.readUInt32BE(20) };
}

/**
 * Composes two PNG screenshots side by side (with optional captions) into `out`, rendered by
 * Chromium itself (an HTML page with both images, screenshotted) — no ImageMagick.
 */
export async function sideBySide(
  pngA: string,
  pngB: string,
  out: string,
  options: { labels?: [string, string]; gap?: number } = {},
): Promise<string> {
  const { chromium } = await import('playwright-core');
  const a = pngSize(pngA);
  const b = pngSize(pngB);
  const gap = options.gap ?? 16;
  const captionHeight = options.labels ? 32 : 0;
  const width = a.width + b.width + gap * 3;
  const height = Math.max(a.height, b.height) + gap * 2 + captionHeight;
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const figure = (file: string, size: { width: number; height: number }, label?: string) =>
    `<figure style="margin:0;width:${size.width}px">` +
    (label !== undefined ? `<figcaption style="height:${captionHeight}px;font:bold 18px sans-serif;color:#eee">${escape(label)}</figcaption>` : '') +
    `<img style="display:block;width:${size.width}px;height:${size.height}px" src="data:image/png;base64,${readFileSync(file).toString('base64')}"></figure>`;
  const html =
    `<!doctype html><html><body style="margin:0;background:#222;display:flex;gap:${gap}px;padding:${gap}px;align-items:flex-start">` +
    figure(pngA, a, options.labels?.[0]) +
    figure(pngB, b, options.labels?.[1]) +
    '</body></html>';
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-compose-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
    env: { ...cleanEnv(), XDG_CONFIG_HOME: path.join(scratch, 'config'), XDG_CACHE_HOME: path.join(scratch, 'cache') },
  });
  try {
    const page = await browser.newPage({ viewport: { width, height } });
    await page.setContent(html, { waitUntil: 'load' });
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
  } finally {
    await browser.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  return path.resolve(out);
}
