/**
 * Smoke test of the e2e harness: one real VS Code (code-server) with our extension, driven by headless
 * Chromium. Opens a file, types into it, runs "Collab: Show Log", checks that the extension activated
 * and that the Output panel shows the "Collab" channel, and saves screenshots to output/e2e/.
 *
 * Runs two ways (compiled to extension/dist/e2e/smoke.e2e.js; the root runner only loads *.test.js):
 *   node extension/dist/e2e/smoke.e2e.js
 *   npx mocha --timeout 180000 'extension/dist/e2e/**\/*.e2e.js'
 * Under mocha it skips (and prints why) when e2eAvailability() is not ok; standalone it exits 1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  OUTPUT_DIR,
  contributedCommandTitle,
  describeUnavailable,
  e2eAvailability,
  isAlive,
  openFile,
  outputPanel,
  processTree,
  quickInput,
  readVisibleEditorText,
  runCommand,
  screenshot,
  sideBySide,
  startVsCode,
  statusBarText,
  stopAllHosts,
  typeText,
} from './host';

export interface SmokeResult {
  screenshots: string[];
  timingsMs: Record<string, number>;
  statusBar: string[];
  output: { channel: string; text: string };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runSmoke(log: (line: string) => void = console.log): Promise<SmokeResult> {
  const timingsMs: Record<string, number> = {};
  let mark = Date.now();
  const lap = (name: string) => {
    const now = Date.now();
    timingsMs[name] = now - mark;
    log(`  ${name}: ${((now - mark) / 1000).toFixed(1)} s`);
    mark = now;
  };

  const workspaceDir = mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-smoke-ws-'));
  writeFileSync(path.join(workspaceDir, 'hello.txt'), 'Hello from the e2e smoke test\n');
  const host = await startVsCode({ name: 'smoke', workspaceDir });
  let pids: number[] = [];
  try {
    lap('start (code-server + Chromium + workbench + Explorer)');
    const { page } = host;

    await openFile(page, 'hello.txt');
    assert.match(await readVisibleEditorText(page), /Hello from the e2e smoke test/);
    await page.keyboard.press('Control+End');
    await typeText(page, 'typed by Playwright');
    await waitFor('typed text in the editor', async () =>
      (await readVisibleEditorText(page)).includes('typed by Playwright') ? true : undefined,
    );
    const editorShot = await screenshot(page, path.join(OUTPUT_DIR, 'smoke-editor.png'));
    lap('open file, type, read back');

    // A built-in quick pick, to prove runCommand + quickInput({ pick }) + statusBarText.
    await runCommand(page, 'Change Language Mode');
    await quickInput(page, 'Markdown', { pick: 'Markdown' });
    await waitFor('"Markdown" in the status bar', async () => ((await statusBarText(page)).includes('Markdown') ? true : undefined));
    lap('Change Language Mode -> Markdown (quick pick)');

    const title = contributedCommandTitle('collab.showLog');
    assert.equal(title, 'Collab: Show Log');
    await runCommand(page, title);
    await host.waitForActivation();
    lap(`run "${title}" + activation (exthost log)`);

    const output = await waitFor('the Collab output channel', async () => {
      const panel = await outputPanel(page);
      return panel.channel === 'Collab' && /Collab .* activated/.test(panel.text) ? panel : undefined;
    });
    const statusBar = await statusBarText(page);
    const shot = await screenshot(page, path.join(OUTPUT_DIR, 'smoke.png'), { settleMs: 1000 });
    lap('Output panel shows "Collab" + screenshot');

    const composed = await sideBySide(editorShot, shot, path.join(OUTPUT_DIR, 'smoke-side-by-side.png'), {
      labels: ['after openFile + typeText', 'after "Collab: Show Log"'],
    });
    lap('sideBySide');

    pids = processTree(host.pid);
    log(`  code-server tree before stop: ${pids.length} processes`);
    return { screenshots: [editorShot, shot, composed], timingsMs, statusBar, output };
  } finally {
    await host.stop();
    lap('stop');
    rmSync(workspaceDir, { recursive: true, force: true });
    const survivors = pids.filter(isAlive);
    assert.deepEqual(survivors, [], `processes left after stop(): ${survivors.join(', ')}`);
  }
}

if (typeof describe === 'function') {
  describe('e2e smoke: real VS Code (code-server) + our extension', function () {
    this.timeout(180_000);
    after(() => stopAllHosts());
    it('runs "Collab: Show Log" and the Output panel shows the Collab channel', async function () {
      const availability = e2eAvailability();
      if (!availability.ok) {
        console.log(`    skipped: ${describeUnavailable(availability)}`);
        this.skip();
      }
      await runSmoke((line) => console.log(`    ${line}`));
    });
  });
}

if (require.main === module) {
  const availability = e2eAvailability();
  if (!availability.ok) {
    console.error(`e2e smoke: cannot run: ${describeUnavailable(availability)}`);
    process.exit(1);
  }
  const stopOnSignal = (sig: NodeJS.Signals) => {
    void stopAllHosts().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const started = Date.now();
  console.log('e2e smoke: starting');
  runSmoke()
    .then((result) => {
      console.log(`e2e smoke: status bar: ${JSON.stringify(result.statusBar)}`);
      console.log(`e2e smoke: output channel "${result.output.channel}": ${JSON.stringify(result.output.text.split('\n')[0])}`);
      for (const file of result.screenshots) console.log(`e2e smoke: screenshot ${file}`);
      console.log(`e2e smoke: PASS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(0);
    })
    .catch(async (error: unknown) => {
      console.error('e2e smoke: FAIL', error);
      await stopAllHosts();
      process.exit(1);
    });
}
