// Validation sets in the store (update control), on both engines: created
// and signed with the brand key of the local keyring (snapline
// validation-set create -k … --push) or by the server with the brand key in
// its custody; refused when they would make a snap the brand's model
// requires invalid, pin a revision the store never had, or reuse a sequence
// point with other snaps, each with the reason; listed; and a device whose
// enforced set pins revision 1 (snapd sends `revision` and `validation-sets`
// in its action) stays on 1 while 2 goes to stable.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTimestamp, sign, ValidationSetType } from '../../src/assertions/index.ts';
import { putAssertion } from '../../src/platform/assertions/index.ts';
import { Keyring } from '../../src/keys/keyring.ts';
import { runCli } from '../helpers/cli.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, expectStatus, openSession, push, storeWorld, testSnaps } from './fixtures.ts';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };

eachEngine('validation sets: created and signed locally or by the server, checked against models and sequences, honoured in refreshes', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-vsets-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const ring = join(dir, 'keyring');
  await new Keyring(ring).add('brand', vectorKey('brand'), 'pw');
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: pub, SNAPLINE_KEYRING: ring, SNAPLINE_PASSPHRASE: 'pw', SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const appId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  // The brand's model (as the vault keeps it: in the assertions table) requires acme-app.
  const ids = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'c'.repeat(32), 'acme-app': appId };
  await putAssertion(s.server.ctx.db.kysely, deviceIdentity(ids).model);

  // Created and signed with the local keyring's brand key, pushed: revision 1 of acme-app pinned.
  const created = await runCli(['validation-set', 'create', 'acme', 'fleet', '--sequence', '1', '--snap', `acme-app=${appId},revision=1`, '-k', 'brand', '--push'], { env });
  assert.equal(created.code, 0, created.err);
  assert.equal(created.out, 'acme/fleet sequence 1 (revision 0): acme-app required at 1\n');

  // The same sequence point with other snaps is refused; the same content again is unchanged.
  const local = (seq: number, snapsList: object[], revision = 0) =>
    sign(ValidationSetType, { headers: { type: 'validation-set', 'authority-id': 'acme', 'account-id': 'acme', series: '16', name: 'fleet', sequence: String(seq), ...(revision ? { revision: String(revision) } : {}), snaps: snapsList, timestamp: formatTimestamp(new Date()) } as never }, vectorKey('brand'), new Date()).toString();
  const file = join(dir, 'set.assert');
  await writeFile(file, local(1, [{ name: 'acme-app', id: appId, revision: '2' }], 1));
  const reused = await runCli(['validation-set', 'push', file], { env });
  assert.notEqual(reused.code, 0);
  assert.match(reused.err, /validation set acme\/fleet sequence 1 exists with other snaps \(revision 0\): a sequence point says one thing; push sequence 2 instead/);
  await writeFile(file, local(1, [{ name: 'acme-app', id: appId, revision: '1' }]));
  assert.match((await runCli(['validation-set', 'push', file], { env })).out, /^unchanged: acme\/fleet sequence 1/);

  // A set that makes the model's required snap invalid is refused, naming the model.
  const breaking = await s.request('POST', '/api/store/accounts/acme/validation-sets', { token: pub, body: { assertion: local(2, [{ name: 'acme-app', id: appId, presence: 'invalid' }]) } });
  assert.equal(breaking.status, 409);
  assert.equal(breaking.json().error.code, 'validation-set-breaks-model');
  assert.match(breaking.json().error.message, /makes acme-app invalid, which model acme\/box requires/);
  // A pin of a revision the store never had, too.
  const missing = await s.request('POST', '/api/store/accounts/acme/validation-sets', { token: pub, body: { assertion: local(2, [{ name: 'acme-app', id: appId, revision: '7' }]) } });
  assert.equal(missing.json().error.code, 'validation-set-invalid');
  assert.match(missing.json().error.message, /pins acme-app at revision 7, which was never uploaded/);
  // Signed by another key than the brand's: refused.
  const forged = sign(ValidationSetType, { headers: { type: 'validation-set', 'authority-id': 'acme', 'account-id': 'acme', series: '16', name: 'fleet', sequence: '3', snaps: [{ name: 'acme-app', id: appId }], timestamp: formatTimestamp(new Date()) } as never }, vectorKey('device'), new Date());
  assert.equal((await s.request('POST', '/api/store/accounts/acme/validation-sets', { token: pub, body: { assertion: forged.toString() } })).json().error.code, 'validation-set-invalid');
  // Only the account's publishers push; another account's set is refused.
  assert.equal((await s.request('POST', '/api/store/accounts/acme/validation-sets', { token: viewer, body: { assertion: local(2, [{ name: 'acme-app', id: appId }]) } })).status, 403);
  assert.equal((await s.request('POST', '/api/store/accounts/other/validation-sets', { token: await s.tokenFor(['publisher'], 'other'), body: { assertion: local(2, [{ name: 'acme-app', id: appId }]) } })).json().error.code, 'validation-set-invalid');

  // Signed by the server with the brand key in its custody (the vault's naming).
  await s.server.ctx.keys.import('vault.acme.models', vectorKey('brand').toPem(), { accountId: 'acme' });
  const served = await runCli(['validation-set', 'create', 'acme', 'fleet', '--sequence', '2', '--snap', `acme-app=${appId},presence=optional`, '--server-key', 'models'], { env });
  assert.equal(served.code, 0, served.err);
  assert.equal(served.out, 'acme/fleet sequence 2 (revision 0): acme-app optional\n');
  const listed = await runCli(['validation-set', 'list', 'acme'], { env: { ...env, SNAPLINE_TOKEN: viewer } });
  assert.equal(listed.out, 'acme/fleet sequence 1 (revision 0): acme-app required at 1\nacme/fleet sequence 2 (revision 0): acme-app optional\n');
  // Served to devices: the latest sequence point.
  const latest = await s.request('GET', '/v2/assertions/validation-set/16/acme/fleet?sequence=latest', { headers: { 'snap-device-store': 'acme-store' } });
  assert.equal(latest.status, 200);
  assert.match(latest.body, /sequence: 2/);

  // Revision 2 goes to stable; a device enforcing sequence 1 asks for revision 1 (snapd sends it with the set) and stays on 1.
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 2, channels: ['stable'] } }), 200);
  const session = await openSession(s, ids, 'box-0042');
  const refresh = async (action: object) => {
    const body = { context: [{ 'snap-id': appId, 'instance-key': 'k', revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'validation-sets': [['acme', 'fleet']] }], actions: [{ action: 'refresh', 'instance-key': 'k', 'snap-id': appId, ...action }] };
    const res = await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${session}"` }, body }), 200);
    return (res.json().results as { snap: { revision: number } }[]).map((r) => r.snap.revision);
  };
  assert.deepEqual(await refresh({ revision: 1, 'validation-sets': [['acme', 'fleet', '1']] }), [], 'the pinned revision is the installed one: no update, it stays on 1');
  assert.deepEqual(await refresh({}), [2], 'without the set: the channel');
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select('action').where('action', '=', 'store.validation-set.push').execute();
  assert.equal(audited.length, 2);
});
