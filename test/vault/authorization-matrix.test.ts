// Who may call each vault route. Every route the vault adds to the server
// must have a row here: a vault route without one fails this test (the
// platform's own matrix covers the routes of a server without services).
// Device routes are public: the factory API key (sent on every call here)
// is the vault's own check, tested in device-api.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { ALL, callerTokens, checkMatrix, type Caller, type Matrix } from '../helpers/authorization-matrix.ts';
import { BRAND, startVault } from './helpers.ts';

const READERS: Caller[] = ['viewer', 'admin', 'superuser'];
const ADMINS: Caller[] = ['admin', 'superuser'];
const LOG_READERS: Caller[] = ['viewer', 'factory', 'admin', 'superuser'];

/** "METHOD /url" → who is allowed. Paths act on brand "acme". */
const MATRIX: Matrix = {
  'POST /v1/request-id': ALL,
  'POST /v1/serial': ALL,
  'GET /v1/version': ALL,
  'POST /api/v1/snaps/auth/request-id': ALL,
  'POST /api/v1/snaps/auth/devices': ALL,
  'GET /api/vault/brands/:account/keys': READERS,
  'POST /api/vault/brands/:account/keys': ADMINS,
  'POST /api/vault/brands/:account/keys/:name/account-key': ADMINS,
  'DELETE /api/vault/brands/:account/keys/:name': ADMINS,
  'GET /api/vault/brands/:account/models': READERS,
  'POST /api/vault/brands/:account/models': ADMINS,
  'GET /api/vault/brands/:account/models/:model': READERS,
  'PATCH /api/vault/brands/:account/models/:model': ADMINS,
  'DELETE /api/vault/brands/:account/models/:model': ADMINS,
  'GET /api/vault/brands/:account/api-keys': READERS,
  'POST /api/vault/brands/:account/api-keys': ADMINS,
  'DELETE /api/vault/brands/:account/api-keys/:id': ADMINS,
  'GET /api/vault/brands/:account/log': LOG_READERS,
  'GET /api/vault/brands/:account/log/export': LOG_READERS,
  'POST /api/vault/brands/:account/system-users': ADMINS,
};

function concrete(url: string): string {
  return url.replace(':account', BRAND).replace(':name', 'nokey').replace(':model', 'nomodel').replace(':id', '999999');
}

test('every vault route has an authorization matrix row, and each caller gets exactly its row', async (t) => {
  const bare = await startTestServer('sqlite');
  const platformRoutes = new Set(bare.server.routes.map((r) => `${r.method} ${r.url}`));
  await bare.close();
  const v = await startVault('sqlite');
  t.after(() => v.close());
  const s = v.s;
  assert.equal((await s.request('POST', '/api/accounts', { token: v.admin, body: { accountId: 'other' } })).status, 201);
  const { missing, wrong, stale } = await checkMatrix(s, {
    matrix: MATRIX,
    tokens: await callerTokens(s, BRAND, 'other'),
    concrete,
    skip: (route) => platformRoutes.has(`${route.method} ${route.url}`),
    onRoute: (route) => {
      if (route.url.startsWith('/v1/') || route.url.startsWith('/api/v1/snaps/auth/')) {
        assert.equal(route.access.kind, 'public', `${route.method} ${route.url} is a device route: public, with its own API-key check`);
      }
    },
    headers: { 'api-key': v.apiKey },
  });
  assert.deepEqual(missing, [], 'vault routes without a row in the authorization matrix');
  assert.deepEqual(wrong, [], 'callers allowed or refused against the matrix');
  assert.deepEqual(stale, [], 'matrix rows for routes that do not exist');
});
