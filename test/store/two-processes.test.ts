// Two server processes on one database (simulated: two servers, two
// connection pools): a device session opened on one works on the other, and
// a release made on one reaches devices served by the other within a second.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccountKeyRequest } from '../../src/assertions/index.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { KeyCustody, loadMasterKeyRing } from '../../src/platform/keys/index.ts';
import { startServer, type RunningServer } from '../../src/platform/server.ts';
import { storePlugin } from '../../src/store/index.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { TEST_ADMIN_TOKEN, TEST_MASTER_KEY, TEST_ROOT_ID } from '../helpers/server.ts';
import { VECTORS_DIR, vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, KEY_SINCE, sessionRequest, testSnaps } from './fixtures.ts';

eachEngine('sessions and releases are shared by every process on the database', async (engine, t) => {
  const tdb = await createTestDatabase(engine);
  const env = { SNAPLINE_MASTER_KEY: TEST_MASTER_KEY, SNAPLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SNAPLINE_ROOT_ID: TEST_ROOT_ID };
  const custody = new KeyCustody(tdb.db.kysely, await loadMasterKeyRing({ key: TEST_MASTER_KEY }));
  for (const name of ['root', 'store']) await custody.import(name, await readFile(join(VECTORS_DIR, `keys/${name}.pkcs8.pem`)), { accountId: TEST_ROOT_ID });
  const dirs: string[] = [];
  const servers: RunningServer[] = [];
  t.after(async () => {
    for (const s of servers) await s.close();
    await tdb.cleanup();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const blobDir = await mkdtemp(join(tmpdir(), 'snapline-2p-'));
  dirs.push(blobDir);
  for (let i = 0; i < 2; i++) {
    // One data folder (blobs on shared storage), one database, two servers.
    const config = loadConfig({ data: blobDir, db: 'sqlite:/unused', listen: '127.0.0.1:0' }, { ...env, SNAPLINE_LOG_LEVEL: 'silent' }, blobDir);
    servers.push(await startServer({ config, env, database: i === 0 ? tdb.db : tdb.reopen(), listen: false, tokenRateLimit: 100_000, services: [storePlugin] }));
  }
  const [a, b] = servers as [RunningServer, RunningServer];
  const call = async (s: RunningServer, method: string, url: string, o: { body?: unknown; payload?: Buffer; headers?: Record<string, string>; token?: string } = {}) => {
    const res = await s.app.inject({
      method: method as 'GET',
      url,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
      ...(o.body !== undefined ? { payload: o.body as object } : o.payload ? { payload: o.payload } : {}),
    });
    return { status: res.statusCode, json: () => res.json(), body: res.body };
  };
  const ok = async (p: Promise<{ status: number; body: string; json: () => any }>, status = 200) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await p;
    assert.equal(r.status, status, r.body);
    return r.json();
  };
  const admin = TEST_ADMIN_TOKEN;
  await ok(call(a, 'POST', '/api/accounts', { token: admin, body: { accountId: 'acme' } }), 201);
  const akr = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since: KEY_SINCE });
  await ok(call(a, 'POST', '/api/accounts/acme/account-keys', { token: admin, body: { accountKeyRequest: akr.toString() } }), 201);
  await ok(call(a, 'POST', '/api/store/stores', { token: admin, body: { storeId: 'acme-store', brand: 'acme' } }), 201);
  const reg = await ok(call(a, 'POST', '/api/store/stores/acme-store/snaps', { token: admin, body: { name: 'acme-app' } }), 201);
  const snaps = await testSnaps();
  const octet = { 'content-type': 'application/octet-stream' };
  await ok(call(a, 'POST', '/api/store/snaps/acme-app/revisions?release=stable', { token: admin, payload: snaps.get('acme-app')!.bytes, headers: octet }), 201);
  await ok(call(a, 'POST', '/api/store/snaps/acme-app/revisions', { token: admin, payload: snaps.get('acme-app-2')!.bytes, headers: octet }), 201);

  // Session opened on A (nonce from A), used on B.
  const { model, serial } = deviceIdentity({ 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'acme-app': reg.snap.snapId });
  const nonce = (await ok(call(a, 'POST', '/api/v1/snaps/auth/nonces'))).nonce;
  const session = (await ok(call(b, 'POST', '/api/v1/snaps/auth/sessions', { body: { 'device-session-request': sessionRequest(nonce).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() } }))).macaroon;
  const headers = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-device-authorization': `Macaroon root="${session}"` };
  const refresh = (s: RunningServer) =>
    ok(call(s, 'POST', '/v2/snaps/refresh', { headers, body: { context: [{ 'snap-id': reg.snap.snapId, 'instance-key': 'k', revision: 1, 'tracking-channel': 'stable', epoch: { read: [0], write: [0] } }], actions: [{ action: 'refresh', 'instance-key': 'k', 'snap-id': reg.snap.snapId }] } }));
  assert.deepEqual((await refresh(a)).results, [], 'A accepts the session B opened; nothing newer in stable yet');
  assert.deepEqual((await refresh(b)).results, []);
  // Release on A: B serves it within a second.
  await ok(call(a, 'POST', '/api/store/snaps/acme-app/releases', { token: admin, body: { revision: 2, channels: ['stable'] } }));
  assert.equal((await refresh(a)).results[0].snap.revision, 2, 'the process that made the change sees it at once');
  await sleep(1100);
  let got: number | undefined;
  for (let i = 0; i < 20 && got !== 2; i++) {
    got = (await refresh(b)).results[0]?.snap.revision;
    if (got !== 2) await sleep(100);
  }
  assert.equal(got, 2, 'the other process serves the release after its cache second');
});
