import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTING_DEFAULTS, SETTINGS_SECTION, excludeGlobs, maxFileSizeBytes, normalizeServerUrl, resolveServerUrl } from './config';

interface ConfigurationProperty {
  type?: string | string[];
  default?: unknown;
  description?: string;
  markdownDescription?: string;
}
const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
  contributes?: { configuration?: { title?: string; properties?: Record<string, ConfigurationProperty> } };
};
const properties = manifest.contributes?.configuration?.properties ?? {};

describe('settings: config.ts and package.json', () => {
  it('declares every setting with its default and a description', () => {
    for (const [key, value] of Object.entries(SETTING_DEFAULTS)) {
      const prop = properties[`${SETTINGS_SECTION}.${key}`];
      assert.ok(prop, `${SETTINGS_SECTION}.${key} is not in contributes.configuration`);
      assert.deepEqual(prop.default, value, `default of ${key}`);
      assert.ok((prop.description ?? prop.markdownDescription ?? '').length > 10, `${key} has no description`);
    }
    assert.deepEqual(Object.keys(properties).sort(), Object.keys(SETTING_DEFAULTS).map((k) => `${SETTINGS_SECTION}.${k}`).sort());
  });

  it('normalises server URLs', () => {
    assert.equal(normalizeServerUrl('http://127.0.0.1:3000/'), 'http://127.0.0.1:3000');
    assert.equal(normalizeServerUrl(' https://collab.example.com/base// '), 'https://collab.example.com/base');
    assert.equal(normalizeServerUrl('ftp://x'), undefined);
    assert.equal(normalizeServerUrl('not a url'), undefined);
    assert.equal(normalizeServerUrl('http://user:pw@host'), undefined);
    assert.equal(normalizeServerUrl(''), undefined);
  });

  it('takes the setting, then the environment, then the default', () => {
    assert.equal(resolveServerUrl('http://a:1', 'http://b:2'), 'http://a:1');
    assert.equal(resolveServerUrl(undefined, 'http://b:2/'), 'http://b:2');
    assert.equal(resolveServerUrl('bogus', undefined), 'http://127.0.0.1:3000');
    assert.equal(resolveServerUrl(undefined, undefined), 'http://127.0.0.1:3000');
  });

  it('reads size limits and exclude globs defensively', () => {
    assert.equal(maxFileSizeBytes(2), 2048);
    assert.equal(maxFileSizeBytes(-1), 1024 * 1024);
    assert.equal(maxFileSizeBytes('x'), 1024 * 1024);
    assert.deepEqual(excludeGlobs(['a', ' ', 3, ' b ']), ['a', 'b']);
    assert.deepEqual(excludeGlobs(undefined), ['**/.env*', '**/node_modules/**', '**/.git/**']);
  });
});
