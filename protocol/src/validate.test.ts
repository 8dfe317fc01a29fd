import assert from 'node:assert/strict';
import { ErrorCode, type Result } from './errors';
import {
  CLIENT_EVENT_NAMES,
  ClientEvent,
  Events,
  FIRE_AND_FORGET_EVENTS,
  InterServerEvent,
  SERVER_EVENT_NAMES,
  ServerEvent,
  expectsAck,
  type ClientEventName,
  type ClientPayload,
  type ClientRequestEventName,
  type ServerEventName,
  type ServerPayload,
} from './events';
import { DEFAULT_LIMITS, type Limits } from './limits';
import { textHash } from './canonical-text';
import { isClientEventName, isServerEventName, validateClientPayload, validateReply, validateServerPayload } from './validate';

const ROOM = 'V1StGXR8_Z5jdHi6B-myT0'; // 22 characters: 128 random bits in base64url
const CLIENT = 'Qm9vdGggY2xpZW50'; // 16 characters
const FILE = 'file_1';
const USER = 'user-42';

/** A valid payload for every client→server event (a missing event fails to compile). */
const valid: { readonly [K in ClientEventName]: ClientPayload<K> } = {
  'room:join': { roomId: ROOM },
  'room:leave': { roomId: ROOM },
  'room:requestJoin': { roomId: ROOM, role: 'editor' },
  'room:answerJoin': { roomId: ROOM, requestId: 'req1', decision: 'deny' },
  'room:delete': { roomId: ROOM },
  'participant:setRole': { roomId: ROOM, userId: USER, role: 'viewer' },
  'participant:remove': { roomId: ROOM, userId: USER },
  'file:create': { roomId: ROOM, path: 'src/main.ts', language: 'typescript', content: 'let x = 1;\n😀\n' },
  'file:rename': { roomId: ROOM, fileId: FILE, path: 'src/other.ts' },
  'file:delete': { roomId: ROOM, fileId: FILE },
  'file:open': { roomId: ROOM, fileId: FILE, clientId: CLIENT, knownVersion: 7 },
  'file:close': { roomId: ROOM, fileId: FILE },
  'op:submit': { roomId: ROOM, fileId: FILE, clientId: CLIENT, seq: 1, baseVersion: 0, op: [5, 'hi', -3, 10] },
  'ops:fetch': { roomId: ROOM, fileId: FILE, from: 1, to: 10 },
  'file:verify': { roomId: ROOM, fileId: FILE, version: 3, hash: textHash('hello\n') },
  'cursor:update': {
    roomId: ROOM,
    fileId: FILE,
    version: 3,
    selections: [
      { anchor: 0, head: 0 },
      { anchor: 9, head: 4 },
    ],
    visible: { start: 0, end: 100 },
  },
  'presence:update': { roomId: ROOM, activeFileId: FILE },
};

type FieldKind =
  | 'roomId'
  | 'id'
  | 'clientId'
  | 'version'
  | 'seq'
  | 'op'
  | 'content'
  | 'path'
  | 'language'
  | 'hash'
  | 'selections'
  | 'visible'
  | 'assignableRole'
  | 'decision'
  | 'nullableId';

/** The kind of every field of every client payload (a missing field fails to compile). */
const kinds: { readonly [K in ClientEventName]: { readonly [F in keyof ClientPayload<K>]-?: FieldKind } } = {
  'room:join': { roomId: 'roomId' },
  'room:leave': { roomId: 'roomId' },
  'room:requestJoin': { roomId: 'roomId', role: 'assignableRole' },
  'room:answerJoin': { roomId: 'roomId', requestId: 'id', decision: 'decision' },
  'room:delete': { roomId: 'roomId' },
  'participant:setRole': { roomId: 'roomId', userId: 'id', role: 'assignableRole' },
  'participant:remove': { roomId: 'roomId', userId: 'id' },
  'file:create': { roomId: 'roomId', path: 'path', language: 'language', content: 'content' },
  'file:rename': { roomId: 'roomId', fileId: 'id', path: 'path' },
  'file:delete': { roomId: 'roomId', fileId: 'id' },
  'file:open': { roomId: 'roomId', fileId: 'id', clientId: 'clientId', knownVersion: 'version', fenceSeq: 'seq' },
  'file:close': { roomId: 'roomId', fileId: 'id' },
  'op:submit': { roomId: 'roomId', fileId: 'id', clientId: 'clientId', seq: 'seq', baseVersion: 'version', op: 'op' },
  'ops:fetch': { roomId: 'roomId', fileId: 'id', from: 'version', to: 'version' },
  'file:verify': { roomId: 'roomId', fileId: 'id', version: 'version', hash: 'hash' },
  'cursor:update': { roomId: 'roomId', fileId: 'id', version: 'version', selections: 'selections', visible: 'visible' },
  'presence:update': { roomId: 'roomId', activeFileId: 'nullableId' },
};

