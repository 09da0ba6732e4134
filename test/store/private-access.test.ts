// Who sees a brand store's private snaps (docs/store.md, Visibility): with the
// default 'verified', a device session of one of the store's models or a
// token with the store-download role on the store's brand; naming the store
// in a header is not enough (a store id is printed in every model). With
// 'store-id', naming the store is enough, as before the setting existed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eachEngine } from './engines.ts';
import { expectStatus, openSession, push, storeWorld, testSnaps, TEST_ADMIN_TOKEN } from './fixtures.ts';
import type { TestServer } from '../helpers/server.ts';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'snap-device-store': 'acme-store', 'content-type': 'application/json' };

/** The store world with acme-app (private, acme-store) and core20 (public, operator-store) released, and acme-store back to the default. */
async function world(engine: 'sqlite' | 'postgres') {
  const s = await storeWorld(engine);
  const snaps = await testSnaps();
  const publisher = await s.tokenFor(['publisher'], 'acme');
  const ids: Record<string, string> = {};
  ids.core20 = (await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'core20', private: false } }), 201)).json().snap.snapId;
  await expectStatus(push(s, TEST_ADMIN_TOKEN, 'core20', snaps.get('core20')!.bytes, 'stable'), 201);
  for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) {
    ids[name] = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name } }), 201)).json().snap.snapId;
    await expectStatus(push(s, publisher, name, snaps.get(name)!.bytes, 'stable'), 201);
  }
  const brandAdmin = await s.tokenFor(['admin'], 'acme');
  const set = await expectStatus(s.request('PATCH', '/api/store/stores/acme-store', { token: brandAdmin, body: { privateAccess: 'verified' } }), 200);
  assert.equal(set.json().store.privateAccess, 'verified');
  return { s, ids, brandAdmin };
}

/** What an install of `name` from stable answers: 'install' or the error code. */
async function install(s: TestServer, name: string, headers: Record<string, string>): Promise<string> {
  const res = await s.request('POST', '/v2/snaps/refresh', { headers: { ...HEADERS, ...headers }, body: { context: [], actions: [{ action: 'install', 'instance-key': 'i1', name, channel: 'stable' }] } });
  if (res.status !== 200) return `http ${res.status} ${res.json()['error-list']?.[0]?.code}`;
  const r = res.json().results[0];
  return r.result === 'error' ? r.error.code : r.result;
}

test('a new store hides its private snaps from requests that only name it (the default)', async (t) => {
  const s = await storeWorld('sqlite');
  t.after(() => s.close());
  const created = await expectStatus(s.request('POST', '/api/store/stores', { token: TEST_ADMIN_TOKEN, body: { storeId: 'new-store', brand: 'acme' } }), 201);
  assert.equal(created.json().store.privateAccess, 'verified');
  assert.equal((await expectStatus(s.request('GET', '/api/store/stores/new-store', { token: TEST_ADMIN_TOKEN }), 200)).json().store.privateAccess, 'verified');
});

eachEngine('private snaps: a device session or a store-download credential sees them; naming the store does not', async (engine, t) => {
  const { s, ids, brandAdmin } = await world(engine);
  t.after(() => s.close());

  // By header alone: public snaps only; the private ones do not exist.
  assert.equal(await install(s, 'core20', {}), 'install');
  assert.equal(await install(s, 'acme-app', {}), 'name-not-found');
  assert.equal((await s.request('GET', '/v2/snaps/info/acme-app', { headers: HEADERS })).status, 404);
  const found = (await expectStatus(s.request('GET', '/v2/snaps/find?q=acme', { headers: HEADERS }), 200)).json().results as { name: string }[];
  assert.deepEqual(found.map((r) => r.name), []);
  assert.equal((await s.request('GET', `/v2/assertions/snap-declaration/16/${ids['acme-app']}`, { headers: HEADERS })).status, 404);

  // A device session of one of the store's models.
  const macaroon = await openSession(s, ids);
  assert.equal(await install(s, 'acme-app', { 'snap-device-authorization': `Macaroon root="${macaroon}"` }), 'install');

  // A store credential, in the forms snapd's prepare-image (UBUNTU_STORE_AUTH) and other clients send.
  const download = await s.tokenFor(['store-download'], 'acme');
  assert.equal(await install(s, 'acme-app', { authorization: `Macaroon ${download}` }), 'install');
  assert.equal(await install(s, 'acme-app', { authorization: `Bearer ${download}` }), 'install');
  assert.equal((await expectStatus(s.request('GET', '/v2/snaps/info/acme-app', { headers: { ...HEADERS, authorization: `Macaroon ${download}` } }), 200)).json().name, 'acme-app');
  assert.equal((await s.request('GET', `/v2/assertions/snap-declaration/16/${ids['acme-app']}`, { headers: { ...HEADERS, authorization: `Macaroon ${download}` } })).status, 200);

  // Other roles, and store-download on another brand, see nothing more than anyone.
  for (const token of [await s.tokenFor(['publisher'], 'acme'), brandAdmin, await s.tokenFor(['store-download'], 'other')]) {
    assert.equal(await install(s, 'acme-app', { authorization: `Macaroon ${token}` }), 'name-not-found');
  }
  // A token that is not one is refused, not taken as anonymous.
  const bogus = await s.request('POST', '/v2/snaps/refresh', {
    headers: { ...HEADERS, authorization: 'Macaroon snl_not-a-real-token' },
    body: { context: [], actions: [{ action: 'install', 'instance-key': 'i1', name: 'core20', channel: 'stable' }] },
  });
  assert.equal(bogus.status, 401, bogus.body);
  assert.ok(Array.isArray(bogus.json()['error-list']), bogus.body);
});

eachEngine("'store-id': naming the store is enough again; only the brand's admins may change it", async (engine, t) => {
  const { s, brandAdmin } = await world(engine);
  t.after(() => s.close());
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const denied = await s.request('PATCH', '/api/store/stores/acme-store', { token: viewer, body: { privateAccess: 'store-id' } });
  assert.equal(denied.status, 403);
  const bad = await s.request('PATCH', '/api/store/stores/acme-store', { token: brandAdmin, body: { privateAccess: 'anyone' } });
  assert.equal(bad.status, 400);
  assert.equal(await install(s, 'acme-app', {}), 'name-not-found');
  await expectStatus(s.request('PATCH', '/api/store/stores/acme-store', { token: brandAdmin, body: { privateAccess: 'store-id' } }), 200);
  assert.equal(await install(s, 'acme-app', {}), 'install');
});
