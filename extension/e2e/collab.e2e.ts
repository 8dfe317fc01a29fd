/**
 * Collaboration end-to-end scenarios: a real backend (node backend/dist/main.js, started and killed
 * by PID here) and two or three real VS Code windows (code-server), one per user:
 *   alice (A, host), bob (B, editor), carol (C, viewer).
 * Each scenario ends with a side-by-side screenshot in output/e2e/collab-<scenario>.png.
 * The "server's copy" of a file is read by a fresh headless @collab/client connection (as alice).
 *
 * Scenarios share one backend and one set of windows and run in order (each builds on the last).
 *   npx mocha --timeout 300000 extension/dist/e2e/collab.e2e.js   or   node scripts/run-e2e.mjs --grep collab
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import {
  OUTPUT_DIR,
  REPO_ROOT,
  describeUnavailable,
  e2eAvailability,
  freePort,
  openFile,
  quickInput,
  readVisibleEditorText,
  runCommand,
  screenshot,
  sideBySide,
  startVsCode,
  statusBarText,
  stopAllHosts,
  typeText,
  type VsCodeHost,
} from './host';

const PASSWORD = 'correct horse battery staple';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(200);
  }
}

async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts();
}

async function clickNotificationButton(page: Page, text: string, button: string): Promise<void> {
  const toast = page.locator('.notifications-toasts .notification-toast').filter({ hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: 20_000 });
  await toast.locator('a.monaco-button', { hasText: button }).first().click();
}

/** Editor text as Monaco shows it, normalised (no trailing blank lines / spaces). */
const norm = (text: string) => text.replace(/\r\n/g, '\n').split('\n').map((l) => l.replace(/\s+$/, '')).join('\n').replace(/\n+$/, '');
const editorText = async (page: Page) => norm(await readVisibleEditorText(page));

interface HeadlessClient {
  joinRoom(roomId: string): Promise<{ files: { id: string; path: string }[] }>;
  openFile(roomId: string, fileId: string): Promise<{ text: string }>;
  close(): void;
}

