import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_JWT_TTL_SECONDS, DEFAULT_PORT, loadConfig, redactUrl, type ConfigResult, type ServerConfig } from './config';

const cwd = path.resolve('/srv/collab');

function ok(result: ConfigResult): ServerConfig {
  if (!result.ok) assert.fail(`expected a config, got errors: ${result.errors.join('; ')}`);
  return result.config;
}

function errors(result: ConfigResult): readonly string[] {
  if (result.ok) assert.fail('expected errors, got a config');
  return result.errors;
}

describe('backend config: loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    assert.deepEqual(ok(loadConfig({}, { cwd })), {
      host: DEFAULT_HOST,
      port: DEFAULT_PORT,
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: path.join(cwd, DEFAULT_DATA_DIR),
      jwtSecret: undefined,
      jwtTtlSeconds: DEFAULT_JWT_TTL_SECONDS,
    });
    assert.equal(DEFAULT_JWT_TTL_SECONDS, 43200);
    assert.equal(DEFAULT_HOST, '127.0.0.1');
    assert.equal(DEFAULT_PORT, 3000);
  });

  it('reads every variable', () => {
    const config = ok(
      loadConfig(
        {
          HOST: '0.0.0.0',
          PORT: '8080',
          DATABASE_URL: 'postgres://collab:secret@db:5432/collab',
          REDIS_URL: 'redis://cache:6379',
          DATA_DIR: '/var/lib/collab',
          JWT_SECRET: 'x'.repeat(40),
          JWT_TTL_SECONDS: '3600',
        },
        { cwd },
      ),
    );
    assert.deepEqual(config, {
      host: '0.0.0.0',
      port: 8080,
      databaseUrl: 'postgres://collab:secret@db:5432/collab',
      redisUrl: 'redis://cache:6379',
      dataDir: path.resolve('/var/lib/collab'),
      jwtSecret: 'x'.repeat(40),
      jwtTtlSeconds: 3600,
    });
  });

  it('accepts postgresql:// and rediss:// URLs', () => {
    const config = ok(loadConfig({ DATABASE_URL: 'postgresql://db/collab', REDIS_URL: 'rediss://cache:6380' }, { cwd }));
    assert.equal(config.databaseUrl, 'postgresql://db/collab');
    assert.equal(config.redisUrl, 'rediss://cache:6380');
  });

  it('resolves a relative DATA_DIR against the working directory', () => {
    assert.equal(ok(loadConfig({ DATA_DIR: 'data/rooms' }, { cwd })).dataDir, path.join(cwd, 'data', 'rooms'));
  });

  it('defaults the working directory to process.cwd()', () => {
    assert.equal(ok(loadConfig({})).dataDir, path.resolve(process.cwd(), DEFAULT_DATA_DIR));
  });

  it('treats empty and whitespace-only values as unset and trims values', () => {
    const config = ok(loadConfig({ HOST: '', PORT: '  ', DATABASE_URL: '', REDIS_URL: ' ', DATA_DIR: '' }, { cwd }));
    assert.equal(config.host, DEFAULT_HOST);
    assert.equal(config.port, DEFAULT_PORT);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.dataDir, path.join(cwd, DEFAULT_DATA_DIR));
    assert.equal(ok(loadConfig({ PORT: ' 4000 ', HOST: ' localhost ' }, { cwd })).port, 4000);
    assert.equal(ok(loadConfig({ HOST: ' localhost ' }, { cwd })).host, 'localhost');
  });

  it('accepts the port range bounds', () => {
    assert.equal(ok(loadConfig({ PORT: '0' }, { cwd })).port, 0);
    assert.equal(ok(loadConfig({ PORT: '1' }, { cwd })).port, 1);
    assert.equal(ok(loadConfig({ PORT: '65535' }, { cwd })).port, 65535);
  });

  for (const port of ['65536', '99999', '-1', '3000abc', 'abc', '30.5', '1e3', '0x50', '+80', '123456']) {
    it(`rejects PORT=${JSON.stringify(port)}`, () => {
      const found = errors(loadConfig({ PORT: port }, { cwd }));
      assert.equal(found.length, 1);
      assert.match(found[0] ?? '', /^PORT must be an integer from 0 to 65535/);
    });
  }

  it('rejects a HOST with whitespace inside', () => {
    assert.deepEqual(errors(loadConfig({ HOST: 'local host' }, { cwd })), ['HOST must not contain whitespace']);
  });

  it('rejects URLs of the wrong kind without repeating them', () => {
    const found = errors(loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/x', REDIS_URL: 'not a url' }, { cwd }));
    assert.deepEqual(found, [
      'DATABASE_URL must be a postgres:// or postgresql:// URL',
      'REDIS_URL must be a redis:// or rediss:// URL',
    ]);
    assert.ok(found.every((message) => !message.includes('hunter2')));
  });

  it('rejects a short JWT_SECRET without repeating it', () => {
    const found = errors(loadConfig({ JWT_SECRET: 'hunter2-hunter2' }, { cwd }));
    assert.deepEqual(found, ['JWT_SECRET must be at least 32 characters long (it has 15)']);
    assert.equal(ok(loadConfig({ JWT_SECRET: 's'.repeat(32) }, { cwd })).jwtSecret, 's'.repeat(32));
  });

  it('accepts JWT_TTL_SECONDS from 60 to 30 days', () => {
    assert.equal(ok(loadConfig({ JWT_TTL_SECONDS: '60' }, { cwd })).jwtTtlSeconds, 60);
    assert.equal(ok(loadConfig({ JWT_TTL_SECONDS: '2592000' }, { cwd })).jwtTtlSeconds, 2592000);
  });

  for (const ttl of ['59', '0', '2592001', '-5', '1h', '3.5', '1e4']) {
    it(`rejects JWT_TTL_SECONDS=${JSON.stringify(ttl)}`, () => {
      const found = errors(loadConfig({ JWT_TTL_SECONDS: ttl }, { cwd }));
      assert.equal(found.length, 1);
      assert.match(found[0] ?? '', /^JWT_TTL_SECONDS must be an integer from 60 to 2592000/);
    });
  }

  it('reads DATABASE_POOL_MAX, REDIS_PREFIX, COMMIT_CONCURRENCY and REGISTRATIONS_PER_HOUR, and refuses bad values', () => {
    const c = ok(loadConfig({ DATABASE_POOL_MAX: '25', REDIS_PREFIX: 'collab-prod:eu', COMMIT_CONCURRENCY: '4' }, { cwd }));
    assert.equal(c.databasePoolMax, 25);
    assert.equal(c.commitConcurrency, 4);
    assert.equal(ok(loadConfig({}, { cwd })).commitConcurrency, undefined);
    for (const bad of ['0', '65', 'two', '1.5']) assert.equal(errors(loadConfig({ COMMIT_CONCURRENCY: bad }, { cwd })).length, 1, bad);
    assert.equal(c.redisPrefix, 'collab-prod:eu');
    assert.equal(ok(loadConfig({ REGISTRATIONS_PER_HOUR: '500' }, { cwd })).registrationsPerHour, 500);
    assert.equal(ok(loadConfig({ COMMIT_OVERLAP_MS: '0' }, { cwd })).commitOverlapMs, 0);
    assert.equal(ok(loadConfig({ COMMIT_OVERLAP_MS: '5' }, { cwd })).commitOverlapMs, 5);
    for (const bad of ['1001', '-1', 'soon', '1.5']) assert.equal(errors(loadConfig({ COMMIT_OVERLAP_MS: bad }, { cwd })).length, 1, bad);
    assert.equal(ok(loadConfig({}, { cwd })).commitPredictions, undefined);
    assert.equal(ok(loadConfig({ COMMIT_PREDICTIONS: 'off' }, { cwd })).commitPredictions, false);
    assert.equal(ok(loadConfig({ COMMIT_PREDICTIONS: 'on' }, { cwd })).commitPredictions, true);
    for (const bad of ['yes', '0', 'OFF']) assert.equal(errors(loadConfig({ COMMIT_PREDICTIONS: bad }, { cwd })).length, 1, bad);
    assert.equal(ok(loadConfig({}, { cwd })).registrationsPerHour, undefined);
    for (const bad of ['0', '1000001', 'many', '2.5', '-3']) assert.equal(errors(loadConfig({ REGISTRATIONS_PER_HOUR: bad }, { cwd })).length, 1, bad);
    assert.equal(ok(loadConfig({ TRUST_PROXY: '1' }, { cwd })).trustProxy, 1);
    assert.equal(ok(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::1' }, { cwd })).trustProxy, 'loopback, 10.0.0.0/8, fd00::1');
    assert.equal(ok(loadConfig({}, { cwd })).trustProxy, undefined);
    for (const bad of ['true', 'everyone', '10.0.0.0/8; rm', '100']) assert.equal(errors(loadConfig({ TRUST_PROXY: bad }, { cwd })).length, 1, bad);
    assert.equal(errors(loadConfig({ DATABASE_POOL_MAX: '0' }, { cwd })).length, 1);
    assert.equal(errors(loadConfig({ DATABASE_POOL_MAX: 'ten' }, { cwd })).length, 1);
    assert.equal(errors(loadConfig({ REDIS_PREFIX: 'has space' }, { cwd })).length, 1);
  });

  it('reports every problem at once', () => {
    const found = errors(loadConfig({ PORT: 'x', DATABASE_URL: 'http://db', REDIS_URL: 'http://cache' }, { cwd }));
    assert.equal(found.length, 3);
  });

  it('ignores unrelated variables', () => {
    assert.equal(ok(loadConfig({ PATH: '/usr/bin', NODE_ENV: 'production' }, { cwd })).port, DEFAULT_PORT);
  });
});

describe('backend config: redactUrl', () => {
  it('hides the password', () => {
    assert.equal(redactUrl('postgres://collab:secret@db:5432/collab'), 'postgres://collab:***@db:5432/collab');
  });

  it('leaves URLs without a password and unparsable text unchanged', () => {
    assert.equal(redactUrl('redis://cache:6379'), 'redis://cache:6379');
    assert.equal(redactUrl('postgres://collab@db/collab'), 'postgres://collab@db/collab');
    assert.equal(redactUrl('not a url'), 'not a url');
  });
});
