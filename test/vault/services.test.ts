// The vault next to every other service of `snapline serve`: routes do not
// clash, and the device API answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICES_AVAILABLE } from '../../src/services.ts';
import { startTestServer } from '../helpers/server.ts';

test('the vault starts with every available service', async (t) => {
  assert.ok(SERVICES_AVAILABLE.some((s) => s.name === 'vault'));
  const s = await startTestServer('sqlite', { services: SERVICES_AVAILABLE });
  t.after(() => s.close());
  assert.equal((await s.request('GET', '/v1/version')).status, 200);
  const r = await s.request('POST', '/v1/request-id');
  assert.equal(r.status, 401);
  assert.equal(r.headers['content-type'], 'application/json');
});
