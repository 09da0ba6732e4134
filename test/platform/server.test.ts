// The server spine end to end on both engines: first start, root authority,
// accounts, keys, users, tokens, login, audit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustDatabase, createAccountKeyRequest, decode, decodeStream, type Assertion } from '../../src/assertions/index.ts';
import { ENGINES, postgresUnavailable } from '../helpers/databases.ts';
import { TEST_ADMIN_TOKEN, TEST_ROOT_ID, startTestServer, type TestServer } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';

function trustedDb(stream: Buffer): TrustDatabase {
  return new TrustDatabase({ trusted: decodeStream(stream), now: () => new Date() });
}

for (const engine of ENGINES) {
  test(`server spine [${engine}]`, async (t) => {
    if (engine === 'postgres') {
      const why = await postgresUnavailable();
      if (why) return t.skip(why);
    }
    const s: TestServer = await startTestServer(engine);
    t.after(() => s.close());
    const admin = TEST_ADMIN_TOKEN;

    await t.test('first start: root authority and administrator', async () => {
      const root = await s.request('GET', '/api/root');
      assert.equal(root.json().rootId, TEST_ROOT_ID);
      assert.equal(root.json().rootKeyId, vectorKey('root').id);
      const trusted = await s.request('GET', '/api/root/trusted');
      assert.equal(trusted.headers['content-type'], 'application/x.ubuntu.assertion');
      const stream = decodeStream(trusted.raw);
      assert.deepEqual(stream.map((a) => `${a.type}:${a.headerString('name')}`), ['account:', 'account-key:root', 'account-key:store']);
      // The store key is certified by the root key of the (trusted) root account.
      const db = new TrustDatabase({ trusted: [stream[0]!, stream[1]!], now: () => new Date() });
      db.add(stream[2]!);
      const me = await s.request('GET', '/api/whoami', { token: admin });
      assert.equal(me.json().superuser, true);
      assert.equal(me.json().username, 'admin');
    });

    let brandAccount: Assertion;
    await t.test('account add: signed by the root, verifiable from the trusted stream', async () => {
      const res = await s.request('POST', '/api/accounts', { token: admin, body: { accountId: 'acme', displayName: 'ACME Inc.', validation: 'verified' } });
      assert.equal(res.status, 201, res.body);
      brandAccount = decode(res.json().assertion);
      assert.equal(brandAccount.headerString('display-name'), 'ACME Inc.');
      trustedDb((await s.request('GET', '/api/root/trusted')).raw).add(brandAccount);
      const dup = await s.request('POST', '/api/accounts', { token: admin, body: { accountId: 'acme' } });
      assert.equal(dup.status, 409);
      assert.equal(dup.json().error.code, 'account-exists');
      const bad = await s.request('POST', '/api/accounts', { token: admin, body: { accountId: 'Not Valid!' } });
      assert.equal(bad.status, 400);
    });

    await t.test('key register: an account-key-request certified by the root key', async () => {
      const brandAdmin = await s.tokenFor(['admin'], 'acme');
      const request = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since: new Date('2024-01-01T00:00:00Z') });
      const res = await s.request('POST', '/api/accounts/acme/account-keys', { token: brandAdmin, body: { accountKeyRequest: request.toString() } });
      assert.equal(res.status, 201, res.body);
      const accountKey = decode(res.json().assertion);
      assert.equal(accountKey.headerString('public-key-sha3-384'), vectorKey('brand').id);
      assert.equal(accountKey.headerString('since'), '2024-01-01T00:00:00Z');
      const db = trustedDb((await s.request('GET', '/api/root/trusted')).raw);
      db.addBatch([...decodeStream(res.json().chain), accountKey]);
      const listed = decodeStream((await s.request('GET', '/api/accounts/acme/account-keys', { token: brandAdmin })).raw);
      assert.deepEqual(listed.map((a) => a.headerString('name')), ['models']);

      assert.equal((await s.request('POST', '/api/accounts', { token: admin, body: { accountId: 'other' } })).status, 201);
      const otherAdmin = await s.tokenFor(['admin'], 'other');
      assert.equal((await s.request('POST', '/api/accounts/acme/account-keys', { token: otherAdmin, body: { accountKeyRequest: request.toString() } })).status, 403);
      const forOther = createAccountKeyRequest({ key: vectorKey('device'), accountId: 'other', name: 'x', since: new Date() });
      const wrongAccount = await s.request('POST', '/api/accounts/acme/account-keys', { token: brandAdmin, body: { accountKeyRequest: forOther.toString() } });
      assert.equal(wrongAccount.status, 400);
      assert.match(wrongAccount.json().error.message, /is for account "other"/);
      const tampered = request.toString().replace('name: models', 'name: models2');
      const forged = await s.request('POST', '/api/accounts/acme/account-keys', { token: brandAdmin, body: { accountKeyRequest: tampered } });
      assert.equal(forged.status, 400);
      assert.equal(forged.json().error.code, 'assertion-bad-signature');
      const garbage = await s.request('POST', '/api/accounts/acme/account-keys', { token: brandAdmin, body: { accountKeyRequest: 'not an assertion' } });
      assert.equal(garbage.status, 400);
      assert.equal(garbage.json().error.code, 'assertion-malformed');
    });

    await t.test('users, roles, tokens and password login', async () => {
      const created = await s.request('POST', '/api/users', { token: admin, body: { username: 'alice', password: 'correct horse battery' } });
      assert.equal(created.status, 201, created.body);
      const roles = await s.request('PUT', '/api/accounts/acme/members/alice', { token: admin, body: { roles: ['publisher', 'viewer'] } });
      assert.equal(roles.status, 200, roles.body);
      const bad = await s.request('POST', '/api/login', { body: { username: 'alice', password: 'wrong password' } });
      assert.equal(bad.status, 401);
      assert.equal(bad.json().error.code, 'login-failed');
      const login = await s.request('POST', '/api/login', { body: { username: 'alice', password: 'correct horse battery' } });
      assert.equal(login.status, 200, login.body);
      const token = login.json().token as string;
      assert.deepEqual((await s.request('GET', '/api/whoami', { token })).json().roles, { acme: ['publisher', 'viewer'] });
      assert.deepEqual((await s.request('GET', '/api/accounts', { token })).json().accounts.map((a: { accountId: string }) => a.accountId), ['acme']);
      // A token can narrow but never widen what its user holds.
      const narrow = await s.request('POST', '/api/tokens', { token, body: { name: 'ci', accountId: 'acme', roles: ['viewer'], expiresInDays: 30 } });
      assert.equal(narrow.status, 201, narrow.body);
      const wide = await s.request('POST', '/api/tokens', { token, body: { name: 'x', roles: ['admin'] } });
      assert.equal(wide.status, 403);
      const su = await s.request('POST', '/api/tokens', { token, body: { name: 'x', roles: ['superuser'] } });
      assert.equal(su.status, 403);
      const list = (await s.request('GET', '/api/tokens', { token })).json().tokens as { id: number; name: string }[];
      assert.ok(list.every((t2) => !('token' in t2)));
      const ci = narrow.json().apiToken.id as number;
      assert.equal((await s.request('DELETE', `/api/tokens/${ci}`, { token })).status, 200);
      const revoked = await s.request('GET', '/api/whoami', { token: narrow.json().token });
      assert.equal(revoked.status, 401);
      assert.equal(revoked.json().error.code, 'token-revoked');
    });

    await t.test('every change is in the audit log, queryable by account', async () => {
      const log = (await s.request('GET', '/api/accounts/acme/audit', { token: admin })).json();
      const actions = (log.entries as { action: string }[]).map((e) => e.action);
      for (const a of ['account.create', 'account-key.register', 'account.members.set']) assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
      const all = (await s.request('GET', '/api/audit?limit=1000', { token: admin })).json();
      assert.ok((all.entries as { action: string }[]).some((e) => e.action === 'root.create' || e.action === 'user.create'));
      const viewer = await s.tokenFor(['viewer'], 'acme');
      assert.equal((await s.request('GET', '/api/accounts/acme/audit', { token: viewer })).status, 403);
    });

    await t.test('request size limits per route', async () => {
      const huge = await s.request('POST', '/api/login', { body: { username: 'x', password: 'p'.repeat(8000) } });
      assert.equal(huge.status, 413);
      assert.equal(huge.json().error.code, 'payload-too-large');
    });

    await t.test('health, readiness and metrics', async () => {
      assert.equal((await s.request('GET', '/healthz')).status, 200);
      assert.equal((await s.request('GET', '/readyz')).json().status, 'ready');
      const metrics = await s.request('GET', '/metrics', { token: admin });
      assert.match(metrics.body, /snapline_signatures_total\{type="account"\} 2/);
      assert.match(metrics.body, /snapline_http_requests_total\{route="\/api\/accounts",method="POST",status="201"\}/);
      if (engine === 'postgres') assert.match(metrics.body, /snapline_db_pool_connections\{state="total"\} [1-9]/);
    });
  });
}
