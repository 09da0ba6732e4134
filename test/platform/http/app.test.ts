import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApp } from '../../../src/platform/http/app.ts';
import { Metrics } from '../../../src/platform/http/metrics.ts';
import { ApiError } from '../../../src/platform/http/errors.ts';
import type { Principal } from '../../../src/platform/http/access.ts';

const PRINCIPALS: Record<string, Principal> = {
  root: { userId: 'u0', username: 'root', superuser: true, grants: [] },
  pub: { userId: 'u1', username: 'pub', superuser: false, grants: [{ accountId: 'acme', roles: ['publisher'] }], tokenId: 't1' },
};

async function app(extra?: Parameters<typeof createHttpApp>[0]['tokenRateLimit']) {
  const metrics = new Metrics({ defaults: false });
  const { app, routes } = await createHttpApp({
    logLevel: 'silent',
    bodyLimit: 1024,
    metrics,
    version: 'test',
    tokenRateLimit: extra ?? 1000,
    authenticate: async (token) => {
      const p = PRINCIPALS[token];
      if (!p) throw new ApiError('unauthorized', 'invalid token');
      return p;
    },
    isReady: async () => true,
  });
  app.post(
    '/api/accounts/:account/things',
    {
      config: { access: { kind: 'account', roles: ['publisher', 'admin'], account: (req) => (req.params as { account: string }).account } },
      schema: { body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 10 } } } },
    },
    async (req) => ({ ok: true, by: req.principal?.username }),
  );
  app.post(
    '/api/typed',
    {
      config: { access: { kind: 'public' } },
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer' }, tag: { type: 'array', items: { type: 'string' } } } },
        body: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer' }, names: { type: 'array', items: { type: 'string' } } } },
      },
    },
    async (req) => ({ query: req.query, body: req.body }),
  );
  app.get('/api/boom', { config: { access: { kind: 'public' } } }, async () => {
    throw new Error('secret internals');
  });
  app.get(
    '/v2/custom',
    { config: { access: { kind: 'public' }, errorShape: 'snapd' } },
    async () => {
      throw new ApiError('not-found', 'nope');
    },
  );
  await app.ready();
  return { app, routes, metrics };
}

test('unknown routes are JSON 404s', async () => {
  const { app: a } = await app();
  const r = await a.inject({ method: 'GET', url: '/nowhere?x=1' });
  assert.equal(r.statusCode, 404);
  assert.deepEqual(r.json(), { error: { code: 'not-found', message: 'no route GET /nowhere' } });
});

test('access is enforced: anonymous 401, wrong account 403, right role passes', async () => {
  const { app: a } = await app();
  const body = { name: 'x' };
  assert.equal((await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: body })).statusCode, 401);
  assert.equal((await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: body, headers: { authorization: 'Bearer nope' } })).statusCode, 401);
  const other = await a.inject({ method: 'POST', url: '/api/accounts/other/things', payload: body, headers: { authorization: 'Bearer pub' } });
  assert.equal(other.statusCode, 403);
  assert.equal(other.json().error.code, 'forbidden');
  const ok = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: body, headers: { authorization: 'Bearer pub' } });
  assert.deepEqual(ok.json(), { ok: true, by: 'pub' });
  const su = await a.inject({ method: 'POST', url: '/api/accounts/other/things', payload: body, headers: { authorization: 'Bearer root' } });
  assert.equal(su.statusCode, 200);
});

test('bad input gets a stable code and no internals', async () => {
  const { app: a } = await app();
  const h = { authorization: 'Bearer pub' };
  const invalid = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: { name: 'much too long name' }, headers: h });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().error.code, 'validation-failed');
  const extra = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: { name: 'x', more: 1 }, headers: h });
  assert.equal(extra.json().error.code, 'validation-failed');
  const notJson = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: '{', headers: { ...h, 'content-type': 'application/json' } });
  assert.equal(notJson.statusCode, 400);
  const big = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: { name: 'x'.repeat(5000) }, headers: h });
  assert.equal(big.statusCode, 413);
  assert.equal(big.json().error.code, 'payload-too-large');
  const media = await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: 'x', headers: { ...h, 'content-type': 'text/plain' } });
  assert.equal(media.statusCode, 415);
  const unknownQuery = await a.inject({ method: 'GET', url: '/api/boom?debug=1' });
  assert.equal(unknownQuery.statusCode, 400);
  assert.equal(unknownQuery.json().error.code, 'validation-failed');
  const boom = await a.inject({ method: 'GET', url: '/api/boom' });
  assert.equal(boom.statusCode, 500);
  assert.doesNotMatch(boom.body, /secret internals|at /);
  const custom = await a.inject({ method: 'GET', url: '/v2/custom' });
  assert.deepEqual(custom.json(), { 'error-list': [{ code: 'not-found', message: 'nope' }] });
});

test('JSON bodies are taken as typed; query strings are coerced to their schema types', async () => {
  const { app: a } = await app();
  const post = (url: string, payload: unknown) => a.inject({ method: 'POST', url, payload: payload as object });
  const ok = await post('/api/typed?limit=5&tag=a', { n: 1, names: ['x'] });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { query: { limit: 5, tag: ['a'] }, body: { n: 1, names: ['x'] } });
  for (const body of [{ n: '1' }, { names: 'x' }, { names: [1] }, { n: true }]) {
    const r = await post('/api/typed', body);
    assert.equal(r.statusCode, 400, JSON.stringify(body));
    assert.equal(r.json().error.code, 'validation-failed');
  }
  assert.equal((await post('/api/typed?limit=five', {})).statusCode, 400);
});

test('a route without declared access, or with an unvalidated body, cannot be registered', async () => {
  const { app: a } = await app();
  const fresh = (await createHttpApp({ logLevel: 'silent', bodyLimit: 1024, metrics: new Metrics({ defaults: false }), version: 't', authenticate: async () => PRINCIPALS['root']!, isReady: async () => true })).app;
  assert.throws(() => fresh.get('/api/x', async () => 'x'), /declares no access/);
  assert.throws(() => fresh.post('/api/y', { config: { access: { kind: 'public' } } }, async () => 'y'), /declares no JSON schema/);
  await a.close();
});

test('request ids are echoed into logs and metrics count requests by route', async () => {
  const { app: a, metrics } = await app();
  await a.inject({ method: 'GET', url: '/healthz' });
  await a.inject({ method: 'GET', url: '/nowhere' });
  const text = await metrics.registry.metrics();
  assert.match(text, /snapline_http_requests_total\{route="\/healthz",method="GET",status="200"\} 1/);
  assert.match(text, /snapline_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
  assert.equal((await a.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  assert.equal((await a.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer root' } })).statusCode, 200);
  assert.equal((await a.inject({ method: 'GET', url: '/readyz' })).json().status, 'ready');
});

test('token use is rate limited per token', async () => {
  const { app: a } = await app(2);
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) {
    codes.push((await a.inject({ method: 'POST', url: '/api/accounts/acme/things', payload: { name: 'x' }, headers: { authorization: 'Bearer pub' } })).statusCode);
  }
  assert.ok(codes.includes(429), `expected a 429 among ${codes.join(',')}`);
});

test('the OpenAPI document lists the admin routes', async () => {
  const { app: a } = await app();
  const doc = (await a.inject({ method: 'GET', url: '/api/docs/json' })).json();
  assert.ok(doc.paths['/api/accounts/{account}/things']);
  assert.equal(doc.paths['/healthz'], undefined);
});
