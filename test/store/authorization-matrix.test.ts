// Who may call each store route. Every route the store adds to the server
// must have a row here: a store route without one fails this test (the
// platform's own matrix covers the routes of a server without services).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { ALL, AUTHENTICATED, SUPERUSER, callerTokens, checkMatrix, type Caller, type Matrix } from '../helpers/authorization-matrix.ts';
import { expectStatus, storeWorld, TEST_ADMIN_TOKEN } from './fixtures.ts';

const READERS: Caller[] = ['viewer', 'publisher', 'admin', 'superuser'];
const WRITERS: Caller[] = ['publisher', 'admin', 'superuser'];
const ADMINS: Caller[] = ['admin', 'superuser'];

/** "METHOD /url" → who is allowed. Paths act on store "acme-store" and snap "acme-app" (brand and publisher "acme"). */
const MATRIX: Matrix = {
  'POST /api/store/stores': SUPERUSER,
  'GET /api/store/stores': AUTHENTICATED,
  'GET /api/store/stores/:store': READERS,
  'PATCH /api/store/stores/:store': ADMINS,
  'POST /api/store/stores/:store/snaps': WRITERS,
  'GET /api/store/stores/:store/groups': READERS,
  'POST /api/store/stores/:store/groups': WRITERS,
  'POST /api/store/stores/:store/groups/:group/members': WRITERS,
  'POST /api/store/stores/:store/groups/:group/hold': WRITERS,
  'GET /api/store/stores/:store/device-labels': READERS,
  'PUT /api/store/stores/:store/device-labels': WRITERS,
  'GET /api/store/stores/:store/controlled-channels': READERS,
  'PUT /api/store/stores/:store/controlled-channels': ADMINS,
  'GET /api/store/stores/:store/approvals': READERS,
  'POST /api/store/approvals/:id/approve': ['superuser'],
  'POST /api/store/approvals/:id/deny': ['superuser'],
  // ':account' is concrete as 'other': its admin may.
  'GET /api/store/accounts/:account/validation-sets': ['otherAdmin', 'superuser'],
  'POST /api/store/accounts/:account/validation-sets': ['otherAdmin', 'superuser'],
  'POST /api/store/accounts/:account/validations': ['otherAdmin', 'superuser'],
  'PUT /api/store/snaps/:snap/refresh-control': ['admin', 'superuser'],
  'GET /api/store/snaps/:snap': READERS,
  'GET /api/store/snaps/:snap/revisions': READERS,
  'POST /api/store/snaps/:snap/revisions': WRITERS,
  'POST /api/store/snaps/:snap/releases': WRITERS,
  'POST /api/store/snaps/:snap/close': WRITERS,
  'GET /api/store/snaps/:snap/rollout': READERS,
  'POST /api/store/snaps/:snap/rollout/pause': WRITERS,
  'POST /api/store/snaps/:snap/rollout/resume': WRITERS,
  'POST /api/store/snaps/:snap/rollout/advance': WRITERS,
  'PUT /api/store/snaps/:snap/rollout/windows': WRITERS,
  'POST /api/store/snaps/:snap/rollout/rollback': WRITERS,
  'GET /api/store/snaps/:snap/rollout/why': READERS,
  'POST /api/store/snaps/:snap/collaborators': ADMINS,
  'DELETE /api/store/snaps/:snap/collaborators/:account': ADMINS,
  // snapd-facing: public, with their own checks (sessions, visibility)
  'POST /api/v1/snaps/auth/nonces': ALL,
  'POST /api/v1/snaps/auth/sessions': ALL,
  'POST /v2/snaps/refresh': ALL,
  // A device session, checked by the service (401 without one; the matrix's empty body is refused by the schema first).
  'POST /api/store/device/health': ALL,
  'POST /v2/cohorts': ALL,
  'GET /v2/assertions/*': ALL,
  'GET /v2/snaps/info/:name': ALL,
  'GET /v2/snaps/find': ALL,
  'GET /api/v1/snaps/download/:digest/:file': ALL,
};

function concrete(url: string): string {
  return url.replace(':account', 'other').replace(':store', 'acme-store').replace(':snap', 'acme-app').replace(':name', 'acme-app').replace(':digest', 'f'.repeat(96)).replace(':file', 'x.snap').replace('*', 'account/acme');
}

test('every store route has an authorization matrix row, and each caller gets exactly its row', async (t) => {
  const bare = await startTestServer('sqlite');
  const platformRoutes = new Set(bare.server.routes.map((r) => `${r.method} ${r.url}`));
  await bare.close();
  const s = await storeWorld('sqlite');
  t.after(() => s.close());
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'acme-app' } }), 201);
  const { missing, wrong, stale } = await checkMatrix(s, {
    matrix: MATRIX,
    tokens: await callerTokens(s, 'acme', 'other'),
    concrete,
    skip: (route) => platformRoutes.has(`${route.method} ${route.url}`),
  });
  assert.deepEqual(missing, [], 'store routes without a row in the authorization matrix');
  assert.deepEqual(wrong, [], 'callers allowed or refused against the matrix');
  assert.deepEqual(stale, [], 'matrix rows for routes that do not exist');
  // The publisher API is in the OpenAPI document; the snapd-facing routes are not.
  const documented = Object.keys((await s.request('GET', '/api/docs/json')).json().paths as object);
  for (const key of Object.keys(MATRIX)) {
    const url = key.split(' ')[1]!.replace(/:(\w+)/g, '{$1}');
    assert.equal(documented.includes(url), url.startsWith('/api/store/'), `OpenAPI and ${url}`);
  }
});