/** Fields that may be left out. */
const OPTIONAL: ReadonlySet<string> = new Set(['file:open.knownVersion', 'file:open.fenceSeq', 'cursor:update.visible']);

const M = ErrorCode.INVALID_MESSAGE;

/** Bad values for each kind of field, with the code each must produce. */
const badValues: { readonly [K in FieldKind]: ReadonlyArray<readonly [unknown, ErrorCode]> } = {
  roomId: [
    ['', M],
    ['x'.repeat(21), M], // fewer than 128 bits
    ['x'.repeat(65), M],
    ['V1StGXR8 Z5jdHi6B-myT0', M],
    ['V1StGXR8/Z5jdHi6B-myT0', M],
    ['é'.repeat(22), M],
    [42, M],
    [null, M],
    [{}, M],
  ],
  id: [
    ['', M],
    ['x'.repeat(65), M],
    ['a b', M],
    ['a.b', M],
    ['a/b', M],
    ['ü', M],
    [42, M],
    [null, M],
    [['f'], M],
  ],
  clientId: [
    ['c'.repeat(15), M],
    ['c'.repeat(65), M],
    [`${'c'.repeat(15)}!`, M],
    [123456789012345678, M],
    [null, M],
  ],
  version: [
    [-1, M],
    [1.5, M],
    ['1', M],
    [2 ** 53, M],
    [Infinity, M],
    [null, M],
    [true, M],
  ],
  seq: [
    [0, M],
    [-1, M],
    [1.5, M],
    ['1', M],
    [2 ** 53, M],
    [null, M],
  ],
  op: [
    [{}, ErrorCode.INVALID_OP],
    ['abc', ErrorCode.INVALID_OP],
    [null, ErrorCode.INVALID_OP],
    [[0], ErrorCode.INVALID_OP],
    [[1, 1], ErrorCode.INVALID_OP],
    [[''], ErrorCode.INVALID_OP],
    [[-1, 'a'], ErrorCode.INVALID_OP],
    [[1.5], ErrorCode.INVALID_OP],
    [[null], ErrorCode.INVALID_OP],
    [[2 ** 53], ErrorCode.INVALID_OP],
    [['\ud800'], ErrorCode.INVALID_TEXT],
    [[1, 'a\udc00b'], ErrorCode.INVALID_TEXT],
    [['a\r\nb'], ErrorCode.INVALID_TEXT],
    [['a\0b'], ErrorCode.INVALID_TEXT],
  ],
  content: [
    [5, M],
    [null, M],
    [['text'], M],
    ['a\r\nb', ErrorCode.INVALID_TEXT],
    ['a\rb', ErrorCode.INVALID_TEXT],
    ['\udc00', ErrorCode.INVALID_TEXT],
    ['ab\ud83d', ErrorCode.INVALID_TEXT],
    ['bin\0ary', ErrorCode.INVALID_TEXT],
  ],
  path: [
    [5, M],
    [null, M],
    ['', ErrorCode.INVALID_PATH],
    ['/etc/passwd', ErrorCode.INVALID_PATH],
    ['\\x', ErrorCode.INVALID_PATH],
    ['C:/x', ErrorCode.INVALID_PATH],
    ['../x', ErrorCode.INVALID_PATH],
    ['a/../../x', ErrorCode.INVALID_PATH],
    ['a\\b', ErrorCode.INVALID_PATH],
    ['a\u0000b', ErrorCode.INVALID_PATH],
    ['./', ErrorCode.INVALID_PATH],
    ['x'.repeat(DEFAULT_LIMITS.maxPathLength + 1), ErrorCode.INVALID_PATH],
  ],
  language: [
    ['', M],
    ['type script', M],
    ['x'.repeat(65), M],
    ['a/b', M],
    [5, M],
  ],
  hash: [
    ['', M],
    ['0123456789ABCD', M],
    ['0123456789abc', M],
    ['0123456789abcde', M],
    ['g123456789abcd', M],
    [0x1234, M],
  ],
  selections: [
    ['x', M],
    [{}, M],
    [[], M],
    [[5], M],
    [[{ anchor: -1, head: 0 }], M],
    [[{ anchor: 0 }], M],
    [[{ anchor: 0, head: 1.5 }], M],
    [[{ anchor: 0, head: 0, extra: 1 }], M],
    [Array.from({ length: DEFAULT_LIMITS.maxCursors + 1 }, () => ({ anchor: 0, head: 0 })), M],
  ],
  visible: [
    [5, M],
    [null, M],
    [{ start: 0 }, M],
    [{ start: -1, end: 0 }, M],
    [{ start: 0, end: 1, x: 1 }, M],
    [{ start: 2, end: 1 }, M],
  ],
  assignableRole: [
    ['owner', M],
    ['admin', M],
    ['', M],
    [5, M],
  ],
  decision: [
    ['owner', M],
    ['accept', M],
    [true, M],
  ],
  nullableId: [
    ['', M],
    ['a b', M],
    [5, M],
    [false, M],
  ],
};

