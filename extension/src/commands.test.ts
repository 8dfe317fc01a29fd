import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ALL_COMMAND_IDS, CommandId } from './commands';

interface ContributedCommand {
  command: string;
  title?: string;
  category?: string;
}

interface ExtensionManifest {
  main?: string;
  activationEvents?: string[];
  contributes?: { commands?: ContributedCommand[] };
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

  it('activates on its commands only (VS Code derives onCommand events from contributes.commands)', () => {
    for (const event of manifest.activationEvents ?? []) {
      assert.ok(event.startsWith('onCommand:'), `unexpected activation event ${event}`);
      assert.ok((ALL_COMMAND_IDS as readonly string[]).includes(event.slice('onCommand:'.length)), event);
    }
    assert.equal(manifest.main, './dist/extension.js');
  });
});
