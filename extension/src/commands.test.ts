import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ALL_COMMAND_IDS, COMMAND_TITLES, CommandId, InternalCommandId } from './commands';

interface ContributedCommand {
  command: string;
  title?: string;
  category?: string;
}

interface ExtensionManifest {
  main?: string;
  activationEvents?: string[];
  contributes?: { commands?: ContributedCommand[]; menus?: Record<string, Array<{ command: string; when?: string }>> };
}

// Compiled to extension/dist/commands.test.js, so the manifest is one directory up.
const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as ExtensionManifest;
const contributed = manifest.contributes?.commands ?? [];
const contributedIds = contributed.map((c) => c.command);

describe('extension commands: CommandId and package.json', () => {
  it('has at least one command, with unique ids', () => {
    assert.ok(ALL_COMMAND_IDS.length > 0);
    assert.equal(new Set(ALL_COMMAND_IDS).size, ALL_COMMAND_IDS.length);
    assert.equal(new Set(contributedIds).size, contributedIds.length, 'a command is contributed twice');
  });

  it('contributes every CommandId', () => {
    for (const id of ALL_COMMAND_IDS) assert.ok(contributedIds.includes(id), `${id} is not in contributes.commands`);
  });

  it('declares a CommandId for every contributed command', () => {
    for (const id of contributedIds) {
      assert.ok((ALL_COMMAND_IDS as readonly string[]).includes(id), `${id} is contributed but not in CommandId`);
    }
  });

  it('gives every command a title, the "Collab" category and a collab. id', () => {
    for (const c of contributed) {
      assert.ok(c.title !== undefined && c.title.trim() !== '', `${c.command} has no title`);
      assert.equal(c.category, 'Collab', `${c.command} category`);
      assert.match(c.command, /^collab\.[a-zA-Z]+$/);
    }
  });

  it('contributes collab.showLog as "Collab: Show Log"', () => {
    assert.deepEqual(
      contributed.find((c) => c.command === CommandId.ShowLog),
      { command: 'collab.showLog', title: 'Show Log', category: 'Collab' },
    );
  });

  it('gives every command its title from COMMAND_TITLES', () => {
    for (const c of contributed) assert.equal(c.title, COMMAND_TITLES[c.command as CommandId], c.command);
  });

  it('does not contribute internal commands, and menus only name contributed commands', () => {
    for (const id of Object.values(InternalCommandId)) assert.ok(!contributedIds.includes(id), `${id} is internal`);
    for (const [menu, entries] of Object.entries(manifest.contributes?.menus ?? {})) {
      for (const entry of entries) assert.ok(contributedIds.includes(entry.command), `${menu}: ${entry.command} is not a contributed command`);
    }
  });

  it('activates at startup, on its join links and on its collab: file system (VS Code derives onCommand events)', () => {
    const allowed = ['onStartupFinished', 'onUri', 'onFileSystem:collab'];
    for (const event of manifest.activationEvents ?? []) {
      if (allowed.includes(event)) continue;
      assert.ok(event.startsWith('onCommand:'), `unexpected activation event ${event}`);
      assert.ok((ALL_COMMAND_IDS as readonly string[]).includes(event.slice('onCommand:'.length)), event);
    }
    assert.ok(manifest.activationEvents?.includes('onUri'), 'join links need onUri');
    assert.ok(manifest.activationEvents?.includes('onFileSystem:collab'), 'a restored guest folder needs onFileSystem:collab');
    assert.equal(manifest.main, './out/extension.js', 'the esbuild bundle (extension/esbuild.mjs) is what runs and ships');
  });
});
