// Who may call what, route by route. Every route the server registers must
// have a row here: adding a route without deciding its access fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { ALL, AUTHENTICATED, SUPERUSER, callerTokens, checkMatrix, type Caller, type Matrix } from '../helpers/authorization-matrix.ts';

const ACCOUNT_MEMBERS: Caller[] = ['viewer', 'publisher', 'factory', 'admin', 'superuser'];
const ACCOUNT_ADMINS: Caller[] = ['admin', 'superuser'];

/** "METHOD /url" → who is allowed. Paths act on account "acme". */
const MATRIX: Matrix = {
  'GET /healthz': ALL,
  'GET /readyz': ALL,
  'GET /metrics': SUPERUSER,
  'GET /api/root': ALL,
  'GET /api/root/trusted': ALL,
  'POST /api/login': ALL,
  'GET /api/whoami': AUTHENTICATED,
  'GET /api/accounts': AUTHENTICATED,
  'POST /api/accounts': SUPERUSER,
  'GET /api/accounts/:account': ACCOUNT_MEMBERS,
  'POST /api/accounts/:account/account-keys': ACCOUNT_ADMINS,
  'GET /api/accounts/:account/account-keys': ACCOUNT_MEMBERS,
  'GET /api/accounts/:account/audit': ACCOUNT_ADMINS,
  'GET /api/accounts/:account/members': ACCOUNT_ADMINS,
  'PUT /api/accounts/:account/members/:username': ACCOUNT_ADMINS,
  'GET /api/users': SUPERUSER,
  'POST /api/users': SUPERUSER,
  'GET /api/tokens': AUTHENTICATED,
  'POST /api/tokens': AUTHENTICATED,
  'DELETE /api/tokens/:id': AUTHENTICATED,
  'GET /api/audit': SUPERUSER,
};
/** The API documentation plugin's routes are public. */
const PUBLIC_PREFIXES = ['/api/docs'];

function concrete(url: string): string {
  return url.replace(':account', 'acme').replace(':username', 'nobody').replace(':id', '999999').replace('*', 'x');
}

test('every route has an authorization matrix row, and each caller gets exactly its row', async (t) => {
  const s = await startTestServer('sqlite');
  t.after(() => s.close());
  const admin = TEST_ADMIN_TOKEN;
  for (const id of ['acme', 'other']) assert.equal((await s.request('POST', '/api/accounts', { token: admin, body: { accountId: id } })).status, 201);
  const { missing, wrong, stale } = await checkMatrix(s, {
    matrix: MATRIX,
    tokens: await callerTokens(s, 'acme', 'other'),
    concrete,
    // The API documentation plugin's routes are public.
    skip: (route) => {
      const docs = PUBLIC_PREFIXES.some((p) => route.url.startsWith(p));
      if (docs) assert.equal(route.access.kind, 'public', `${route.url} should be public`);
      return docs;
    },
  });
  assert.deepEqual(missing, [], 'routes without a row in the authorization matrix');
  assert.deepEqual(wrong, [], 'callers allowed or refused against the matrix');
  assert.deepEqual(stale, [], 'matrix rows for routes that do not exist');
});
