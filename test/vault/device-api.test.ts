// The device API exactly as snapd drives it: request-id, then the
// serial-request and the model in one stream; the serial verifies against the
// brand key and the root; and each failure has its own code and status.
import assert from 'node:assert/strict';
import { TrustDatabase, decode, decodeStream, type Assertion, type SerialData } from '../../src/assertions/index.ts';
import type { VaultTables } from '../../src/vault/index.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { vaultTest } from './engines.ts';
import { BRAND, MODEL, modelAssertion, postSerial, register, requestId, serialRequest } from './helpers.ts';

const device = vectorKey('device');
const stranger = vectorKey('stranger');

function assertVaultError(r: { status: number; body: string; headers: Record<string, unknown> }, status: number, code: string): void {
  assert.equal(r.status, status, r.body);
  // snapd reads the message only with exactly this content type.
  assert.equal(r.headers['content-type'], 'application/json');
  const body = JSON.parse(r.body) as { code: string; message: string; error_list: { code: string; message: string }[] };
  assert.equal(body.code, code, r.body);
  assert.equal(body.error_list[0]!.message, body.message);
}

/** A serial-request with the device's headers but signed by another key. */
function signedByOther(req: Assertion): Buffer {
  const sig = stranger.sign(req.content, new Date());
  return Buffer.concat([req.content, Buffer.from('\n\n' + sig + '\n')]);
}

vaultTest('a device registers like snapd: request-id, serial-request + model, a serial that verifies against the brand key and the root', async (v) => {
  const r = await register(v, device, { body: 'mac: 00:11:22:33:44:55\n' });
  assert.equal(r.status, 200, r.answer.body);
  assert.equal(r.answer.headers['content-type'], 'application/x.ubuntu.assertion');
  const [serial, ...chain] = r.assertions;
  assert.equal(serial!.type, 'serial');
  const d = serial!.data as SerialData;
  assert.equal(d.brandId, BRAND);
  assert.equal(d.model, MODEL);
  assert.equal(d.deviceKeyId, device.id);
  assert.equal(serial!.authorityId, BRAND);
  assert.equal(serial!.body?.toString(), 'mac: 00:11:22:33:44:55\n');
  assert.match(d.serial, /^[0-9a-f-]{36}$/);
  // As snapd does: the chain comes in the same stream, checked against the root.
  const trusted = decodeStream((await v.s.request('GET', '/api/root/trusted')).raw);
  const db = new TrustDatabase({ trusted, now: () => new Date() });
  db.addBatch([serial!, ...chain]);
  assert.equal(serial!.signKeyId, v.brandKey.id);
  assert.deepEqual(chain.map((a) => a.type), ['account', 'account-key']);

  // The same device key again (a new request-id): its serial back, no new log row.
  const again = await register(v, device);
  assert.equal(again.status, 200);
  assert.equal((again.assertions[0]!.data as SerialData).serial, d.serial);
  const log = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: v.admin })).json();
  assert.equal(log.entries.length, 1);
  assert.equal(log.entries[0].serial, d.serial);
  assert.equal(log.entries[0].deviceKeyId, device.id);
  assert.equal(log.entries[0].apiKeyName, 'line-1');
  assert.match(log.entries[0].userAgent, /^snapd\//);
});

vaultTest('a request-id is single use, random, and bound to its api-key', async (v) => {
  const rid = await requestId(v);
  assert.match(rid, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(await requestId(v), rid);
  const req = serialRequest(device, { requestId: rid });
  assert.equal((await postSerial(v, [req, v.model])).status, 200);
  assertVaultError(await postSerial(v, [req, v.model]), 409, 'request-id-used');
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: 'made-up' }), v.model]), 400, 'request-id-unknown');
  // Issued for another API key.
  const other = (await v.s.request('POST', `/api/vault/brands/${BRAND}/api-keys`, { token: v.admin, body: { name: 'line-2' } })).json().secret as string;
  const rid2 = await requestId(v, other);
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid2 }), v.model]), 400, 'request-id-unknown');
});