function assertFails<T>(r: Result<T>, code: ErrorCode, ...mentions: string[]): void {
  assert.equal(r.ok, false, `expected ${code}, but it passed: ${JSON.stringify(r)}`);
  if (r.ok) return;
  assert.equal(r.error.code, code, r.error.message);
  for (const m of mentions) assert.ok(r.error.message.includes(m), `message ${JSON.stringify(r.error.message)} should mention ${m}`);
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

describe('validateClientPayload', () => {
  for (const event of CLIENT_EVENT_NAMES) {
    describe(event, () => {
      const base = valid[event] as unknown as Record<string, unknown>;
      const fieldKinds = kinds[event] as Record<string, FieldKind>;

      it('accepts a valid payload', () => {
        const r = validateClientPayload(event, base);
        assert.deepEqual(r, { ok: true, value: base });
      });

      for (const payload of [null, undefined, [], [base], 'room', 42, true]) {
        it(`rejects the non-object payload ${describeValue(payload)}`, () => {
          assertFails(validateClientPayload(event, payload), M, event, 'must be an object');
        });
      }

      it('rejects an extra key', () => {
        assertFails(validateClientPayload(event, { ...base, extra: 1 }), M, event, "'extra'");
      });

      for (const [field, kind] of Object.entries(fieldKinds)) {
        const { [field]: _omitted, ...without } = base;
        if (OPTIONAL.has(`${event}.${field}`)) {
          it(`accepts the payload without the optional field '${field}'`, () => {
            assert.deepEqual(validateClientPayload(event, without), { ok: true, value: without });
          });
        } else {
          it(`rejects the payload without '${field}'`, () => {
            assertFails(validateClientPayload(event, without), M, event, `'${field}'`, 'missing');
          });
        }
        for (const [value, code] of badValues[kind]) {
          it(`rejects ${field} = ${describeValue(value)} with ${code}`, () => {
            assertFails(validateClientPayload(event, { ...base, [field]: value }), code, event, `'${field}`);
          });
        }
      }
    });
  }

  describe('op:submit', () => {
    const submit = valid['op:submit'];
    const small: Limits = { ...DEFAULT_LIMITS, maxOpComponents: 4, maxOpInsertLength: 5 };

    it('accepts an op at the component and insert limits', () => {
      assert.equal(validateClientPayload('op:submit', { ...submit, op: [1, 'abcde', -1, 1] }, small).ok, true);
    });
    it('rejects an op with too many components with OP_TOO_LARGE', () => {
      assertFails(validateClientPayload('op:submit', { ...submit, op: [1, 'a', -1, 1, 'b'] }, small), ErrorCode.OP_TOO_LARGE, "'op'", '5 components');
    });
    it('rejects an op inserting too much with OP_TOO_LARGE', () => {
      assertFails(validateClientPayload('op:submit', { ...submit, op: ['abc', 1, 'def'] }, small), ErrorCode.OP_TOO_LARGE, "'op'", '6 code units');
    });
    it('rejects a huge op under the default limits with OP_TOO_LARGE', () => {
      const huge = ['x'.repeat(DEFAULT_LIMITS.maxOpInsertLength + 1)];
      assertFails(validateClientPayload('op:submit', { ...submit, op: huge }), ErrorCode.OP_TOO_LARGE);
    });
    it('keeps the largest op:submit frame within maxFrameBytes, whatever the characters', () => {
      // maxOpComponents components (retain, insert, delete, ...) with the longest counts, inserting
      // maxOpInsertLength code units of the costliest character in UTF-8 JSON (6 bytes: \u0001).
      const { maxOpComponents, maxOpInsertLength, maxFrameBytes } = DEFAULT_LIMITS;
      const inserts = Math.ceil(maxOpComponents / 3);
      const op: (number | string)[] = [];
      let left = maxOpInsertLength;
      for (let i = 0; op.length < maxOpComponents; i++) {
        const kind = i % 3;
        if (kind === 0) op.push(Number.MAX_SAFE_INTEGER);
        else if (kind === 2) op.push(-Number.MAX_SAFE_INTEGER);
        else {
          const n = Math.ceil(left / (inserts - (i - 1) / 3));
          op.push('\u0001'.repeat(n));
          left -= n;
        }
      }
      assert.equal(left, 0);
      const payload = { ...submit, clientId: 'c'.repeat(64), roomId: 'r'.repeat(64), fileId: 'f'.repeat(64), op };
      assert.equal(validateClientPayload('op:submit', payload).ok, true);
      const bytes = Buffer.byteLength(`421234567890${JSON.stringify(['op:submit', payload])}`, 'utf8');
      assert.ok(bytes <= maxFrameBytes, `${bytes} bytes`);
    });
    it('accepts the empty op and a surrogate pair', () => {
      assert.equal(validateClientPayload('op:submit', { ...submit, op: [] }).ok, true);
      assert.equal(validateClientPayload('op:submit', { ...submit, op: [2, '😀', -2] }).ok, true);
    });
    it('prefers a schema problem over a bad op', () => {
      assertFails(validateClientPayload('op:submit', { ...submit, seq: 0, op: [0] }), M, "'seq'");
      assertFails(validateClientPayload('op:submit', { ...submit, op: [0], extra: true }), M, "'extra'");
    });
    it('accepts the largest safe integers', () => {
      const r = validateClientPayload('op:submit', {
        ...submit,
        seq: Number.MAX_SAFE_INTEGER,
        baseVersion: Number.MAX_SAFE_INTEGER,
      });
      assert.equal(r.ok, true);
    });
  });

  describe('file:create and file:rename', () => {
    it('returns the normalised path', () => {
      const created = validateClientPayload('file:create', { ...valid['file:create'], path: './src//a.ts/' });
      assert.ok(created.ok);
      if (created.ok) assert.equal(created.value.path, 'src/a.ts');
      const renamed = validateClientPayload('file:rename', { ...valid['file:rename'], path: 'x/./y' });
      assert.ok(renamed.ok);
      if (renamed.ok) assert.equal(renamed.value.path, 'x/y');
    });
    it('checks the path length against the limits given', () => {
      const limits: Limits = { ...DEFAULT_LIMITS, maxPathLength: 8 };
      assert.equal(validateClientPayload('file:rename', { ...valid['file:rename'], path: 'abcd.txt' }, limits).ok, true);
      assertFails(validateClientPayload('file:rename', { ...valid['file:rename'], path: 'abcde.txt' }, limits), ErrorCode.INVALID_PATH, "'path'");
    });
    it('rejects content over maxOpInsertLength with OP_TOO_LARGE, pointing at ops for the rest', () => {
      const limits: Limits = { ...DEFAULT_LIMITS, maxOpInsertLength: 4 };
      assert.equal(validateClientPayload('file:create', { ...valid['file:create'], content: 'abcd' }, limits).ok, true);
      assertFails(
        validateClientPayload('file:create', { ...valid['file:create'], content: 'abcde' }, limits),
        ErrorCode.OP_TOO_LARGE,
        "'content'",
        '5 code units',
        'the limit is 4',
        'append the rest with ops',
      );
    });
    it('limits content to maxOpInsertLength under the default limits, not maxDocumentLength', () => {
      const atLimit = 'x'.repeat(DEFAULT_LIMITS.maxOpInsertLength);
      assert.equal(validateClientPayload('file:create', { ...valid['file:create'], content: atLimit }).ok, true);
      assertFails(
        validateClientPayload('file:create', { ...valid['file:create'], content: `${atLimit}x` }),
        ErrorCode.OP_TOO_LARGE,
        "'content'",
      );
      assert.ok(DEFAULT_LIMITS.maxOpInsertLength < DEFAULT_LIMITS.maxDocumentLength);
    });
    it('rejects content longer than any file may be with DOCUMENT_TOO_LARGE', () => {
      const limits: Limits = { ...DEFAULT_LIMITS, maxDocumentLength: 4, maxOpInsertLength: 8 };
      assert.equal(validateClientPayload('file:create', { ...valid['file:create'], content: 'abcd' }, limits).ok, true);
      assertFails(
        validateClientPayload('file:create', { ...valid['file:create'], content: 'abcde' }, limits),
        ErrorCode.DOCUMENT_TOO_LARGE,
        "'content'",
      );
      const small: Limits = { ...DEFAULT_LIMITS, maxDocumentLength: 6, maxOpInsertLength: 4 };
      assertFails(
        validateClientPayload('file:create', { ...valid['file:create'], content: 'abcdefg' }, small),
        ErrorCode.DOCUMENT_TOO_LARGE,
        "'content'",
      );
    });
    it('keeps the largest file:create frame within maxFrameBytes, whatever the characters', () => {
      // Every code unit costs at most 6 bytes in UTF-8 JSON (a control character escaped as \u001f).
      const worst = '\u0001'.repeat(DEFAULT_LIMITS.maxOpInsertLength);
      const payload = { ...valid['file:create'], content: worst };
      assert.equal(validateClientPayload('file:create', payload).ok, true);
      // The Socket.IO frame: packet type and ack id (a few bytes), then the JSON array.
      const bytes = Buffer.byteLength(`421234567890${JSON.stringify(['file:create', payload])}`, 'utf8');
      assert.ok(bytes <= DEFAULT_LIMITS.maxFrameBytes, `${bytes} bytes`);
    });
    it('accepts empty content', () => {
      assert.equal(validateClientPayload('file:create', { ...valid['file:create'], content: '' }).ok, true);
    });
    it('names the offset of a \\r in the content', () => {
      assertFails(validateClientPayload('file:create', { ...valid['file:create'], content: 'ab\r\n' }), ErrorCode.INVALID_TEXT, 'offset 2');
    });
  });

  describe('file:open', () => {
    const open = valid['file:open'];
    const { knownVersion: _k, ...fresh } = open;
    it('accepts a fence when resynchronising (without knownVersion)', () => {
      const resync = { ...fresh, fenceSeq: 12 };
      assert.deepEqual(validateClientPayload('file:open', resync), { ok: true, value: resync });
      assert.equal(validateClientPayload('file:open', { ...fresh, fenceSeq: Number.MAX_SAFE_INTEGER }).ok, true);
    });
    it('rejects a fence together with knownVersion', () => {
      assertFails(validateClientPayload('file:open', { ...open, fenceSeq: 12 }), M, "'fenceSeq'", "'knownVersion'");
    });
    it('rejects a fence that is not a positive safe integer', () => {
      for (const fenceSeq of [0, -3, 2.5, '4', null]) {
        assertFails(validateClientPayload('file:open', { ...fresh, fenceSeq }), M, "'fenceSeq'");
      }
    });
  });

  describe('ops:fetch ranges', () => {
    const fetch = valid['ops:fetch'];
    const limits: Limits = { ...DEFAULT_LIMITS, maxFetchOps: 10 };
    const cases: ReadonlyArray<readonly [number, number, boolean]> = [
      [1, 1, true],
      [1, 10, true],
      [5, 14, true],
      [0, 3, false], // version 0 has no op
      [0, 0, false],
      [5, 4, false],
      [1, 11, false],
      [100, 1, false],
    ];
    for (const [from, to, accepted] of cases) {
      it(`${accepted ? 'accepts' : 'rejects with INVALID_RANGE'} ${from}..${to} (maxFetchOps 10)`, () => {
        const r = validateClientPayload('ops:fetch', { ...fetch, from, to }, limits);
        if (accepted) assert.equal(r.ok, true);
        else assertFails(r, ErrorCode.INVALID_RANGE, 'ops:fetch');
      });
    }
    it('rejects a negative bound as a malformed message, not a bad range', () => {
      assertFails(validateClientPayload('ops:fetch', { ...fetch, from: -1, to: 3 }), M, "'from'");
    });
  });

  describe('cursor:update', () => {
    const cursor = valid['cursor:update'];
    it('accepts exactly maxCursors selections and rejects one more', () => {
      const limits: Limits = { ...DEFAULT_LIMITS, maxCursors: 2 };
      const sel = { anchor: 1, head: 1 };
      assert.equal(validateClientPayload('cursor:update', { ...cursor, selections: [sel, sel] }, limits).ok, true);
      assertFails(validateClientPayload('cursor:update', { ...cursor, selections: [sel, sel, sel] }, limits), M, "'selections'", 'at most 2');
    });
    it('accepts an empty visible range', () => {
      assert.equal(validateClientPayload('cursor:update', { ...cursor, visible: { start: 4, end: 4 } }).ok, true);
    });
    it('names the nested field at fault', () => {
      assertFails(
        validateClientPayload('cursor:update', { ...cursor, selections: [{ anchor: 0, head: 0 }, { anchor: 0, head: -5 }] }),
        M,
        "'selections[1].head'",
      );
    });
  });

  describe('presence:update', () => {
    it('accepts a null activeFileId', () => {
      assert.equal(validateClientPayload('presence:update', { roomId: ROOM, activeFileId: null }).ok, true);
    });
  });

  describe('event names', () => {
    for (const name of ['nope', '', 'op', 'cursor', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'ROOM:JOIN']) {
      it(`rejects the unknown event ${JSON.stringify(name)} with INVALID_MESSAGE`, () => {
        assertFails(validateClientPayload(name, {}), M, 'unknown event');
      });
    }
    it('rejects a non-string event name', () => {
      assertFails(validateClientPayload(42 as unknown as string, {}), M, 'unknown event');
    });
    it('cuts a long unknown name short in the message', () => {
      const r = validateClientPayload('x'.repeat(10_000), {});
      assert.ok(!r.ok && r.error.message.length < 200);
    });
  });

  describe('payload objects', () => {
    it('rejects a non-plain object', () => {
      assertFails(validateClientPayload('room:join', new Map([['roomId', ROOM]])), M, 'must be an object');
      assertFails(validateClientPayload('room:join', new Uint8Array(4)), M, 'must be an object');
    });
    it('accepts an object without a prototype', () => {
      const bare = Object.assign(Object.create(null) as object, { roomId: ROOM });
      assert.equal(validateClientPayload('room:join', bare).ok, true);
    });
    it('rejects a __proto__ key from JSON', () => {
      const parsed: unknown = JSON.parse(`{"roomId":"${ROOM}","__proto__":{"x":1}}`);
      assertFails(validateClientPayload('room:join', parsed), M, '__proto__');
    });
    it('lists at most five unknown keys', () => {
      const extra = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]));
      const r = validateClientPayload('room:join', { roomId: ROOM, ...extra });
      assertFails(r, M, "'k0'", "'k4'", 'and 15 more');
    });
  });

  describe('coverage of the event map', () => {
    it('has a schema for every name in ClientEvent', () => {
      assert.deepEqual([...CLIENT_EVENT_NAMES].sort(), Object.values(ClientEvent).sort());
      for (const name of Object.values(ClientEvent)) {
        assert.ok(isClientEventName(name), name);
        assert.equal(validateClientPayload(name, valid[name]).ok, true, name);
      }
    });
    it('has a validator for every name in ServerEvent', () => {
      for (const name of Object.values(ServerEvent)) {
        assert.ok(isServerEventName(name), name);
        const r = validateServerPayload(name, serverValid[name]);
        assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}`);
      }
    });
    it('refuses an ops batch that is not two or more consecutive ops of one file', () => {
      const batch = (...ops: (typeof wireOp)[]) => ({ fileId: FILE, ops });
      assert.equal(validateServerPayload('ops', batch(wireOp)).ok, false);
      assert.equal(validateServerPayload('ops', batch(wireOp, { ...wireOp, version: 15 })).ok, false);
      assert.equal(validateServerPayload('ops', batch(wireOp, { ...wireOp, version: 14, fileId: ROOM })).ok, false);
      assert.equal(validateServerPayload('ops', { fileId: ROOM, ops: [wireOp, { ...wireOp, version: 14 }] }).ok, false);
      assert.equal(validateServerPayload('ops', batch(wireOp, { ...wireOp, version: 14 }, { ...wireOp, version: 15 })).ok, true);
    });
    it('has a reply schema for every request', () => {
      for (const name of CLIENT_EVENT_NAMES) {
        if (!expectsAck(name)) continue;
        const r = validateReply(name as ClientRequestEventName, { ok: false, error: { code: 'INTERNAL', message: 'boom' } });
        assert.equal(r.ok, true, name);
      }
    });
    it('uses every event name once, and Events holds both directions', () => {
      const all = [...Object.values(ClientEvent), ...Object.values(ServerEvent)];
      assert.equal(new Set(all).size, all.length);
      assert.deepEqual(Object.values(Events).sort(), all.sort());
      assert.equal(Events.opSubmit, 'op:submit');
      assert.equal(Events.op, 'op');
      assert.deepEqual(Object.values(InterServerEvent).sort(), ['participantRemoved', 'roleChanged', 'roomDeleted']);
      for (const reserved of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
        assert.ok(!all.includes(reserved as never), reserved);
      }
    });
    it('knows which events take no ack', () => {
      assert.deepEqual([...FIRE_AND_FORGET_EVENTS].sort(), ['cursor:update', 'presence:update']);
      assert.equal(expectsAck('op:submit'), true);
      assert.equal(expectsAck('cursor:update'), false);
    });
  });
});

// ---------------------------------------------------------------------------------------------

const participant = {
  userId: USER,
  username: 'Ada Lovelace',
  role: 'editor',
  color: '#1f77b4',
  activeFileId: null,
  online: true,
} as const;
const fileInfo = { id: FILE, path: 'src/main.ts', language: 'typescript', version: 12 };
const wireOp = { fileId: FILE, version: 13, op: [5, 'hi', -3, 10], clientId: CLIENT, seq: 4, author: USER, at: 1_700_000_000_000 };

/** A valid payload for every server→client event (a missing event fails to compile). */
const serverValid: { readonly [K in ServerEventName]: ServerPayload<K> } = {
  op: wireOp,
  ops: { fileId: FILE, ops: [wireOp, { ...wireOp, version: 14, seq: 5 }] },
  cursor: { fileId: FILE, userId: USER, clientId: CLIENT, version: 13, selections: [{ anchor: 1, head: 3 }] },
  'cursor:clear': { fileId: FILE, userId: USER, clientId: CLIENT },
  'participant:joined': { ...participant, roomId: ROOM },
  'participant:left': { roomId: ROOM, userId: USER },
  'participant:updated': { ...participant, roomId: ROOM, color: 'charts.blue', activeFileId: FILE },
  participants: {
    roomId: ROOM,
    changes: [
      { event: 'participant:joined', participant: { ...participant, roomId: ROOM } },
      { event: 'participant:updated', participant: { ...participant, roomId: ROOM, online: false } },
    ],
  },
  'role:changed': { roomId: ROOM, role: 'viewer' },
  'room:removed': { roomId: ROOM, reason: 'deleted' },
  'file:created': { ...fileInfo, roomId: ROOM },
  'file:renamed': { ...fileInfo, roomId: ROOM, path: 'b.ts' },
  'file:deleted': { roomId: ROOM, fileId: FILE },
  joinRequest: { roomId: ROOM, requestId: 'req1', user: { id: USER, username: 'ada' }, role: 'editor' },
  'joinRequest:resolved': { roomId: ROOM, requestId: 'req1', decision: 'viewer' },
  'session:error': { code: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 250, event: 'cursor:update' },
};

describe('validateServerPayload', () => {
  it('drops unknown keys instead of failing (a newer server may add fields)', () => {
    const r = validateServerPayload('op', { ...wireOp, future: 'field' });
    assert.deepEqual(r, { ok: true, value: wireOp });
  });
  it('passes op problems through with their codes', () => {
    assertFails(validateServerPayload('op', { ...wireOp, op: [0] }), ErrorCode.INVALID_OP, "'op'");
    assertFails(validateServerPayload('op', { ...wireOp, op: ['\ud800'] }), ErrorCode.INVALID_TEXT, "'op'");
  });
  it('rejects a broadcast op at version 0 (no op takes a file to version 0)', () => {
    assertFails(validateServerPayload('op', { ...wireOp, version: 0 }), M, "'version'");
  });
  it('rejects a missing field', () => {
    const { author: _a, ...rest } = wireOp;
    assertFails(validateServerPayload('op', rest), M, "'author'", 'missing');
  });
  it('rejects a cursor whose visible range is reversed', () => {
    assertFails(validateServerPayload('cursor', { ...serverValid.cursor, visible: { start: 9, end: 2 } }), M, "'visible'");
  });
  it('rejects a file path not in normal form', () => {
    assertFails(validateServerPayload('file:created', { ...serverValid['file:created'], path: './a' }), M, "'path'");
    assertFails(validateServerPayload('file:renamed', { ...serverValid['file:renamed'], path: '../a' }), M, "'path'");
  });
  it('rejects an unknown error code in session:error', () => {
    assertFails(validateServerPayload('session:error', { code: 'NOPE', message: 'x' }), M, "'code'");
  });
  it('rejects a colour that is not a CSS colour or theme id', () => {
    assertFails(
      validateServerPayload('participant:joined', { ...serverValid['participant:joined'], color: 'red; background: url(x)' }),
      M,
      "'color'",
    );
  });
  it('rejects a participants frame of one event, of another room, or of another event kind', () => {
    const batch = serverValid.participants;
    assertFails(validateServerPayload('participants', { ...batch, changes: batch.changes.slice(1) }), M, 'at least two');
    const elsewhere = { event: 'participant:updated', participant: { ...participant, roomId: 'W2StGXR8_Z5jdHi6B-myT0' } };
    assertFails(validateServerPayload('participants', { ...batch, changes: [...batch.changes, elsewhere] }), M, 'its room');
    const left = { event: 'participant:left', participant: { ...participant, roomId: ROOM } };
    assertFails(validateServerPayload('participants', { ...batch, changes: [...batch.changes, left] }), M, "'participant:joined' or 'participant:updated'");
  });
  it('rejects non-object payloads and unknown events', () => {
    for (const payload of [null, [], 'x', 1]) assertFails(validateServerPayload('op', payload), M, 'must be an object');
    assertFails(validateServerPayload('op:submit', {}), M, 'unknown event');
  });
});

describe('validateReply', () => {
  const limits = { ...DEFAULT_LIMITS };
  const room = { roomId: ROOM, ownerId: USER, isPrivate: true, createdAt: '2025-01-31T12:00:00.000Z' };

  it('accepts a room:join reply and drops unknown keys', () => {
    const reply = { ok: true, room, you: participant, participants: [participant], files: [fileInfo], limits, motd: 'hi' };
    const r = validateReply('room:join', reply);
    assert.ok(r.ok);
    if (r.ok && r.value.ok) {
      assert.equal(r.value.room.roomId, ROOM);
      assert.equal('motd' in r.value, false);
    }
  });
  it('rejects a room:join reply with incomplete limits', () => {
    const { maxFetchOps: _m, ...partial } = limits;
    const r = validateReply('room:join', { ok: true, room, you: participant, participants: [], files: [], limits: partial });
    assertFails(r, M, "'limits.maxFetchOps'", 'missing');
  });
  it('accepts both file:open modes', () => {
    const snapshot = { ok: true, mode: 'snapshot', version: 3, text: 'abc', lastCommitted: null };
    assert.deepEqual(validateReply('file:open', snapshot), { ok: true, value: snapshot });
    const committed = { ok: true, mode: 'snapshot', version: 3, text: 'abc', lastCommitted: { seq: 4, version: 2 } };
    assert.deepEqual(validateReply('file:open', committed), { ok: true, value: committed });
    const ops = { ok: true, mode: 'ops', version: 13, ops: [wireOp], lastCommitted: { seq: 4, version: 13 } };
    assert.deepEqual(validateReply('file:open', ops), { ok: true, value: ops });
  });
  it('checks lastCommitted in file:open replies', () => {
    const snapshot = { ok: true, mode: 'snapshot', version: 3, text: 'abc' };
    assertFails(validateReply('file:open', snapshot), M, "'lastCommitted'", 'missing');
    assertFails(validateReply('file:open', { ...snapshot, lastCommitted: 4 }), M, "'lastCommitted'");
    assertFails(validateReply('file:open', { ...snapshot, lastCommitted: { seq: 4 } }), M, "'lastCommitted.version'", 'missing');
    assertFails(validateReply('file:open', { ...snapshot, lastCommitted: { seq: 0, version: 2 } }), M, "'lastCommitted.seq'");
    assertFails(validateReply('file:open', { ...snapshot, lastCommitted: { seq: 4, version: 0 } }), M, "'lastCommitted.version'");
    const ops = { ok: true, mode: 'ops', version: 13, ops: [], lastCommitted: { seq: 1.5, version: 2 } };
    assertFails(validateReply('file:open', ops), M, "'lastCommitted.seq'");
    // The old field name is not read.
    assertFails(validateReply('file:open', { ...snapshot, lastCommittedSeq: 4 }), M, "'lastCommitted'", 'missing');
  });
  it('rejects an unknown file:open mode', () => {
    assertFails(validateReply('file:open', { ok: true, mode: 'diff', version: 3 }), M, "'mode'");
  });
  it('accepts an error reply and checks its code', () => {
    const error = { code: 'HISTORY_COMPACTED', message: 'gone' };
    assert.deepEqual(validateReply('file:open', { ok: false, error }), { ok: true, value: { ok: false, error } });
    assertFails(validateReply('file:open', { ok: false, error: { code: 'WHAT', message: 'x' } }), M, "'error.code'");
    assertFails(validateReply('file:open', { ok: false }), M, "'error'", 'missing');
  });
  it('rejects a reply without a boolean ok', () => {
    assertFails(validateReply('op:submit', { version: 3, duplicate: false }), M, "'ok'");
    assertFails(validateReply('op:submit', null), M, 'must be an object');
  });
  it('checks op:submit and file:verify replies', () => {
    assert.equal(validateReply('op:submit', { ok: true, version: 5, duplicate: true }).ok, true);
    assertFails(validateReply('op:submit', { ok: true, version: 0, duplicate: false }), M, "'version'");
    assert.equal(validateReply('file:verify', { ok: true, head: 5, match: null }).ok, true);
    assertFails(validateReply('file:verify', { ok: true, head: 5, match: 'yes' }), M, "'match'");
  });
  it('accepts an empty ops:fetch reply (a range beyond the head)', () => {
    assert.deepEqual(validateReply('ops:fetch', { ok: true, ops: [] }), { ok: true, value: { ok: true, ops: [] } });
  });
  it('checks the ops in an ops:fetch reply', () => {
    assertFails(validateReply('ops:fetch', { ok: true, ops: [{ ...wireOp, op: 'x' }] }), ErrorCode.INVALID_OP, "'ops[0].op'");
  });
});
