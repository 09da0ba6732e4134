import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { ERROR_CATALOG, type ErrorCode } from '../../src/errors/catalog.ts';
import { withCurrentTable } from '../../src/errors/catalog-doc.ts';
import { CodedError } from '../../src/errors/coded-error.ts';
import { problemOf, sendProblem, type ErrorShape } from '../../src/platform/http/error-shapes.ts';

test('docs/errors.md lists exactly the catalog (npm run docs:errors rewrites it)', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, withCurrentTable(doc));
});

test('every code is a lowercase-dashed word with a client or server status', () => {
  for (const [code, e] of Object.entries(ERROR_CATALOG)) {
    assert.match(code, /^[a-z][a-z0-9-]*$/, code);
    assert.ok(e.status >= 400 && e.status <= 599, code);
    assert.ok(e.description.length > 0, code);
  }
});

async function render(shape: ErrorShape, err: Error) {
  const app = Fastify();
  app.get('/', async (_req, reply) => sendProblem(reply, shape, problemOf(err)!));
  const r = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return { status: r.statusCode, headers: r.headers, body: r.json() as Record<string, unknown> };
}

test('a code is rendered with its catalog status in each wire shape', async () => {
  const err = new CodedError('serial-taken' satisfies ErrorCode, 'serial 7 is taken');
  assert.deepEqual(await render('platform', err).then((r) => [r.status, r.body]), [409, { error: { code: 'serial-taken', message: 'serial 7 is taken' } }]);
  assert.deepEqual(await render('snapd', err).then((r) => [r.status, r.body]), [409, { 'error-list': [{ code: 'serial-taken', message: 'serial 7 is taken' }] }]);
  const vault = await render('vault', err);
  assert.deepEqual([vault.status, vault.body], [409, { code: 'serial-taken', message: 'serial 7 is taken', error_list: [{ code: 'serial-taken', message: 'serial 7 is taken' }] }]);
  assert.equal(vault.headers['content-type'], 'application/json');
});

test('server faults say nothing of themselves; the vault sends them as 503 for snapd to retry', async () => {
  const fault = new CodedError('key-decrypt-failed', 'the key under /secret/path failed to decrypt');
  const platform = await render('platform', fault);
  assert.equal(platform.status, 500);
  assert.deepEqual(platform.body, { error: { code: 'internal-error', message: 'internal error (see the server log)' } });
  const vault = await render('vault', fault);
  assert.equal(vault.status, 503);
  assert.equal(vault.headers['retry-after'], '60');
  assert.equal(problemOf(new Error('plain')), undefined);
});

test('a retry time becomes Retry-After, and a 401 asks snapd to refresh its session', async () => {
  const throttled = await render('platform', new CodedError('login-throttled', 'slow down', { retryAfterSeconds: 30 }));
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers['retry-after'], '30');
  const expired = await render('snapd', new CodedError('device-authorization-needs-refresh', 'expired'));
  assert.equal(expired.status, 401);
  assert.equal(expired.headers['www-authenticate'], 'Macaroon refresh_device_session=1');
});