vaultTest('failed requests do not consume their request-id', async (v) => {
  const rid = await requestId(v);
  const wrongModel = modelAssertion(v.brandKey, 'other');
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid, model: 'other' }), wrongModel]), 404, 'model-unknown');
  assert.equal((await postSerial(v, [serialRequest(device, { requestId: rid }), v.model])).status, 200);
});

vaultTest('each check fails with its own code: api key, stream, signature, model', async (v) => {
  const rid = await requestId(v);
  const good = serialRequest(device, { requestId: rid });
  // api-key
  assertVaultError(await v.s.request('POST', '/v1/request-id'), 401, 'api-key-missing');
  assertVaultError(await v.s.request('POST', '/v1/request-id', { headers: { 'api-key': 'svk_wrong' } }), 401, 'api-key-invalid');
  assertVaultError(await postSerial(v, [good, v.model], 'svk_wrong'), 401, 'api-key-invalid');
  const scoped = (await v.s.request('POST', `/api/vault/brands/${BRAND}/api-keys`, { token: v.admin, body: { name: 'other-line', models: ['other'] } })).json().secret as string;
  const rid2 = await requestId(v, scoped);
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid2 }), v.model], scoped), 403, 'api-key-forbidden');
  // stream
  assertVaultError(await postSerial(v, Buffer.from('not an assertion')), 400, 'stream-invalid');
  assertVaultError(await postSerial(v, [good]), 400, 'stream-invalid');
  assertVaultError(await postSerial(v, [v.model, good]), 400, 'stream-invalid');
  // signature by another key
  assertVaultError(await postSerial(v, Buffer.concat([signedByOther(good), Buffer.from('\n'), v.model.encode()])), 400, 'serial-request-bad-signature');
  // model: unknown, mismatching, not signed by the brand's registered key
  const other = modelAssertion(v.brandKey, 'other');
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid, model: 'other' }), other]), 404, 'model-unknown');
  assertVaultError(await postSerial(v, [good, other]), 400, 'model-mismatch');
  assertVaultError(await postSerial(v, [good, modelAssertion(stranger, MODEL)]), 400, 'model-invalid');
  // Still unused after all these failures.
  assert.equal((await postSerial(v, [good, v.model])).status, 200);
});

vaultTest('revoked, expired and used-up api keys are refused', async (v) => {
  const create = async (body: object) => (await v.s.request('POST', `/api/vault/brands/${BRAND}/api-keys`, { token: v.admin, body })).json() as { secret: string; apiKey: { id: number } };
  const quota = await create({ name: 'batch', maxSerials: 1 });
  const rid = await requestId(v, quota.secret);
  assert.equal((await postSerial(v, [serialRequest(device, { requestId: rid }), v.model], quota.secret)).status, 200);
  const rid2 = await requestId(v, v.apiKey);
  assertVaultError(await v.s.request('POST', '/v1/request-id', { headers: { 'api-key': quota.secret } }), 403, 'api-key-quota');
  const expired = await create({ name: 'old', validUntil: '2020-01-01T00:00:00Z' });
  assertVaultError(await v.s.request('POST', '/v1/request-id', { headers: { 'api-key': expired.secret } }), 403, 'api-key-expired');
  const listed = (await v.s.request('GET', `/api/vault/brands/${BRAND}/api-keys`, { token: v.admin })).json();
  assert.ok(!JSON.stringify(listed).includes(quota.secret), 'secrets are never shown again');
  assert.ok(!JSON.stringify(listed).includes('hash'));
  assert.equal((await v.s.request('DELETE', `/api/vault/brands/${BRAND}/api-keys/1`, { token: v.admin })).status, 200);
  await new Promise((r) => setTimeout(r, 1100)); // other processes' caches: at most a second
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid2 }), v.model]), 401, 'api-key-invalid');
});

