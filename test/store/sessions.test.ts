// Device sessions (protocol 6.3): what the store refuses, and what a session gives.
import assert from 'node:assert/strict';
import { DeviceSessionRequestType, formatTimestamp, sign, SerialType } from '../../src/assertions/index.ts';
import type { StoreOwnTables } from '../../src/store/store.tables.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, expectStatus, sessionRequest, storeWorld } from './fixtures.ts';

eachEngine('device sessions: checks on nonce, signatures, serial, model and store', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const ids = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'acme-app': 'a'.repeat(32) };
  const { model, serial } = deviceIdentity(ids);
  const nonce = async () => (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
  const open = async (body: Record<string, string>) => s.request('POST', '/api/v1/snaps/auth/sessions', { body });
  const good = async () => ({ 'device-session-request': sessionRequest(await nonce()).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() });
  const refused = async (body: Record<string, string>, status: number, pattern: RegExp) => {
    const res = await open(body);
    assert.equal(res.status, status, res.body);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.match(res.json()['error-list'][0].message, pattern);
  };
  // Unknown nonce.
  await refused({ ...(await good()), 'device-session-request': sessionRequest('made-up').toString() }, 401, /nonce/);
  // A session request signed by another key.
  const strangerReq = sign(DeviceSessionRequestType, { headers: { 'brand-id': 'acme', model: 'box', serial: 'box-0001', nonce: await nonce(), timestamp: formatTimestamp(new Date()) } }, vectorKey('stranger'), new Date());
  await refused({ ...(await good()), 'device-session-request': strangerReq.toString() }, 401, /verify/);
  // A serial signed by a key that is not the brand's.
  const forged = sign(SerialType, { headers: { ...Object.fromEntries(['authority-id', 'brand-id', 'model', 'serial', 'device-key', 'device-key-sha3-384', 'timestamp'].map((h) => [h, serial.headerString(h)])) } }, vectorKey('stranger'), new Date());
  await refused({ ...(await good()), 'serial-assertion': forged.toString() }, 401, /verify/);
  // Not an assertion / wrong type.
  await refused({ ...(await good()), 'model-assertion': 'garbage' }, 400, /cannot decode/);
  await refused({ ...(await good()), 'model-assertion': serial.toString() }, 400, /not a model/);
  // A model naming another brand's store.
  await refused({ ...(await good()), 'model-assertion': deviceIdentity(ids, new Date(), 'other-store').model.toString() }, 401, /does not belong to brand acme/);
  await refused({ ...(await good()), 'model-assertion': deviceIdentity(ids, new Date(), 'ghost-store').model.toString() }, 401, /not served here/);
  // The good one, then the session is accepted on every device-facing request (v1 and v2 header names).
  const res = await expectStatus(open(await good()), 200);
  const token = res.json().macaroon as string;
  const ok = await s.request('GET', '/v2/snaps/info/none', { headers: { 'snap-device-authorization': `Macaroon root="${token}"` } });
  assert.equal(ok.status, 404, 'a valid session: the snap is simply not found');
  const v1 = await s.request('GET', '/v2/assertions/account/acme', { headers: { 'x-device-authorization': `Macaroon root="${token}"` } });
  assert.equal(v1.status, 200);
  // Any process can check it: the session is in the database.
  const db = s.server.ctx.db.kysely.withTables<StoreOwnTables>();
  const row = await db.selectFrom('store_sessions').selectAll().executeTakeFirstOrThrow();
  assert.equal(row.serial, 'box-0001');
  assert.equal(row.store_id, 'acme-store');
  assert.notEqual(row.token_hash, token, 'only a hash is stored');
  // Expired (here: changed in the database, as another process would): within a second, snapd is told to refresh it.
  await db.updateTable('store_sessions').set({ expires_at: '2000-01-01T00:00:00.000Z' }).execute();
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await s.request('GET', '/v2/snaps/info/none', { headers: { 'snap-device-authorization': `Macaroon root="${token}"` } });
  assert.equal(expired.status, 401);
  assert.match(String(expired.headers['www-authenticate']), /refresh_device_session=1/);
  assert.equal(expired.json()['error-list'][0].code, 'device-authorization-needs-refresh');
});
