import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestClient, type FetchLike } from './rest-client';
import { TokenStore, tokenKey } from './token-store';
import { describeAuthError } from './auth-messages';

function fakeFetch(status: number, body: unknown, calls: Array<{ url: string; init: Parameters<FetchLike>[1] }> = []): FetchLike {
  return async (url, init) => {
    calls.push({ url, init });
    return { status, text: async () => (typeof body === 'string' ? body : JSON.stringify(body)) };
  };
}

describe('auth: REST client', () => {
  it('signs in and returns the user and token', async () => {
    const calls: Array<{ url: string; init: Parameters<FetchLike>[1] }> = [];
    const client = new RestClient('http://srv', fakeFetch(200, { user: { id: 'u1', username: 'ann' }, token: 'T' }, calls));
    const result = await client.login('ann', 'pw');
    assert.deepEqual(result, { ok: true, value: { user: { id: 'u1', username: 'ann' }, token: 'T' } });
    assert.equal(calls[0]?.url, 'http://srv/api/auth/login');
    assert.equal(calls[0]?.init.method, 'POST');
    assert.deepEqual(JSON.parse(calls[0]?.init.body ?? ''), { username: 'ann', password: 'pw' });
  });

  it('passes the server’s error code through', async () => {
    const client = new RestClient('http://srv', fakeFetch(401, { error: { code: 'BAD_CREDENTIALS', message: 'nope' } }));
    assert.deepEqual(await client.login('ann', 'x'), { ok: false, error: { code: 'BAD_CREDENTIALS', message: 'nope' } });
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const client = new RestClient('http://srv', async () => {
      throw Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    });
    const result = await client.register('ann', 'pw');
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.error.code === 'UNAVAILABLE' && /ECONNREFUSED/.test(result.error.message));
  });

  it('reports a non-Collab answer', async () => {
    const client = new RestClient('http://srv', fakeFetch(404, '<html>not found</html>'));
    const result = await client.login('a', 'b');
    assert.ok(!result.ok && /is this a Collab server/.test(result.error.message));
  });

  it('creates a private room with the bearer token', async () => {
    const calls: Array<{ url: string; init: Parameters<FetchLike>[1] }> = [];
    const room = { roomId: 'R'.repeat(22), ownerId: 'u1', isPrivate: true, createdAt: '2025-01-01T00:00:00.000Z', name: null };
    const client = new RestClient('http://srv', fakeFetch(201, { room }, calls));
    assert.deepEqual(await client.createRoom('TOKEN'), { ok: true, value: room });
    assert.equal(calls[0]?.init.headers['authorization'], 'Bearer TOKEN');
    assert.deepEqual(JSON.parse(calls[0]?.init.body ?? ''), { isPrivate: true });
  });

  it('talks to a real HTTP server with the global fetch', async () => {
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/api/auth/register' && JSON.parse(body).username === 'taken') {
          res.statusCode = 409;
          res.end(JSON.stringify({ error: { code: 'USERNAME_TAKEN', message: 'taken' } }));
          return;
        }
        res.statusCode = 201;
        res.end(JSON.stringify({ user: { id: 'u', username: 'new' }, token: 'tok' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new RestClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      assert.deepEqual(await client.register('new', 'pw'), { ok: true, value: { user: { id: 'u', username: 'new' }, token: 'tok' } });
      const taken = await client.register('taken', 'pw');
      assert.ok(!taken.ok && taken.error.code === 'USERNAME_TAKEN');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('auth: token store', () => {
  function memorySecrets(): { map: Map<string, string>; get(k: string): Promise<string | undefined>; store(k: string, v: string): Promise<void>; delete(k: string): Promise<void> } {
    const map = new Map<string, string>();
    return {
      map,
      get: async (k) => map.get(k),
      store: async (k, v) => void map.set(k, v),
      delete: async (k) => void map.delete(k),
    };
  }

  it('keeps one sign-in per server URL', async () => {
    const secrets = memorySecrets();
    const store = new TokenStore(secrets);
    await store.set('http://a', { token: 'A', user: { id: '1', username: 'ann' } });
    await store.set('http://b', { token: 'B', user: { id: '2', username: 'bob' } });
    assert.equal((await store.get('http://a'))?.token, 'A');
    assert.equal((await store.get('http://b'))?.user.username, 'bob');
    assert.ok(secrets.map.has(tokenKey('http://a')));
    await store.delete('http://a');
    assert.equal(await store.get('http://a'), undefined);
    assert.equal((await store.get('http://b'))?.token, 'B');
  });

  it('treats a corrupt entry as signed out', async () => {
    const secrets = memorySecrets();
    secrets.map.set(tokenKey('http://a'), '{not json');
    assert.equal(await new TokenStore(secrets).get('http://a'), undefined);
    secrets.map.set(tokenKey('http://a'), JSON.stringify({ token: 5 }));
    assert.equal(await new TokenStore(secrets).get('http://a'), undefined);
  });
});

describe('auth: messages', () => {
  it('explains each sign-in failure', () => {
    assert.match(describeAuthError({ code: 'BAD_CREDENTIALS', message: 'x' }), /wrong password/);
    assert.match(describeAuthError({ code: 'USERNAME_TAKEN', message: 'x' }), /taken/);
    assert.match(describeAuthError({ code: 'WEAK_PASSWORD', message: 'too short' }), /too weak: too short/);
    assert.match(describeAuthError({ code: 'RATE_LIMITED', message: 'x', retryAfterMs: 30_000 }), /wait 30 s/);
    assert.equal(describeAuthError({ code: 'UNAVAILABLE', message: 'cannot reach' }), 'cannot reach');
  });
});
