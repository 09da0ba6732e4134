// Who may call what, route by route. Every route the server registers must
// have a row here: adding a route without deciding its access fails this test.
// A caller is "allowed" when the answer is anything but 401/403 (a 400 for an
// empty body still means the access check let the call through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';

type Caller = 'anonymous' | 'viewer' | 'publisher' | 'factory' | 'admin' | 'otherAdmin' | 'superuser';
const ALL: Caller[] = ['anonymous', 'viewer', 'publisher', 'factory', 'admin', 'otherAdmin', 'superuser'];
const AUTHENTICATED = ALL.filter((c) => c !== 'anonymous');
const ACCOUNT_MEMBERS: Caller[] = ['viewer', 'publisher', 'factory', 'admin', 'superuser'];
const ACCOUNT_ADMINS: Caller[] = ['admin', 'superuser'];
const SUPERUSER: Caller[] = ['superuser'];

/** "METHOD /url" → who is allowed. Paths act on account "acme". */
const MATRIX: Record<string, Caller[]> = {
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
  const tokens: Record<Caller, string | undefined> = {
    anonymous: undefined,
    viewer: await s.tokenFor(['viewer'], 'acme'),
    publisher: await s.tokenFor(['publisher'], 'acme'),
    factory: await s.tokenFor(['factory-operator'], 'acme'),
    admin: await s.tokenFor(['admin'], 'acme'),
    otherAdmin: await s.tokenFor(['admin'], 'other'),
    superuser: await s.tokenFor('superuser'),
  };
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const route of s.server.routes) {
    const key = `${route.method} ${route.url}`;
    if (PUBLIC_PREFIXES.some((p) => route.url.startsWith(p))) {
      assert.equal(route.access.kind, 'public', `${key} should be public`);
      continue;
    }
    const allowed = MATRIX[key];
    if (!allowed) {
      missing.push(key);
      continue;
    }
    for (const caller of ALL) {
      const withBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
      const res = await s.request(route.method, concrete(route.url), { ...(tokens[caller] ? { token: tokens[caller] } : {}), ...(withBody ? { body: {} } : {}) });
      const got = res.status !== 401 && res.status !== 403;
      if (got !== allowed.includes(caller)) wrong.push(`${key} as ${caller}: ${res.status} ${res.body.slice(0, 120)}`);
    }
  }
  assert.deepEqual(missing, [], 'routes without a row in the authorization matrix');
  assert.deepEqual(wrong, [], 'callers allowed or refused against the matrix');
  for (const key of Object.keys(MATRIX)) {
    const [method, url] = key.split(' ');
    assert.ok(s.server.routes.some((r) => r.method === method && r.url === url), `matrix row for a route that does not exist: ${key}`);
  }
});