vaultTest('proposed serials: honoured when the model allows, refused when taken by another device or off-pattern', async (v) => {
  const add = await v.s.request('POST', `/api/vault/brands/${BRAND}/models`, { token: v.admin, body: { model: 'kiosk', key: 'serials', allowProposed: true, serialPattern: 'K-[0-9]+' } });
  assert.equal(add.status, 201, add.body);
  const kiosk = modelAssertion(v.brandKey, 'kiosk');
  const first = await register(v, device, { modelName: 'kiosk', model: kiosk, serial: 'K-100' });
  assert.equal(first.status, 200, first.answer.body);
  assert.equal((first.assertions[0]!.data as SerialData).serial, 'K-100');
  const taken = await register(v, stranger, { modelName: 'kiosk', model: kiosk, serial: 'K-100' });
  assertVaultError(taken.answer, 409, 'serial-taken');
  const offPattern = await register(v, stranger, { modelName: 'kiosk', model: kiosk, serial: 'X-1' });
  assertVaultError(offPattern.answer, 400, 'serial-invalid');
  // A model that does not take proposals generates one instead.
  const generated = await register(v, stranger, { serial: 'K-100' });
  assert.equal(generated.status, 200);
  assert.notEqual((generated.assertions[0]!.data as SerialData).serial, 'K-100');
});

vaultTest('key rotation: a model moves to a new key; its counter and its devices stay', async (v) => {
  const before = await register(v, device);
  const created = await v.s.request('POST', `/api/vault/brands/${BRAND}/keys`, { token: v.admin, body: { name: 'serials-2026', pem: stranger.toPem() } });
  assert.equal(created.status, 201, created.body);
  const r = await v.s.request('PATCH', `/api/vault/brands/${BRAND}/models/${MODEL}`, { token: v.admin, body: { key: 'serials-2026', allowProposed: true } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json().model.keyId, stranger.id);
  assert.equal(r.json().model.allowProposed, true);
  const fresh = await register(v, vectorKey('brand-expired'));
  assert.equal(fresh.status, 200, fresh.answer.body);
  assert.equal(fresh.assertions[0]!.signKeyId, stranger.id);
  (new TrustDatabase({ trusted: decodeStream((await v.s.request('GET', '/api/root/trusted')).raw), now: () => new Date() })).addBatch(fresh.assertions);
  // A device registered before gets its serial as it was signed.
  const again = await register(v, device);
  assert.equal(again.assertions[0]!.encode().toString(), before.assertions[0]!.encode().toString());
  assert.equal((await v.s.request('PATCH', `/api/vault/brands/${BRAND}/models/${MODEL}`, { token: v.admin, body: { key: 'nokey' } })).status, 404);
  assert.equal((await v.s.request('PATCH', `/api/vault/brands/${BRAND}/models/${MODEL}`, { token: v.admin, body: {} })).status, 400);
});

vaultTest('counter serials and the "refuse" duplicate policy', async (v) => {
  await v.s.request('POST', `/api/vault/brands/${BRAND}/models`, { token: v.admin, body: { model: 'counted', key: 'serials', serialTemplate: 'ACME-{counter:6}', duplicates: 'refuse' } });
  const m = modelAssertion(v.brandKey, 'counted');
  const a = await register(v, device, { modelName: 'counted', model: m });
  const b = await register(v, stranger, { modelName: 'counted', model: m });
  assert.deepEqual([a, b].map((r) => (r.assertions[0]!.data as SerialData).serial), ['ACME-000001', 'ACME-000002']);
  assertVaultError((await register(v, device, { modelName: 'counted', model: m })).answer, 409, 'device-registered');
});

vaultTest('a reservation left without its signature (a process stopped) is completed for the same device key, polled meanwhile', async (v) => {
  const first = await register(v, device);
  const serial = (first.assertions[0]!.data as SerialData).serial;
  const db = v.s.server.ctx.db.kysely.withTables<VaultTables>();
  // As if the process had stopped between the reservation and the signature.
  await db.updateTable('vault_signing_log').set({ assertion: null }).execute();
  const polled = await register(v, device);
  assert.equal(polled.status, 202);
  await db.updateTable('vault_signing_log').set({ signed_at: new Date(Date.now() - 60_000).toISOString() }).execute();
  const done = await register(v, device);
  assert.equal(done.status, 200, done.answer.body);
  assert.equal((done.assertions[0]!.data as SerialData).serial, serial);
  // Another device still cannot have it.
  assert.equal((await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: v.admin })).json().entries.length, 1);
});

