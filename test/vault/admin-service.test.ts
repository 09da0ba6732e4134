// The vault's admin rules through the service API, without HTTP (as the web
// console calls them), and the same rules over HTTP.
import assert from 'node:assert/strict';
import { createVault, isVaultError, type Actor } from '../../src/vault/index.ts';
import { vaultTest } from './engines.ts';
import { BRAND, MODEL } from './helpers.ts';

const actor = (roles: ('admin' | 'viewer' | 'factory-operator')[], username = 'ann'): Actor => ({
  principal: { userId: '1', username, superuser: false, grants: [{ accountId: BRAND, roles }] },
  ip: '127.0.0.1',
  requestId: 'test',
  origin: 'console',
});

vaultTest('admin rules in the service: serial authority, times, log visibility, audit', async (v) => {
  const { admin } = createVault(v.s.server.ctx);
  const brandAdmin = actor(['admin']);
  // Signing as another account needs the admin role there too.
  await assert.rejects(admin.addModel(brandAdmin, BRAND, { model: 'other', key: 'serials', serialAuthority: 'elsewhere' }), (err) => isVaultError(err, 'forbidden'));
  await assert.rejects(admin.updateModel(brandAdmin, BRAND, MODEL, { serialAuthority: 'elsewhere', key: 'serials' }), (err) => isVaultError(err, 'forbidden'));
  const http = await v.s.request('POST', `/api/vault/brands/${BRAND}/models`, { token: v.admin, body: { model: 'other', key: 'serials', serialAuthority: 'elsewhere' } });
  // The operator's superuser may; the account does not exist here.
  assert.notEqual(http.status, 403, http.body);
  // Times are RFC 3339.
  await assert.rejects(admin.createApiKey(brandAdmin, BRAND, { name: 'x', validUntil: 'tomorrow' }), (err) => isVaultError(err, 'validation-failed'));
  const r = await v.s.request('POST', `/api/vault/brands/${BRAND}/api-keys`, { token: v.admin, body: { name: 'x', validUntil: 'tomorrow' } });
  assert.equal(r.status, 400);
  assert.equal(r.json().error.code, 'validation-failed');
  // A change is audited with its actor and origin.
  const { apiKey, secret } = await admin.createApiKey(brandAdmin, BRAND, { name: 'line-9', models: [MODEL] });
  assert.match(secret, /^svk_/);
  assert.equal(apiKey.createdBy, 'ann');
  const audited = await v.s.server.ctx.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'vault.api-key.create').where('target', '=', String(apiKey.id)).executeTakeFirstOrThrow();
  assert.deepEqual([audited.actor, audited.origin], ['user:ann', 'console']);
  // Factory operators read only what their own token registered.
  assert.deepEqual((await admin.searchLog(actor(['factory-operator'], 'op'), BRAND, {})).entries, []);
  const csv = await admin.exportLog(actor(['viewer']), BRAND, { format: 'csv' });
  assert.equal(csv.fileName, `${BRAND}-signing-log.csv`);
  assert.match(csv.body, /^id,brandId,model,serial,deviceKeyId,signedAt,/);
});
