// The vault's admin side and its third-priority flows: remodel, system-user
// assertions, the signing log (search, CSV/JSON export), keys uploaded with
// an account-key certified elsewhere (vault and store as separate servers
// with separate databases).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrustDatabase, createAccountKeyRequest, decode, decodeStream, type SerialData, type SystemUserData } from '../../src/assertions/index.ts';
import { vaultService } from '../../src/vault/index.ts';
import { ENGINES, postgresUnavailable } from '../helpers/databases.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { vaultTest } from './engines.ts';
import { BRAND, MODEL, modelAssertion, postSerial, register, requestId, serialRequest, type TestVault } from './helpers.ts';

const device = vectorKey('device');
const stranger = vectorKey('stranger');

async function trustedDb(v: TestVault): Promise<TrustDatabase> {
  return new TrustDatabase({ trusted: decodeStream((await v.s.request('GET', '/api/root/trusted')).raw), now: () => new Date() });
}

vaultTest('remodel: a device moves to a model that accepts its old one, with every check of the old serial', async (v) => {
  const old = await register(v, device);
  const oldSerial = old.assertions[0]!;
  const s = (oldSerial.data as SerialData).serial;
  for (const body of [
    { model: 'box2', key: 'serials', remodelFrom: [`${BRAND}/${MODEL}`] },
    { model: 'box3', key: 'serials' },
  ]) {
    assert.equal((await v.s.request('POST', `/api/vault/brands/${BRAND}/models`, { token: v.admin, body })).status, 201);
  }
  const box2 = modelAssertion(v.brandKey, 'box2');
  const original = { 'original-brand-id': BRAND, 'original-model': MODEL, 'original-serial': s };
  const remodel = async (key = device, model = box2, extra: Record<string, string> = original, serial = oldSerial) => {
    const rid = await requestId(v);
    return postSerial(v, [serialRequest(key, { requestId: rid, model: model.headerString('model'), extra }), model, serial]);
  };
  const ok = await remodel();
  assert.equal(ok.status, 200, ok.body);
  const [newSerial, ...chain] = decodeStream(ok.body);
  assert.equal((newSerial!.data as SerialData).model, 'box2');
  assert.equal((newSerial!.data as SerialData).deviceKeyId, device.id);
  (await trustedDb(v)).addBatch([newSerial!, ...chain]);
  const log = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log?model=box2`, { token: v.admin })).json();
  assert.equal(log.entries[0].remodelFrom, `${BRAND}/${MODEL}/${s}`);

  const code = async (p: Promise<{ status: number; body: string }>) => {
    const r = await p;
    return `${r.status} ${(JSON.parse(r.body) as { code: string }).code}`;
  };
  assert.equal(await code(remodel(device, modelAssertion(v.brandKey, 'box3'))), '403 remodel-forbidden');
  assert.equal(await code(remodel(device, box2, { ...original, 'original-serial': 'other' })), '400 remodel-invalid');
  // Another device cannot take this device's identity along.
  assert.equal(await code(remodel(stranger, box2)), '400 remodel-invalid');
  // Nor can a serial that was not signed by the brand's key.
  const forged = decode(oldSerial.encode().toString().replace(/\n\n[^]*$/, '') + '\n\n' + stranger.sign(oldSerial.content, new Date()) + '\n');
  assert.equal(await code(remodel(device, box2, original, forged)), '400 remodel-invalid');
  // Without the old serial in the stream.
  const rid = await requestId(v);
  const noOld = await postSerial(v, [serialRequest(device, { requestId: rid, model: 'box2', extra: original }), box2]);
  assert.equal(await code(Promise.resolve(noOld)), '400 remodel-invalid');
});

vaultTest('system-user assertions for models and serials, with an expiry, verifying against the root', async (v) => {
  const r = await v.s.request('POST', `/api/vault/brands/${BRAND}/system-users`, {
    token: v.admin,
    body: { email: 'factory@acme.example', username: 'factory', name: 'Factory', models: [MODEL], serials: ['SN-1'], validHours: 48, sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAm factory'] },
  });
  assert.equal(r.status, 201, r.body);
  const stream = decodeStream(r.json().stream);
  const su = stream[0]!;
  assert.equal(su.type, 'system-user');
  const d = su.data as SystemUserData;
  assert.deepEqual([d.brandId, d.username, [...d.models], [...d.serials], su.format], [BRAND, 'factory', [MODEL], ['SN-1'], 1]);
  assert.equal(d.until.getTime() - d.since.getTime(), 48 * 3600_000);
  (await trustedDb(v)).addBatch(stream);
  const bad = await v.s.request('POST', `/api/vault/brands/${BRAND}/system-users`, { token: v.admin, body: { email: 'x@acme.example', username: 'x', models: [MODEL, 'other'], serials: ['A'] } });
  assert.equal(bad.status, 400);
});

vaultTest('the signing log: search, CSV and JSON export; keys listed without secrets', async (v) => {
  const a = await register(v, device);
  await register(v, stranger);
  const serial = (a.assertions[0]!.data as SerialData).serial;
  const found = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log?serial=${serial}`, { token: v.admin })).json();
  assert.equal(found.entries.length, 1);
  assert.equal(found.entries[0].deviceKeyId, device.id);
  const page = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log?limit=1`, { token: v.admin })).json();
  assert.equal(page.entries.length, 1);
  const next = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log?limit=1&before=${page.nextBefore}`, { token: v.admin })).json();
  assert.equal(next.entries.length, 1);
  assert.notEqual(next.entries[0].id, page.entries[0].id);
  const csv = await v.s.request('GET', `/api/vault/brands/${BRAND}/log/export?format=csv`, { token: v.admin });
  assert.equal(csv.status, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  const lines = csv.body.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^id,brandId,model,serial,deviceKeyId,signedAt/);
  assert.ok(csv.body.includes(serial));
  const keys = (await v.s.request('GET', `/api/vault/brands/${BRAND}/keys`, { token: v.admin })).json();
  assert.deepEqual(keys.keys.map((k: { name: string; keyId: string; registered: boolean }) => [k.name, k.keyId, k.registered]), [['serials', v.brandKey.id, true]]);
  const models = (await v.s.request('GET', `/api/vault/brands/${BRAND}/models`, { token: v.admin })).json();
  assert.deepEqual(models.models.map((m: { model: string; duplicates: string }) => [m.model, m.duplicates]), [[MODEL, 'idempotent']]);
  assert.equal((await v.s.request('DELETE', `/api/vault/brands/${BRAND}/models/${MODEL}`, { token: v.admin })).status, 200);
  const gone = await register(v, device);
  assert.equal(gone.status, 404);
});

