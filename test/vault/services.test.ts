// The vault next to every other service of `snapline serve`: routes do not
// clash, and the device API answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICES_AVAILABLE } from '../../src/services.ts';
import { vaultService } from '../../src/vault/index.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';

test('the vault starts with every available service', async (t) => {
  assert.ok(SERVICES_AVAILABLE.some((s) => s.name === 'vault'));
  const s = await startTestServer('sqlite', { services: SERVICES_AVAILABLE });
  t.after(() => s.close());
  assert.equal((await s.request('GET', '/v1/version')).status, 200);
  const r = await s.request('POST', '/v1/request-id');
  assert.equal(r.status, 401);
  assert.equal(r.headers['content-type'], 'application/json');
});

test('the admin API is documented at /api/docs with the schemas it validates', async (t) => {
  const s = await startTestServer('sqlite', { services: [vaultService] });
  t.after(() => s.close());
  const doc = (await s.request('GET', '/api/docs/json')).json();
  const add = doc.paths['/api/vault/brands/{account}/models'].post;
  assert.deepEqual(add.tags, ['vault']);
  const body = add.requestBody.content['application/json'].schema;
  assert.equal(body.additionalProperties, false);
  assert.deepEqual(body.required, ['model', 'key']);
  assert.deepEqual(body.properties.duplicates.enum, ['idempotent', 'refuse', 'new-serial']);
  const log = doc.paths['/api/vault/brands/{account}/log/export'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
  assert.ok(log.includes('query:format') && log.includes('path:account'), log.join(' '));
  // Unknown properties are refused, as the schema says.
  const r = await s.request('POST', '/api/vault/brands/acme/models', { token: TEST_ADMIN_TOKEN, body: { model: 'box', key: 'serials', colour: 'red' } });
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json().error.code, 'validation-failed');
});
