// Classic gating (update control), both engines, through the CLI: a snap's
// publisher sets refresh-control in its snap-declaration (the store signs a
// new revision and serves it), then approves and revokes a gated snap's
// revision with validation assertions signed by its key; the store refuses
// a validation of a snap not gated, or signed by another key, and serves
// the validations to devices.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTimestamp, sign, ValidationType } from '../../src/assertions/index.ts';
import { Keyring } from '../../src/keys/keyring.ts';
import { runCli } from '../helpers/cli.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, push, storeWorld, testSnaps } from './fixtures.ts';

eachEngine('gating: refresh-control in the declaration, validations approved and revoked, served to devices', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-gating-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const snaps = await testSnaps();
  const admin = await s.tokenFor(['admin'], 'acme');
  const pub = await s.tokenFor(['publisher'], 'acme');
  const ring = join(dir, 'keyring');
  await new Keyring(ring).add('brand', vectorKey('brand'), 'pw');
  const env = (token: string) => ({ SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: token, SNAPLINE_KEYRING: ring, SNAPLINE_PASSPHRASE: 'pw', SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' });
  const register = async (name: string) => (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name } }), 201)).json().snap.snapId as string;
  const appId = await register('acme-app');
  const gatingId = await register('other-app');
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  const device = { 'snap-device-store': 'acme-store' };

  // Only the publisher's admins set refresh-control.
  assert.equal((await s.request('PUT', '/api/store/snaps/other-app/refresh-control', { token: pub, body: { snaps: ['acme-app'] } })).status, 403);
  const gate = await runCli(['gate', 'other-app', '--controls', 'acme-app'], { env: env(admin) });
  assert.equal(gate.code, 0, gate.err);
  assert.equal(gate.out, `other-app gates ${appId}\n`);
  const decl = await s.request('GET', `/v2/assertions/snap-declaration/16/${gatingId}`, { headers: device });
  assert.equal(decl.status, 200);
  assert.match(decl.body, new RegExp(`refresh-control:\\n  - ${appId}\\n`));
  assert.match(decl.body, /\nrevision: 1\n/);

  // The publisher approves revision 2 of the gated snap with its key; devices fetch the validation.
  const ok = await runCli(['validate', 'acme', gatingId, appId, '2', '-k', 'brand'], { env: env(pub) });
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out, `${appId} revision 2 approved by ${gatingId} (assertion revision 0)\n`);
  const served = await s.request('GET', `/v2/assertions/validation/16/${gatingId}/${appId}/2`, { headers: device });
  assert.equal(served.status, 200);
  assert.match(served.body, /^type: validation\n/);
  // Revoked with a higher assertion revision.
  const revoked = await runCli(['validate', 'acme', gatingId, appId, '2', '-k', 'brand', '--revoke', '--assertion-revision', '1'], { env: env(pub) });
  assert.equal(revoked.out, `${appId} revision 2 revoked by ${gatingId} (assertion revision 1)\n`);
  assert.match((await s.request('GET', `/v2/assertions/validation/16/${gatingId}/${appId}/2`, { headers: device })).body, /\nrevoked: true\n/);

  // Refused: a snap the gating snap does not gate, a revision the store does not have, another key.
  const validation = (gated: string, rev: string, key = vectorKey('brand')) =>
    sign(ValidationType, { headers: { type: 'validation', 'authority-id': 'acme', series: '16', 'snap-id': gatingId, 'approved-snap-id': gated, 'approved-snap-revision': rev, timestamp: formatTimestamp(new Date()) } as never }, key, new Date()).toString();
  const refused = async (assertion: string) => (await s.request('POST', '/api/store/accounts/acme/validations', { token: pub, body: { assertion } })).json().error;
  const notGated = await refused(validation(gatingId, '1'));
  assert.equal(notGated.code, 'validation-invalid');
  assert.match(notGated.message, /other-app does not gate other-app|does not gate/);
  assert.match((await refused(validation(appId, '9'))).message, /acme-app has no revision 9 in this store/);
  assert.match((await refused(validation(appId, '1', vectorKey('device')))).message, /cannot verify the validation/);
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select('action').where('action', 'like', 'store.gating.%').orderBy('id').execute();
  assert.deepEqual(audited.map((a) => a.action), ['store.gating.refresh-control', 'store.gating.validate', 'store.gating.revoke']);
});