for (const engine of ENGINES) {
  test(`vault and store as separate servers with separate databases: a key certified by the store's root, uploaded to the vault [${engine}]`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresUnavailable();
      if (reason) return void t.skip(reason);
    }
    const store = await startTestServer(engine);
    t.after(() => store.close());
    const vault = await startTestServer(engine, { services: [vaultService] });
    t.after(() => vault.close());
    const admin = TEST_ADMIN_TOKEN;
    for (const s of [store, vault]) assert.equal((await s.request('POST', '/api/accounts', { token: admin, body: { accountId: BRAND } })).status, 201);
    const brandKey = vectorKey('brand');
    const akr = createAccountKeyRequest({ key: brandKey, accountId: BRAND, name: 'serials', since: new Date(Date.now() - 3600_000) });
    const certified = await store.request('POST', `/api/accounts/${BRAND}/account-keys`, { token: admin, body: { accountKeyRequest: akr.toString() } });
    assert.equal(certified.status, 201, certified.body);
    const up = await vault.request('POST', `/api/vault/brands/${BRAND}/keys`, { token: admin, body: { name: 'serials', pem: brandKey.toPem(), accountKey: certified.json().assertion } });
    assert.equal(up.status, 201, up.body);
    // An account-key for another key is refused.
    const otherAkr = createAccountKeyRequest({ key: stranger, accountId: BRAND, name: 'other', since: new Date(Date.now() - 3600_000) });
    const other = (await store.request('POST', `/api/accounts/${BRAND}/account-keys`, { token: admin, body: { accountKeyRequest: otherAkr.toString() } })).json().assertion as string;
    const gen = await vault.request('POST', `/api/vault/brands/${BRAND}/keys/serials/account-key`, { token: admin, body: { accountKey: other } });
    assert.equal(gen.status, 400, gen.body);
    assert.equal((await vault.request('POST', `/api/vault/brands/${BRAND}/models`, { token: admin, body: { model: MODEL, key: 'serials' } })).status, 201);
    const apiKey = (await vault.request('POST', `/api/vault/brands/${BRAND}/api-keys`, { token: admin, body: { name: 'line' } })).json().secret as string;
    const v: TestVault = { s: vault, admin, apiKey, brandKey, model: modelAssertion(brandKey, MODEL), close: async () => undefined };
    const r = await register(v, device);
    assert.equal(r.status, 200, r.answer.body);
    const db = new TrustDatabase({ trusted: decodeStream((await store.request('GET', '/api/root/trusted')).raw), now: () => new Date() });
    db.addBatch(r.assertions);
  });
}

vaultTest("factory operators register devices with their token and read only their own log entries", async (v) => {
  const operator = await v.s.tokenFor(['factory-operator'], BRAND);
  const viewer = await v.s.tokenFor(['viewer'], BRAND);
  await v.s.request('POST', '/api/accounts', { token: v.admin, body: { accountId: 'other' } });
  const otherOperator = await v.s.tokenFor(['factory-operator'], 'other');
  const byToken = async (token: string, key = device) => {
    const rid = await v.s.request('POST', '/v1/request-id', { headers: { authorization: `Bearer ${token}` } });
    if (rid.status !== 200) return rid;
    const req = serialRequest(key, { requestId: rid.json()['request-id'] });
    return v.s.request('POST', '/v1/serial', { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x.ubuntu.assertion' }, payload: Buffer.concat([req.encode(), Buffer.from('\n'), v.model.encode()]) });
  };
  const ok = await byToken(operator);
  assert.equal(ok.status, 200, ok.body);
  assert.equal((await byToken(viewer)).status, 403);
  assert.equal((await byToken(otherOperator)).status, 403);
  assert.equal((await byToken('snl_not-a-token-at-all-123456')).status, 401);
  // A request-id asked for with the API key is not the operator's.
  const rid = await requestId(v);
  const cross = await v.s.request('POST', '/v1/serial', {
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/x.ubuntu.assertion' },
    payload: Buffer.concat([serialRequest(stranger, { requestId: rid }).encode(), Buffer.from('\n'), v.model.encode()]),
  });
  assert.equal(cross.status, 400);
  assert.equal((await register(v, stranger)).status, 200);
  const own = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: operator })).json();
  assert.deepEqual(own.entries.map((e: { deviceKeyId: string; apiKeyName: string }) => [e.deviceKeyId, e.apiKeyName.startsWith('user:')]), [[device.id, true]]);
  const all = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: viewer })).json();
  assert.equal(all.entries.length, 2);
  const exported = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log/export?format=json`, { token: operator })).json();
  assert.equal(exported.length, 1);
  // Nothing else in the vault for them.
  assert.equal((await v.s.request('GET', `/api/vault/brands/${BRAND}/models`, { token: operator })).status, 403);
});
