import assert from 'node:assert/strict';
import { ErrorCode } from './errors';
import { DEFAULT_LIMITS } from './limits';
import { isNormalPath, normalizePath } from './paths';

describe('normalizePath', () => {
  const normalises: ReadonlyArray<readonly [string, string]> = [
    ['a', 'a'],
    ['a/b/c.ts', 'a/b/c.ts'],
    ['./a//b/', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/b/', 'a/b'],
    ['./././x', 'x'],
    ['a////b', 'a/b'],
    ['.hidden/.env', '.hidden/.env'],
    ['...', '...'],
    ['a/..b/c..', 'a/..b/c..'],
    ['src/ünïcödé/😀.md', 'src/ünïcödé/😀.md'],
    ['with space/and:colon', 'with space/and:colon'],
    ['1:/x', '1:/x'], // a digit is not a drive letter
  ];
  for (const [input, expected] of normalises) {
    it(`normalises ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(normalizePath(input), { ok: true, value: expected });
    });
  }

  const rejects: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['only a dot', '.', /names no file/],
    ['dot slash', './', /names no file/],
    ['dots and slashes', './/./', /names no file/],
    ['absolute POSIX', '/etc/passwd', /absolute/],
    ['double slash root', '//server/share', /absolute/],
    ['leading backslash', '\\a', /absolute/],
    ['UNC path', '\\\\server\\share', /absolute/],
    ['Windows drive', 'C:\\x', /drive letter/],
    ['Windows drive, forward slash', 'c:/x', /drive letter/],
    ['drive-relative', 'D:x', /drive letter/],
    ['backslash inside', 'a\\b', /backslash/],
    ['dot-dot segment', '../a', /'\.\.'/],
    ['dot-dot in the middle', 'a/../b', /'\.\.'/],
    ['dot-dot at the end', 'a/..', /'\.\.'/],
    ['NUL', 'a\u0000b', /U\+0000/],
    ['newline', 'a\nb', /U\+000A/],
    ['tab', 'a\tb', /U\+0009/],
    ['DEL', 'a\u007fb', /U\+007F/],
    ['C1 control', 'a\u0085b', /U\+0085/],
    ['lone high surrogate', 'a\ud800', /lone surrogate/],
    ['lone low surrogate', '\udc00a', /lone surrogate/],
  ];
  for (const [name, input, message] of rejects) {
    it(`rejects ${name} with INVALID_PATH`, () => {
      const r = normalizePath(input);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.error.code, ErrorCode.INVALID_PATH);
      assert.match(r.error.message, message);
    });
  }

  it('accepts a path of exactly the maximum length and rejects one longer', () => {
    assert.deepEqual(normalizePath('a'.repeat(10), 10), { ok: true, value: 'a'.repeat(10) });
    const r = normalizePath('a'.repeat(11), 10);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, ErrorCode.INVALID_PATH);
      assert.match(r.error.message, /11 characters long; the limit is 10/);
    }
  });

  it('measures the length as sent, before normalisation', () => {
    assert.equal(normalizePath('./././abc', 8).ok, false);
    assert.equal(normalizePath('./abc', 8).ok, true);
  });

  it('uses maxPathLength from the default limits by default', () => {
    assert.equal(normalizePath('a'.repeat(DEFAULT_LIMITS.maxPathLength)).ok, true);
    assert.equal(normalizePath('a'.repeat(DEFAULT_LIMITS.maxPathLength + 1)).ok, false);
  });

  it('rejects a non-string at run time', () => {
    const r = normalizePath(42 as unknown as string);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, ErrorCode.INVALID_PATH);
  });

  it('is idempotent', () => {
    for (const [input] of normalises) {
      const once = normalizePath(input);
      assert.ok(once.ok);
      if (once.ok) assert.deepEqual(normalizePath(once.value), once);
    }
  });
});

describe('isNormalPath', () => {
  it('is true only for acceptable paths already in normal form', () => {
    assert.equal(isNormalPath('a/b'), true);
    assert.equal(isNormalPath('./a'), false);
    assert.equal(isNormalPath('a/'), false);
    assert.equal(isNormalPath('a//b'), false);
    assert.equal(isNormalPath('../a'), false);
    assert.equal(isNormalPath(''), false);
  });
});