class Backend {
  private child: ChildProcess | undefined;
  readonly dataDir = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-backend-'));
  constructor(readonly port: number) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /** Starts (or restarts) the backend; `env` overrides, e.g. another JWT_SECRET or a short JWT_TTL_SECONDS. */
  start(env: Record<string, string> = {}): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(REPO_ROOT, 'backend', 'dist', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', PORT: String(this.port), DATA_DIR: this.dataDir, JWT_SECRET: 'e2e-'.repeat(10), LOG_LEVEL: 'warn', REGISTRATIONS_PER_HOUR: '1000', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      let out = '';
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (/listening on/.test(out)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`backend exited ${code}: ${out}`)));
    });
  }
  /** Kills our backend by PID (never by name) and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
  async register(username: string): Promise<void> {
    const r = await fetch(`${this.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    if (r.status !== 201) throw new Error(`register ${username}: ${r.status}`);
  }
  /** The server's current text of `filePath` in `roomId`, through a fresh headless client logged in as `username`. */
  async serverText(roomId: string, filePath: string, username = 'alice'): Promise<string> {
    const r = await fetch(`${this.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    const { token } = (await r.json()) as { token: string };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CollabClient } = require(path.join(REPO_ROOT, 'client', 'dist', 'index.js')) as {
      CollabClient: { connect(url: string, token: string): Promise<HeadlessClient> };
    };
    const client = await CollabClient.connect(this.url, token);
    try {
      const joined = await client.joinRoom(roomId);
      const file = joined.files.find((f) => f.path === filePath);
      if (!file) throw new Error(`no ${filePath} in room: ${JSON.stringify(joined.files.map((f) => f.path))}`);
      return norm((await client.openFile(roomId, file.id)).text);
    } finally {
      client.close();
    }
  }
  dispose(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

async function signIn(host: VsCodeHost, user: string): Promise<void> {
  await runCommand(host.page, 'Collab: Sign In');
  await quickInput(host.page, user);
  await quickInput(host.page, PASSWORD);
  await waitFor(`${user} signed in`, async () => (await notifications(host.page)).some((t) => t.includes(`signed in as ${user}`)));
}

/** Guest joins `roomId`; the owner's window allows it with `allow`. Returns the guest's room window. */
async function join(guest: VsCodeHost, owner: Page, roomId: string, as: 'edit' | 'view'): Promise<Page> {
  await runCommand(guest.page, 'Collab: Join Session');
  await quickInput(guest.page, roomId);
  await clickNotificationButton(guest.page, 'is private', `Ask the owner (to ${as})`);
  const popup = guest.context.waitForEvent('page', { timeout: 30_000 });
  await clickNotificationButton(owner, 'asks to join', as === 'edit' ? 'Allow as editor' : 'Allow as viewer');
  const page = await popup;
  await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
  await waitFor(`${guest.name} live`, async () => (await statusBarText(page)).some((t) => /Collab: (live|read-only)/.test(t)), 30_000);
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'hello.txt' }).first();
  await row.waitFor({ state: 'visible', timeout: 20_000 });
  await row.click();
  await waitFor(`${guest.name} sees hello.txt`, async () => (await editorText(page)).includes('Hello from Alice'));
  return page;
}

async function pair(name: string, a: Page, b: Page, labels: [string, string]): Promise<string> {
  const fa = await screenshot(a, path.join(OUTPUT_DIR, `collab-${name}-a.png`));
  const fb = await screenshot(b, path.join(OUTPUT_DIR, `collab-${name}-b.png`));
  const out = await sideBySide(fa, fb, path.join(OUTPUT_DIR, `collab-${name}.png`), { labels });
  rmSync(fa, { force: true });
  rmSync(fb, { force: true });
  return out;
}

/** Every Collab output-channel log file of a user-data-dir (one per extension host: reloads add more). */
function collabLogs(userDataDir: string): string[] {
  const root = path.join(userDataDir, 'logs');
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'Collab.log') found.push(full);
    }
  };
  if (existsSync(root)) walk(root);
  return found;
}

/** Usernames shown as ::before labels (remote cursor decorations) in the page's active editor. */
function labels(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const names = new Set<string>();
    for (const el of Array.from(document.querySelectorAll('.editor-group-container.active .monaco-editor .view-lines span'))) {
      const content = getComputedStyle(el, '::before').content;
      if (content && content !== 'none' && content !== 'normal') names.add(content.replace(/^"|"$/g, ''));
    }
    return [...names];
  });
}

/**
 * Renames an explorer row: a click on it, F2, then the new name, and Enter only once the inline
 * box holds exactly that name (a keystroke can be dropped while the machine is busy; typing again
 * is what a user would do). The explorer refreshes whenever the room's files change (the file
 * system fires `Changed`), which can close the box under our hands: then it starts again from the
 * row, as a user would.
 */
async function renameRow(page: Page, row: () => Locator, name: string): Promise<void> {
  const box = page.locator('.explorer-folders-view .monaco-inputbox input').first();
  for (let attempt = 1; ; attempt++) {
    try {
      await row().click({ timeout: 10_000 });
      await page.keyboard.press('F2');
      await box.waitFor({ state: 'visible', timeout: 10_000 });
      await box.fill(name, { timeout: 5_000 });
      const held = await box.inputValue({ timeout: 5_000 });
      if (held !== name) throw new Error(`the rename box holds "${held}"`);
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
      console.log(`      (rename to ${name}, attempt ${attempt}: ${String(err).split('\n')[0]}; again from the row)`);
      if (await box.isVisible()) await page.keyboard.press('Escape');
    }
  }
}

/** The label of the active editor tab. */
async function activeTab(page: Page): Promise<string> {
  return (await page.locator('.editor-group-container.active .tab.active .label-name').first().innerText()).trim();
}

async function clickEnd(page: Page, key: 'Control+Home' | 'Control+End' | 'End' = 'Control+End'): Promise<void> {
  await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  await page.keyboard.press(key);
}

/** Seconds of concurrent typing in scenario 5. */
const CONCURRENT_SECONDS = Number(process.env.COLLAB_E2E_CONCURRENT_SECONDS ?? 30);

if (typeof describe === 'function') {
  describe('e2e collab: two/three users in real VS Code against a real backend', function () {
    this.timeout(120_000);
    let backend: Backend | undefined;
    let alice: VsCodeHost | undefined;
    let bob: VsCodeHost | undefined;
    let A: Page;
    let B: Page;
    let roomId = '';
    let skipped = false;
    const workspaces: string[] = [];

    before(async function () {
      this.timeout(180_000);
      const availability = e2eAvailability();
      if (!availability.ok) {
        console.log(`    skipped: ${describeUnavailable(availability)}`);
        skipped = true;
        this.skip();
      }
      backend = new Backend(await freePort());
      await backend.start();
      for (const user of ['alice', 'bob', 'carol']) await backend.register(user);
      const aliceWs = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-alice-'));
      const bobWs = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-bob-'));
      workspaces.push(aliceWs, bobWs);
      writeFileSync(path.join(aliceWs, 'hello.txt'), 'Hello from Alice\nsecond line\n');
      writeFileSync(path.join(aliceWs, 'follow-me.txt'), Array.from({ length: 300 }, (_, i) => `follow line ${i + 1}`).join('\n') + '\n');
      writeFileSync(path.join(bobWs, 'bob-notes.md'), '# bob\n');
      const settings = { 'collab.serverUrl': backend.url };
      [alice, bob] = await Promise.all([
        startVsCode({ name: 'alice', workspaceDir: aliceWs, settings }),
        startVsCode({ name: 'bob', workspaceDir: bobWs, settings }),
      ]);
      A = alice.page;
      await signIn(alice, 'alice');
      await signIn(bob, 'bob');
    });

    after(async () => {
      await stopAllHosts();
      await backend?.kill();
      backend?.dispose();
      for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
    });

    // The scenarios build on each other: after one fails, the later ones are skipped.
    let broken = false;
    const step = (title: string, fn: (this: Mocha.Context) => Promise<void>) =>
      it(title, async function () {
        if (skipped || broken) this.skip();
        const started = Date.now();
        broken = true;
        try {
          await fn.call(this);
        } catch (error) {
          // Keep what both windows showed when it failed (a CI artifact like the others).
          const slug = title.split('.')[0]!.trim();
          if (A && B) await pair(`failed-${slug}`, A, B, ['alice (host) at the failure', 'bob (guest) at the failure']).catch(() => undefined);
          throw error;
        }
        broken = false;
        console.log(`      (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      });

    step('1. A starts a session, B joins by room ID (A approves), both see the file', async () => {
      await openFile(A, 'hello.txt');
      await runCommand(A, 'Collab: Start Session');
      const started = await waitFor('session started', async () => (await notifications(A)).find((t) => /session started/i.test(t)));
      roomId = /Room ID[^:]*:\s*([A-Za-z0-9_-]{22,64})/.exec(started)![1]!;
      await runCommand(A, 'Collab: Share Folder');
      await waitFor('share summary', async () => (await notifications(A)).find((t) => /Shared \d+ file|No file was shared/.test(t)), 30_000);
      B = await join(bob!, A, roomId, 'edit');
      assert.equal(await editorText(B), await editorText(A));
      await pair('1-join', A, B, ['alice (host)', 'bob (guest)']);
    });

    step('2. A types, B sees it; B types, A sees it', async () => {
      await clickEnd(A, 'Control+Home');
      await typeText(A, '>> ');
      await waitFor('B sees A typing', async () => (await editorText(B)).startsWith('>> Hello from Alice'));
      await clickEnd(B, 'Control+End');
      await typeText(B, 'bob was here');
      await waitFor('A sees B typing', async () => (await editorText(A)).includes('bob was here'));
      const text = await waitFor('converged', async () => {
        const a = await editorText(A);
        return a === (await editorText(B)) ? a : undefined;
      });
      assert.equal(await waitFor('server copy', async () => ((await backend!.serverText(roomId, 'hello.txt')) === text ? text : undefined)), text);
      await pair('2-typing', A, B, ['alice (host)', 'bob (guest)']);
    });

    step("3. A's cursor decoration (name label) appears in B's editor at the right character, and B's in A's", async () => {
      /**
       * Where `name`'s label sits in the page's active editor: its visible line (0-based, the editor
       * scrolled to the top) and the gap in pixels between the label's anchor and character `column`
       * of that line as Monaco lays it out.
       */
      const labelPlace = (page: Page, name: string, column: number) =>
        page.evaluate(
          ({ name, column }) => {
            const root = document.querySelector('.editor-group-container.active .monaco-editor .view-lines');
            if (!root) return undefined;
            const lines = Array.from(root.querySelectorAll<HTMLElement>(':scope > .view-line')).sort((a, b) => parseFloat(a.style.top || '0') - parseFloat(b.style.top || '0'));
            for (let index = 0; index < lines.length; index++) {
              const line = lines[index]!;
              const tag = Array.from(line.querySelectorAll('span')).find((el) => getComputedStyle(el, '::before').content === JSON.stringify(name));
              if (!tag) continue;
              // The x of `column`: walk the line's text nodes (decorations add none: their text is CSS).
              const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
              let left = 0;
              for (let node = walker.nextNode(), seen = 0; node; node = walker.nextNode()) {
                const length = node.textContent?.length ?? 0;
                if (seen + length >= column) {
                  const range = document.createRange();
                  range.setStart(node, column - seen);
                  range.collapse(true);
                  left = range.getBoundingClientRect().left;
                  break;
                }
                seen += length;
              }
              return { line: index, gapPx: Math.abs(tag.getBoundingClientRect().left - left) };
            }
            return undefined;
          },
          { name, column },
        );
      // A puts the caret on line 2 after "sec" ("sec|ond line"): B draws alice's caret right there.
      await clickEnd(A, 'Control+Home');
      await A.keyboard.press('ArrowDown');
      await A.keyboard.press('Home');
      for (let i = 0; i < 3; i++) await A.keyboard.press('ArrowRight');
      await waitFor("alice's cursor label in B", async () => (await labels(B)).includes('alice'));
      const place = await waitFor("alice's caret at line 2, column 3 in B", async () => {
        const found = await labelPlace(B, 'alice', 3);
        return found && found.line === 1 && found.gapPx <= 2 ? found : undefined;
      });
      console.log(`      alice's caret in B: line ${place.line + 1}, ${place.gapPx.toFixed(1)} px from column 3`);
      await clickEnd(B, 'Control+Home');
      await B.keyboard.press('ArrowDown');
      await B.keyboard.press('End');
      await waitFor("bob's cursor label in A", async () => (await labels(A)).includes('bob'));
      await pair('3-cursors', A, B, ['alice (host): sees bob’s cursor', 'bob (guest): sees alice’s cursor']);
    });

    step(`5. A and B type concurrently into the same line for ${CONCURRENT_SECONDS} s and end identical to the server`, async () => {
      await clickEnd(A, 'Control+Home');
      await A.keyboard.press('End');
      await clickEnd(B, 'Control+Home');
      await B.keyboard.press('End');
      const until = Date.now() + CONCURRENT_SECONDS * 1000;
      const typer = async (page: Page, word: string) => {
        let n = 0;
        while (Date.now() < until) await typeText(page, `${word}${n++ % 10}`, { delayMs: 40 });
        return n;
      };
      const [na, nb] = await Promise.all([typer(A, 'a'), typer(B, 'b')]);
      const text = await waitFor(
        'A, B and the server converge',
        async () => {
          const a = await editorText(A);
          const b = await editorText(B);
          if (a !== b) return undefined;
          return (await backend!.serverText(roomId, 'hello.txt')) === a ? a : undefined;
        },
        30_000,
      );
      const first = text.split('\n')[0]!;
      console.log(`      A typed ${na} chunks, B ${nb}; line 1 is ${first.length} chars: ${JSON.stringify(first.slice(0, 120))}…`);
      // Concurrent inserts at the same place may interleave, so count characters: nothing lost, nothing doubled.
      const count = (re: RegExp) => (first.match(re) ?? []).length; // line 1 was ">> Hello from Alice"
      console.log(`      line 1 holds a×${count(/a/g)} b×${count(/b/g)} digits×${count(/\d/g)}; full: ${JSON.stringify(first)}`);
      // Fixed 2026-11-26 (document-port.ts): VS Code re-shaped our applyEdit on the active editor and
      // dropped its version check, so a keystroke racing it got its echo taken for typing and sent back.
      const counts = { a: count(/a/g), b: count(/b/g), digits: count(/\d/g) };
      assert.deepEqual(counts, { a: na, b: nb, digits: na + nb }, 'keystrokes lost or duplicated');
      await A.keyboard.press('Home');
      await B.keyboard.press('Home');
      await pair('5-concurrent', A, B, ['alice (host)', 'bob (guest)']);
    });

    step('4. viewer C cannot type (editor and server copy unchanged) and follows A across files and down to A’s caret', async function () {
      this.timeout(150_000);
      const carolWs = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-carol-'));
      workspaces.push(carolWs);
      const carol = await startVsCode({ name: 'carol', workspaceDir: carolWs, settings: { 'collab.serverUrl': backend!.url } });
      try {
        await signIn(carol, 'carol');
        // Carol pastes a join link rather than the bare room ID.
        const C = await join(carol, A, `vscode://collab.collab-vscode/join?room=${roomId}`, 'view');
        const before = await backend!.serverText(roomId, 'hello.txt');
        await waitFor('C up to date', async () => (await editorText(C)) === before);
        await clickEnd(C, 'Control+Home');
        await typeText(C, 'viewer typing');
        await C.keyboard.press('Enter');
        await sleep(2000);
        assert.equal(await editorText(C), before, "the viewer's editor changed");
        assert.equal(await backend!.serverText(roomId, 'hello.txt'), before, "the server's copy changed");
        assert.equal(await editorText(A), before);
        // The viewer still receives edits.
        await clickEnd(A, 'Control+End');
        await typeText(A, ' alice again');
        await waitFor('C sees A typing', async () => (await editorText(C)).includes('alice again'));
        await pair('4-viewer', A, C, ['alice (host)', 'carol (viewer)']);
        // Viewers follow the owner by default: A switches files and jumps far down; C's editor goes along.
        assert.ok((await statusBarText(C)).some((t) => /following alice/i.test(t)), 'the viewer follows the owner by default');
        await openFile(A, 'follow-me.txt');
        await waitFor('C follows A into follow-me.txt', async () => (await activeTab(C)) === 'follow-me.txt' && (await editorText(C)).startsWith('follow line 1'), 20_000);
        await A.keyboard.press('Control+g');
        await A.keyboard.type('250');
        await A.keyboard.press('Enter');
        await waitFor('A shows line 250', async () => (await editorText(A)).includes('follow line 250'));
        await waitFor("C keeps A's caret in view (line 250)", async () => (await editorText(C)).includes('follow line 250'), 20_000);
        await pair('4-follow', A, C, ['alice (host): follow-me.txt, line 250', 'carol (viewer): following alice']);
        await openFile(A, 'hello.txt');
        await waitFor('C follows A back to hello.txt', async () => (await activeTab(C)) === 'hello.txt', 20_000);
        // The Participants view (A): everyone, with role and the file they are in.
        await runCommand(A, 'Collab: Focus on Participants View');
        const rows = A.locator('.pane', { hasText: 'Participants' }).locator('.monaco-list-row');
        await waitFor('A lists alice (owner), bob (editor) and carol (viewer, in hello.txt)', async () => {
          const texts = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
          return (
            texts.some((t) => /alice \(you\)/.test(t) && /owner/.test(t)) &&
            texts.some((t) => /bob/.test(t) && /editor/.test(t)) &&
            texts.some((t) => /carol/.test(t) && /viewer/.test(t) && /hello\.txt/.test(t))
          );
        });
        await pair('4-participants', A, C, ['alice (host): Participants view', 'carol (viewer)']);
        // Promoted, C can type without rejoining; demoted, C is read-only again at once.
        await runCommand(A, 'Collab: Change Participant Role');
        await quickInput(A, 'carol', { pick: 'carol' });
        await quickInput(A, 'Editor', { pick: 'Editor' });
        await waitFor('C live as an editor', async () => (await statusBarText(C)).some((t) => /Collab: live/.test(t)), 20_000);
        // The status bar turns at the role change; the open editor turns writable only once VS Code
        // has re-read the file's permissions (the file system fires Changed), and until then a
        // read-only editor drops keystrokes. Type a mark until one lands, then the words.
        await clickEnd(C, 'Control+End');
        await waitFor('C’s editor accepts typing', async () => {
          await typeText(C, '+');
          await sleep(250);
          return (await editorText(C)).includes('+');
        }, 20_000);
        await clickEnd(C, 'Control+End');
        await typeText(C, ' carol promoted');
        await waitFor('the server has C’s typing', async () => (await backend!.serverText(roomId, 'hello.txt')).includes('carol promoted'), 20_000);
        // Typing yourself stops following (as in Live Share).
        await waitFor('C stopped following', async () => !(await statusBarText(C)).some((t) => /following alice/i.test(t)), 10_000);
        await waitFor('A sees C’s typing', async () => (await editorText(A)).includes('carol promoted'));
        await runCommand(A, 'Collab: Change Participant Role');
        await quickInput(A, 'carol', { pick: 'carol' });
        await quickInput(A, 'Viewer', { pick: 'Viewer' });
        await waitFor('C read-only again', async () => (await statusBarText(C)).some((t) => /Collab: read-only/.test(t)), 20_000);
        const demoted = await backend!.serverText(roomId, 'hello.txt');
        await clickEnd(C, 'Control+End');
        await typeText(C, ' demoted typing');
        await sleep(2000);
        assert.equal(await backend!.serverText(roomId, 'hello.txt'), demoted, 'a demoted viewer changed the server copy');
        assert.equal(await editorText(C), norm(demoted), "the demoted viewer's editor changed");
        await clickEnd(C, 'Control+Home');
        await waitFor("carol's cursor shown in A (before she leaves)", async () => (await labels(A)).includes('carol'), 10_000);
        await runCommand(A, 'View: Show Explorer');
      } finally {
        await carol.stop();
      }
      // Carol's window is gone: her caret and name leave A's editor.
      await waitFor("carol's cursor cleared in A", async () => !(await labels(A)).includes('carol'), 20_000);
    });

    step("6. B's backend connection drops and returns while B types: nothing is lost", async function () {
      this.timeout(150_000);
      await clickEnd(B, 'Control+End');
      await typeText(B, ' before-drop');
      await waitFor('A sees before-drop', async () => (await editorText(A)).includes('before-drop'));
      await backend!.kill();
      await waitFor('B sees reconnecting', async () => (await statusBarText(B)).some((t) => /reconnecting|offline/i.test(t)), 20_000);
      await clickEnd(B, 'Control+Home');
      await typeText(B, 'OFFLINE ');
      await sleep(1000);
      await backend!.start();
      await clickEnd(B, 'Control+End');
      await typeText(B, ' after-restart');
      const text = await waitFor(
        'converged after the backend came back',
        async () => {
          const a = await editorText(A);
          const b = await editorText(B);
          if (a !== b || !a.startsWith('OFFLINE ') || !a.includes('before-drop') || !a.includes('after-restart')) return undefined;
          return (await backend!.serverText(roomId, 'hello.txt')) === a ? a : undefined;
        },
        60_000,
      );
      assert.match(text, /bob was here/);
      await pair('6-reconnect', A, B, ['alice (host)', 'bob (guest, reconnected)']);
    });

    step("7. B creates, edits, renames and deletes a file in the room: A's disk follows; A renames and deletes one: the room follows", async function () {
      this.timeout(120_000);
      const aliceDir = workspaces[0]!;
      const onDisk = (name: string) => existsSync(path.join(aliceDir, name));
      const explorerRow = (name: string) => B.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
      // Create: select a row in the explorer, then File: New File... (an inline name box in the explorer).
      await explorerRow('hello.txt').click();
      try {
        await runCommand(B, 'File: New File...');
        await B.locator('.explorer-folders-view .monaco-inputbox input').first().waitFor({ state: 'visible', timeout: 10_000 });
      } catch (error) {
        await screenshot(B, path.join(OUTPUT_DIR, 'collab-7-debug.png'));
        throw error;
      }
      await B.keyboard.type('from-bob.txt');
      await B.keyboard.press('Enter');
      await waitFor('B has from-bob.txt open', async () => (await activeTab(B)) === 'from-bob.txt');
      await clickEnd(B, 'Control+End');
      await typeText(B, 'written by bob');
      // A has no editor on it: A's disk copy follows the room's text.
      const diskText = (name: string) => (onDisk(name) ? readFileSync(path.join(aliceDir, name), 'utf8') : '');
      await waitFor("from-bob.txt with B's text on A's disk", async () => diskText('from-bob.txt') === 'written by bob', 20_000);
      // Rename: F2 on the row.
      await renameRow(B, () => explorerRow('from-bob.txt'), 'renamed-by-bob.txt');
      await waitFor("A's disk has the new name only", async () => onDisk('renamed-by-bob.txt') && !onDisk('from-bob.txt'), 20_000);
      await waitFor('B’s editor follows the rename', async () => (await activeTab(B)) === 'renamed-by-bob.txt');
      await clickEnd(B, 'Control+End');
      await typeText(B, ' and renamed');
      await waitFor('the renamed file on A’s disk follows too', async () => diskText('renamed-by-bob.txt').includes('and renamed'), 20_000);
      await pair('7-files', A, B, ['alice (host): renamed-by-bob.txt on disk', 'bob (guest)']);
      // Delete: Delete on the row, confirm.
      await explorerRow('renamed-by-bob.txt').click();
      await B.keyboard.press('Delete');
      await B.locator('.monaco-dialog-box').getByRole('button', { name: /Delete|Move to Trash/ }).first().click();
      await waitFor("gone from A's disk", async () => !onDisk('renamed-by-bob.txt'), 20_000);
      assert.ok(onDisk('hello.txt'));
      // The other way: the host renames, then deletes, a shared file in its explorer; B's room follows.
      const rowIn = (page: Page, name: string) => page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
      await renameRow(A, () => rowIn(A, 'follow-me.txt'), 'followed.txt');
      await waitFor('B’s explorer shows the host’s rename', async () => (await rowIn(B, 'followed.txt').count()) > 0 && (await B.locator('.explorer-folders-view .monaco-list-row', { hasText: 'follow-me.txt' }).count()) === 0, 20_000);
      await rowIn(A, 'followed.txt').click();
      await A.keyboard.press('Delete');
      await A.locator('.monaco-dialog-box').getByRole('button', { name: /Delete|Move to Trash/ }).first().click();
      await waitFor('B’s explorer drops the host’s deleted file', async () => (await B.locator('.explorer-folders-view .monaco-list-row', { hasText: 'followed.txt' }).count()) === 0, 20_000);
      assert.ok(!onDisk('followed.txt'));
      if ((await activeTab(A).catch(() => '')) !== 'hello.txt') await openFile(A, 'hello.txt');
    });

    step("8. A reloads its window while B types: A's session resumes in the same room, nothing lost", async function () {
      this.timeout(150_000);
      await clickEnd(B, 'Control+End');
      await typeText(B, ' before-reload');
      await waitFor('A sees before-reload', async () => (await editorText(A)).includes('before-reload'));
      await runCommand(A, 'Developer: Reload Window');
      await typeText(B, ' while-host-away');
      await A.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await waitFor('A live again', async () => (await statusBarText(A)).some((t) => /Collab: live/.test(t)), 60_000);
      await waitFor('A resumed the room (notification)', async () => (await notifications(A)).some((t) => t.includes(`resumed your session in room ${roomId}`)), 30_000);
      if ((await activeTab(A).catch(() => '')) !== 'hello.txt') await openFile(A, 'hello.txt');
      await waitFor('A shows what B typed while A was away', async () => (await editorText(A)).includes('while-host-away'), 30_000);
      await clickEnd(A, 'Control+End');
      await typeText(A, ' host-back');
      const text = await waitFor(
        'A, B and the server agree',
        async () => {
          const a = await editorText(A);
          if (!a.includes('host-back') || a !== (await editorText(B))) return undefined;
          return (await backend!.serverText(roomId, 'hello.txt')) === a ? a : undefined;
        },
        30_000,
      );
      assert.equal(text.split('while-host-away').length, 2, 'while-host-away exactly once');
      await pair('8-host-reload', A, B, ['alice (host, reloaded)', 'bob (guest)']);
    });

    step('9. sign-ins refused, then expired: B is asked to sign in again, keeps typing meanwhile, loses nothing', async function () {
      this.timeout(180_000);
      const TTL_SECONDS = 60; // the server's minimum
      // A new signing key: every token in use is refused (UNAUTHENTICATED) when the clients reconnect.
      await backend!.kill();
      await backend!.start({ JWT_SECRET: 'e2e-rotated-'.repeat(4), JWT_TTL_SECONDS: String(TTL_SECONDS) });
      const signInAgain = async (host: VsCodeHost, page: Page, user: string, why: RegExp) => {
        await waitFor(`${user} asked to sign in again`, async () => (await notifications(page)).some((t) => why.test(t)), 60_000);
        await clickNotificationButton(page, 'Sign in again', 'Sign In');
        await quickInput(page, user);
        await quickInput(page, PASSWORD);
        void host;
      };
      await clickEnd(B, 'Control+End');
      await typeText(B, ' typed-while-refused');
      await signInAgain(bob!, B, 'bob', /no longer accepts your sign-in/);
      await signInAgain(alice!, A, 'alice', /no longer accepts your sign-in/);
      await waitFor('A sees what B typed while refused', async () => (await editorText(A)).includes('typed-while-refused'), 30_000);
      const signedIn = Date.now();
      // Now B's new token expires while B is live: the next edit is refused with TOKEN_EXPIRED.
      await sleep(Math.max(0, signedIn + TTL_SECONDS * 1000 + 1000 - Date.now()));
      await clickEnd(B, 'Control+End');
      await typeText(B, ' after-expiry');
      await waitFor('B asked to sign in again (expired)', async () => (await notifications(B)).some((t) => /sign-in has expired/.test(t)), 30_000);
      await typeText(B, ' still-typing');
      await clickNotificationButton(B, 'Sign in again', 'Sign In');
      await quickInput(B, 'bob');
      await quickInput(B, PASSWORD);
      const text = await waitFor(
        'B’s edits reach the server and A',
        async () => {
          const server = await backend!.serverText(roomId, 'hello.txt', 'bob');
          return server.includes('typed-while-refused after-expiry still-typing') && (await editorText(A)) === server && (await editorText(B)) === server ? server : undefined;
        },
        60_000,
      );
      assert.equal(text.split('after-expiry').length, 2, 'after-expiry exactly once');
      await pair('8-sign-in-again', A, B, ['alice (host, signed in again)', 'bob (guest, signed in again twice)']);
    });

    step('10. the consistency checks never fired: no window logged a repair or a resync', async () => {
      const bad = /repairing the editor|had drifted from the sync state|differed from ours/;
      for (const host of [alice!, bob!]) {
        const logs = collabLogs(host.userDataDir);
        assert.ok(logs.length > 0, `${host.name}: no Collab log found`);
        for (const file of logs) {
          const hits = readFileSync(file, 'utf8').split('\n').filter((line) => bad.test(line));
          assert.deepEqual(hits, [], `${host.name}: ${file}`);
        }
      }
    });

  });
}