vaultTest('server faults answer 503 with Retry-After (snapd retries), never 400 or 500', async (v) => {
  assert.equal((await v.s.request('DELETE', `/api/vault/brands/${BRAND}/keys/serials`, { token: v.admin })).status, 200);
  const r = await register(v, device);
  assertVaultError(r.answer, 503, 'key-unusable');
  assert.equal(r.answer.headers['retry-after'], '60');
  // The reservation was given back: nothing in the log.
  assert.equal((await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: v.admin })).json().entries.length, 0);
});

vaultTest("snapd's default vault endpoints on a store base URL serve the same protocol", async (v) => {
  const rid = await v.s.request('POST', '/api/v1/snaps/auth/request-id', { headers: { 'api-key': v.apiKey } });
  assert.equal(rid.status, 200);
  const req = serialRequest(device, { requestId: rid.json()['request-id'] });
  const r = await v.s.request('POST', '/api/v1/snaps/auth/devices', { headers: { 'api-key': v.apiKey, 'content-type': 'application/x.ubuntu.assertion' }, payload: Buffer.concat([req.encode(), Buffer.from('\n'), v.model.encode()]) });
  assert.equal(r.status, 200, r.body);
  assert.equal(decodeStream(r.raw)[0]!.type, 'serial');
});

vaultTest('GET /v1/version', async (v) => {
  const r = await v.s.request('GET', '/v1/version');
  assert.equal(r.status, 200);
  assert.equal(r.json().service, 'snapline-vault');
});

vaultTest('a full signing queue answers 202 and keeps the request-id for the same request', async (v) => {
  const rid = await requestId(v);
  const req = serialRequest(device, { requestId: rid });
  const r = await postSerial(v, [req, v.model]);
  assert.equal(r.status, 202);
  assert.equal(r.headers['retry-after'], '60');
  const log = (await v.s.request('GET', `/api/vault/brands/${BRAND}/log`, { token: v.admin })).json();
  assert.equal(log.entries.length, 0);
}, { vault: { maxPendingSignatures: 0 } });

// decode is used by the remodel and system-user tests in other files; keep the import honest here.
void decode;

vaultTest('a device key registering again gets its serial back, and the log keeps one row for it', async (v) => {
  const first = await register(v, device);
  const again = await register(v, device);
  const third = await register(v, device);
  assert.deepEqual([again.status, third.status], [200, 200]);
  assert.equal(again.assertions[0]!.encode().toString(), first.assertions[0]!.encode().toString());
  assert.equal(third.assertions[0]!.encode().toString(), first.assertions[0]!.encode().toString());
  const db = v.s.server.ctx.db.kysely.withTables<VaultTables>();
  const rows = await db.selectFrom('vault_signing_log').select('serial').where('device_key_id', '=', device.publicKey.id).execute();
  assert.deepEqual(rows.map((r) => r.serial), [(first.assertions[0]!.data as SerialData).serial]);
});

vaultTest('an expired request-id answers request-id-expired (400), not request-id-used', async (v) => {
  const rid = await requestId(v);
  await new Promise((r) => setTimeout(r, 400));
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid }), v.model]), 400, 'request-id-expired');
}, { vault: { nonceTtlMs: 300 } });

vaultTest('a request-id that expires between its check and its use answers request-id-expired', async (v) => {
  // This process remembers the request-id it handed out as good (no read);
  // the database, which consumes it with the log row, sees it expired.
  const db = v.s.server.ctx.db.kysely.withTables<VaultTables>();
  const expire = (rid: string) => db.updateTable('vault_nonces').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).where('nonce', '=', rid).execute();
  const rid = await requestId(v);
  await expire(rid);
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid }), v.model]), 400, 'request-id-expired');
  // The same on the path of a device key that registers again (its serial back).
  assert.equal((await register(v, device)).status, 200);
  const rid2 = await requestId(v);
  await expire(rid2);
  assertVaultError(await postSerial(v, [serialRequest(device, { requestId: rid2 }), v.model]), 400, 'request-id-expired');
  // A used one is still "used".
  const rid3 = await requestId(v);
  const req = serialRequest(stranger, { requestId: rid3 });
  assert.equal((await postSerial(v, [req, v.model])).status, 200);
  assertVaultError(await postSerial(v, [req, v.model]), 409, 'request-id-used');
});
