// Wire compatibility with snapd's own output: the serial-request and the
// model in test/fixtures/snapd-vectors were made by snapd's code (device key, brand key
// and root of the vectors). The vault accepts them as snapd sends them, and
// its serial verifies against the vectors' trusted root.
import assert from 'node:assert/strict';
import { TrustDatabase, decodeStream, type SerialData } from '../../src/assertions/index.ts';
import { createVaultService, type VaultTables } from '../../src/vault/index.ts';
import { ENGINES, postgresUnavailable } from '../helpers/databases.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { test } from 'node:test';

for (const engine of ENGINES) {
  test(`a serial-request and a model made by snapd register, and the serial verifies against snapd's view of the root [${engine}]`, async (t) => {
    if (engine === 'postgres') {
      const reason = await postgresUnavailable();
      if (reason) return void t.skip(reason);
    }
    // The vectors' root keys and root id: the server is the vectors' authority.
    const s = await startTestServer(engine, { services: [createVaultService()], env: { SNAPLINE_ROOT_ID: 'vectors-root' } });
    t.after(() => s.close());
    const admin = TEST_ADMIN_TOKEN;
    const must = async (method: string, url: string, body: unknown) => {
      const r = await s.request(method, url, { token: admin, body });
      assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${r.body}`);
      return r.json();
    };
    await must('POST', '/api/accounts', { accountId: 'vectors-brand' });
    // The brand key with the account-key snapd's tools made for it (uploaded, checked against the root).
    await must('POST', '/api/vault/brands/vectors-brand/keys', { name: 'models', pem: vectorKey('brand').toPem(), accountKey: vectorBytes('brand.account-key').toString() });
    await must('POST', '/api/vault/brands/vectors-brand/models', { model: 'vectors-core20', key: 'models', allowProposed: true });
    const { secret, apiKey } = await must('POST', '/api/vault/brands/vectors-brand/api-keys', { name: 'line' });
    // The vector's request-id, as if this vault had issued it.
    const db = s.server.ctx.db.kysely.withTables<VaultTables>();
    const now = Date.now();
    await db.insertInto('vault_nonces').values({ nonce: 'REQ-ID-0001', api_key_id: apiKey.id, issued_to: `key:${apiKey.id}`, created_at: new Date(now).toISOString(), expires_at: new Date(now + 60_000).toISOString(), used_at: null }).execute();

    const body = Buffer.concat([vectorBytes('serial-request.serial-request'), Buffer.from('\n'), vectorBytes('model-core20.model')]);
    const r = await s.request('POST', '/v1/serial', { headers: { 'api-key': secret, 'content-type': 'application/x.ubuntu.assertion', 'snap-device-capabilities': 'serial-stream' }, payload: body });
    assert.equal(r.status, 200, r.body);
    const stream = decodeStream(r.raw);
    const d = stream[0]!.data as SerialData;
    assert.deepEqual([d.brandId, d.model, d.serial, d.deviceKeyId], ['vectors-brand', 'vectors-core20', 'vectors-0001', vectorKey('device').id]);
    // What snapd does with the answer: one batch against its trusted root
    // (which knows the store's key, as snapd's test root knows test-store).
    const trustDb = new TrustDatabase({ trusted: decodeStream(vectorBytes('trusted-root.assert')), now: () => new Date() });
    trustDb.addBatch(decodeStream(vectorBytes('store-key.account-key')));
    trustDb.addBatch(stream);
    assert.ok(trustDb.find('serial', ['vectors-brand', 'vectors-core20', 'vectors-0001']));
  });
}
