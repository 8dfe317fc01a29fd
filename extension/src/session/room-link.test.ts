import { strict as assert } from 'node:assert';
import { EXTENSION_ID, joinLink, parseRoomInput, roomIdFromQuery, validateRoomInput } from './room-link';

const ID = 'AbCdEfGhIjKlMnOpQrStUv'; // 22 chars

describe('room links', () => {
  it('accepts a bare room id, trimmed and unquoted', () => {
    assert.equal(parseRoomInput(ID), ID);
    assert.equal(parseRoomInput(`  ${ID}\n`), ID);
    assert.equal(parseRoomInput(`"${ID}"`), ID);
    assert.equal(parseRoomInput(`<${ID}>`), ID);
  });

  it('refuses ids of the wrong shape', () => {
    assert.equal(parseRoomInput('short'), undefined);
    assert.equal(parseRoomInput(`${ID}!`), undefined);
    assert.equal(parseRoomInput('a'.repeat(65)), undefined);
    assert.equal(parseRoomInput(''), undefined);
  });

  it('reads the room from a join link of any editor scheme', () => {
    assert.equal(parseRoomInput(`vscode://${EXTENSION_ID}/join?room=${ID}`), ID);
    assert.equal(parseRoomInput(`vscode-insiders://${EXTENSION_ID}/join?room=${ID}&x=1`), ID);
    assert.equal(parseRoomInput(`code-oss://${EXTENSION_ID}/join?x=1&room=${ID}#frag`), ID);
    assert.equal(parseRoomInput(`https://collab.example.com/join?room=${ID}`), ID);
    assert.equal(parseRoomInput(`vscode://${EXTENSION_ID}/join?room=bad`), undefined);
  });

  it('reads the room from a collab: URI', () => {
    assert.equal(parseRoomInput(`collab:/${ID}/src/a.ts`), ID);
    assert.equal(parseRoomInput(`collab:/${ID}`), ID);
    assert.equal(parseRoomInput('collab:/nope/a.ts'), undefined);
  });

  it('builds links that parse back', () => {
    const link = joinLink(ID, 'vscode');
    assert.equal(link, `vscode://${EXTENSION_ID}/join?room=${ID}`);
    assert.equal(parseRoomInput(link), ID);
    assert.equal(parseRoomInput(joinLink(ID, 'code-oss')), ID);
  });

  it('reads a query with or without "?"', () => {
    assert.equal(roomIdFromQuery(`room=${ID}`), ID);
    assert.equal(roomIdFromQuery(`?room=${ID}`), ID);
    assert.equal(roomIdFromQuery('room='), undefined);
  });

  it('explains what is wrong with an input', () => {
    assert.equal(validateRoomInput(ID), undefined);
    assert.match(validateRoomInput('') ?? '', /Enter a room ID/);
    assert.match(validateRoomInput('xyz') ?? '', /not a room ID/);
  });
});
