/**
 * Regenerates the images of the extension's marketplace page (committed, shipped in the .vsix):
 *
 *   extension/media/screenshot.png   a real VS Code (the e2e host) with the extension: the Command
 *                                    Palette filtered to "Collab" over the Collab output channel
 *   extension/media/icon.png         the 256x256 extension icon, drawn as SVG and rendered by Chromium
 *   extension/media/collaboration.png copied by hand from output/e2e/collab-4-participants.png (the e2e
 *                                    run makes it: host with the Participants view, viewer following)
 *
 *   npm run build && node extension/dist/e2e/marketplace-media.js [--icon] [--screenshot]   (default: both)
 *
 * Needs the e2e host (bash extension/e2e/vscode-host/install.sh). Not a test: the runner loads only
 * *.e2e.js. Keep screenshot.png under 300 KB (it is checked here); refresh it when the UI changes.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CHROMIUM_PATH,
  EXTENSION_ROOT,
  contributedCommandTitle,
  describeUnavailable,
  e2eAvailability,
  openFile,
  outputPanel,
  runCommand,
  startVsCode,
  stopAllHosts,
} from './host';

const MEDIA_DIR = path.join(EXTENSION_ROOT, 'media');
const MAX_SCREENSHOT_BYTES = 300 * 1024;

const SAMPLE = `// Two people edit this file at once: every keystroke is an operation,
// the Collab server puts them in one order, and both editors converge.
export interface Participant {
  name: string;
  role: 'owner' | 'editor' | 'viewer';
}

export function greet(participant: Participant): string {
  const canEdit = participant.role !== 'viewer';
  return \`Hello, \${participant.name}! You \${canEdit ? 'can' : 'cannot'} edit.\`;
}

export const greetings = [
  { name: 'alice', role: 'owner' },
  { name: 'bob', role: 'viewer' },
].map((p) => greet(p as Participant));
`;

// Two collaborators' carets (with name flags) over lines of "code", on a dark rounded square.
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#1f4f8a"/>
      <stop offset="1" stop-color="#0d2240"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="48" fill="url(#bg)"/>
  <g fill="#ffffff" opacity="0.28">
    <rect x="44" y="62" width="120" height="16" rx="8"/>
    <rect x="44" y="98" width="168" height="16" rx="8"/>
    <rect x="44" y="134" width="92" height="16" rx="8"/>
    <rect x="44" y="170" width="140" height="16" rx="8"/>
  </g>
  <rect x="44" y="98" width="84" height="16" rx="8" fill="#ffffff" opacity="0.9"/>
  <rect x="44" y="170" width="112" height="16" rx="8" fill="#ffffff" opacity="0.9"/>
  <rect x="128" y="86" width="8" height="40" rx="3" fill="#ff9f43"/>
  <rect x="128" y="66" width="44" height="22" rx="6" fill="#ff9f43"/>
  <rect x="156" y="158" width="8" height="40" rx="3" fill="#2ee6c5"/>
  <rect x="156" y="138" width="44" height="22" rx="6" fill="#2ee6c5"/>
</svg>`;

async function renderIcon(): Promise<string> {
  const { chromium } = await import('playwright-core');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'collab-icon-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
    env: { ...process.env, XDG_CONFIG_HOME: path.join(scratch, 'config'), XDG_CACHE_HOME: path.join(scratch, 'cache') },
  });
  try {
    const page = await browser.newPage({ viewport: { width: 256, height: 256 } });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${ICON_SVG}</body></html>`);
    const out = path.join(MEDIA_DIR, 'icon.png');
    mkdirSync(MEDIA_DIR, { recursive: true });
    await page.locator('svg').screenshot({ path: out, omitBackground: true });
    return out;
  } finally {
    await browser.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function takeScreenshot(): Promise<string> {
  const workspaceDir = mkdtempSync(path.join(os.tmpdir(), 'collab-media-ws-'));
  const ws = path.join(workspaceDir, 'hello-collab');
  mkdirSync(ws);
  writeFileSync(path.join(ws, 'greet.ts'), SAMPLE);
  writeFileSync(path.join(ws, 'README.md'), '# hello-collab\n');
  const host = await startVsCode({
    name: 'media',
    workspaceDir: ws,
    viewport: { width: 1280, height: 760 },
    settings: { 'workbench.colorTheme': 'Default Dark Modern', 'editor.fontSize': 14 },
  });
  try {
    const { page } = host;
    await openFile(page, 'greet.ts');
    await runCommand(page, contributedCommandTitle('collab.showLog'));
    await host.waitForActivation();
    for (let i = 0; ; i++) {
      const panel = await outputPanel(page);
      if (panel.channel === 'Collab' && /activated/.test(panel.text)) break;
      if (i > 50) throw new Error(`the Collab output channel did not show up: ${JSON.stringify(panel)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Let the TypeScript server finish ("Analyzing 'greet.ts'..." in the status bar), at most 15 s.
    await page
      .waitForFunction(() => !document.querySelector('.part.statusbar')?.textContent?.includes('Analyzing'), undefined, { timeout: 15_000 })
      .catch(() => undefined);
    // The Command Palette, filtered to our commands, over the editor and the output channel.
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill('>Collab');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row').first().waitFor({ state: 'visible' });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const out = path.join(MEDIA_DIR, 'screenshot.png');
    mkdirSync(MEDIA_DIR, { recursive: true });
    await page.screenshot({ path: out });
    await page.keyboard.press('Escape');
    return out;
  } finally {
    await host.stop();
    rmSync(workspaceDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  for (const arg of args) {
    if (arg !== '--icon' && arg !== '--screenshot') throw new Error(`unknown argument ${arg} (usage: marketplace-media.js [--icon] [--screenshot])`);
  }
  const all = args.length === 0;
  const availability = e2eAvailability();
  if (!availability.ok) throw new Error(`the e2e host is needed: ${describeUnavailable(availability)}`);
  if (all || args.includes('--icon')) {
    const file = await renderIcon();
    console.log(`marketplace-media: ${path.relative(process.cwd(), file)} (${statSync(file).size} bytes)`);
  }
  if (all || args.includes('--screenshot')) {
    const file = await takeScreenshot();
    const size = statSync(file).size;
    console.log(`marketplace-media: ${path.relative(process.cwd(), file)} (${size} bytes)`);
    if (size > MAX_SCREENSHOT_BYTES) throw new Error(`${file} is ${size} bytes, over the ${MAX_SCREENSHOT_BYTES}-byte budget`);
  }
}

main()
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    console.error('marketplace-media: FAILED', error);
    await stopAllHosts();
    process.exit(1);
  });
