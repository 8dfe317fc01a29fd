import { strict as assert } from 'node:assert';
import { GitignoreRules } from './gitignore';
import { combineGlobs, globToRegExp, matchesAnyGlob } from './glob';
import { ShareReport, checkContent, checkText, looksBinary, pathVerdict } from './share-filter';
import { languageOf } from './language';

const DEFAULT_EXCLUDES = ['**/.env*', '**/node_modules/**', '**/.git/**'];
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('share: globs', () => {
  it('matches the default excludes', () => {
    for (const p of ['.env', '.env.local', 'app/.env', 'node_modules/x/index.js', 'a/node_modules/b.js', '.git/config', 'sub/.git/HEAD']) {
      assert.ok(matchesAnyGlob(p, DEFAULT_EXCLUDES), p);
    }
    for (const p of ['env.ts', 'src/environment.ts', 'my_node_modules/x', 'src/.gitignore', 'a.git/x']) {
      assert.ok(!matchesAnyGlob(p, DEFAULT_EXCLUDES), p);
    }
  });

  it('supports *, ?, character classes and nested braces', () => {
    assert.ok(globToRegExp('*.log').test('a.log'));
    assert.ok(!globToRegExp('*.log').test('dir/a.log'), '* stays within one name');
    assert.ok(globToRegExp('**/*.log').test('dir/sub/a.log'));
    assert.ok(globToRegExp('file?.txt').test('file1.txt'));
    assert.ok(globToRegExp('[ab].txt').test('b.txt') && !globToRegExp('[!ab].txt').test('a.txt'));
    assert.ok(globToRegExp('**/*.{png,{jpg,jpeg}}').test('img/x.jpeg'));
    assert.ok(globToRegExp('src/**/secret').test('src/secret') && globToRegExp('src/**/secret').test('src/a/b/secret'));
    assert.ok(globToRegExp('a+b(c).txt').test('a+b(c).txt'), 'regex characters are literal');
  });

  it('combines globs for findFiles', () => {
    assert.equal(combineGlobs([]), undefined);
    assert.equal(combineGlobs(['a']), 'a');
    assert.equal(combineGlobs(['a', 'b/**']), '{a,b/**}');
  });
});

describe('share: .gitignore rules', () => {
  it('ignores by the root file and re-includes by negation', () => {
    const rules = new GitignoreRules();
    rules.add('', 'dist/\n*.log\n!keep.log\n/top.txt\n');
    assert.ok(rules.isIgnored('dist/a.js'));
    assert.ok(rules.isIgnored('pkg/dist/a.js'));
    assert.ok(rules.isIgnored('a.log') && rules.isIgnored('x/b.log'));
    assert.ok(!rules.isIgnored('keep.log'));
    assert.ok(rules.isIgnored('top.txt') && !rules.isIgnored('sub/top.txt'));
    assert.ok(!rules.isIgnored('src/index.ts'));
  });

  it('lets a deeper .gitignore override its parent, relative to its folder', () => {
    const rules = new GitignoreRules();
    rules.add('', '*.gen.ts\n');
    rules.add('pkg', '!api.gen.ts\n/local.txt\n');
    assert.ok(rules.isIgnored('a.gen.ts'));
    assert.ok(!rules.isIgnored('pkg/api.gen.ts'));
    assert.ok(rules.isIgnored('pkg/local.txt'));
    assert.ok(!rules.isIgnored('local.txt'));
  });

  it('never re-includes a file inside an ignored folder', () => {
    const rules = new GitignoreRules();
    rules.add('', 'build/\n');
    rules.add('build', '!important.txt\n');
    assert.ok(rules.isIgnored('build/important.txt'));
  });

  it('judges paths with the excludes first', () => {
    const rules = new GitignoreRules();
    rules.add('', 'secret.txt\n');
    assert.deepEqual(pathVerdict('.env', DEFAULT_EXCLUDES, rules), { ok: false, reason: 'excluded' });
    assert.deepEqual(pathVerdict('secret.txt', DEFAULT_EXCLUDES, rules), { ok: false, reason: 'gitignored' });
    assert.deepEqual(pathVerdict('secret.txt', DEFAULT_EXCLUDES, undefined), { ok: true });
    assert.deepEqual(pathVerdict('src/a.ts', DEFAULT_EXCLUDES, rules), { ok: true });
  });
});

describe('share: content checks', () => {
  it('finds NUL bytes in the first 8 KB only', () => {
    assert.ok(looksBinary(new Uint8Array([65, 0, 66])));
    const late = new Uint8Array(9000).fill(65);
    late[8500] = 0;
    assert.ok(!looksBinary(late));
  });

  it('returns canonical text without BOM', () => {
    assert.deepEqual(checkContent(utf8('\ufeffa\r\nb\rc\n'), 1000, 1000), { ok: true, text: 'a\nb\nc\n' });
    assert.deepEqual(checkContent(utf8('héllo 😀'), 1000, 1000), { ok: true, text: 'héllo 😀' });
  });

  it('refuses binary, invalid UTF-8 and large files', () => {
    assert.deepEqual(checkContent(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1]), 1000, 1000), { ok: false, reason: 'binary' });
    assert.deepEqual(checkContent(new Uint8Array([0x61, 0xff, 0x62]), 1000, 1000), { ok: false, reason: 'binary' });
    assert.deepEqual(checkContent(utf8('x'.repeat(11)), 10, 1000), { ok: false, reason: 'tooLarge' });
    assert.deepEqual(checkContent(utf8('x'.repeat(11)), 1000, 10), { ok: false, reason: 'tooLarge' });
    assert.deepEqual(checkText('a\r\nb', 3), { ok: true, text: 'a\nb' });
  });
});

describe('share: report', () => {
  it('summarises what was shared and skipped', () => {
    const report = new ShareReport();
    report.addShared('a.ts');
    report.addShared('b.ts');
    report.addSkipped('logo.png', 'binary');
    report.addSkipped('big1.json', 'tooLarge');
    report.addSkipped('big2.json', 'tooLarge');
    report.addSkipped('big3.json', 'tooLarge');
    assert.equal(
      report.summary(1024),
      'Shared 2 files. Skipped 4: 1 binary (logo.png); 3 larger than 1024 KB (big1.json, big2.json, …).',
    );
    assert.equal(new ShareReport().summary(1), 'No file was shared.');
  });
});

describe('share: language ids', () => {
  it('guesses the language from the file name', () => {
    assert.equal(languageOf('src/a.ts'), 'typescript');
    assert.equal(languageOf('README.MD'), 'markdown');
    assert.equal(languageOf('docker/Dockerfile'), 'dockerfile');
    assert.equal(languageOf('.gitignore'), 'ignore');
    assert.equal(languageOf('.env'), 'plaintext');
    assert.equal(languageOf('notes'), 'plaintext');
    assert.equal(languageOf('x.unknownext'), 'plaintext');
  });
});
