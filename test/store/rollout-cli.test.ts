// snapline rollout status|pause|resume|rollback|why against a listening server,
// and the channel map's progressive column in snapline status.
import assert from 'node:assert/strict';
import { WELL_KNOWN_SNAP_IDS } from '../../src/assertions/index.ts';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import { runCli } from '../helpers/cli.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, expectStatus, push, sessionRequest, storeWorld, testSnaps } from './fixtures.ts';

eachEngine('snapline rollout status, pause, resume, rollback and why', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const publisher = await s.tokenFor(['publisher'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: publisher, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const ok = async (args: string[], e = env) => {
    const r = await runCli(args, { env: e });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);

  // Nothing released to beta of its own: no rollout there.
  const none = await runCli(['rollout', 'status', 'acme-app', 'edge'], { env });
  assert.equal(none.code, 1);
  assert.match(none.err, /nothing is released to latest\/edge of acme-app \(rollout-not-found\)/);

  await ok(['release', 'acme-app', '2', 'stable', '--progressive', '30']);
  // One device (box-0001) with a session refreshes from stable.
  const { model, serial } = deviceIdentity({ 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: WELL_KNOWN_SNAP_IDS['core20']!, 'acme-app': snapId });
  const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
  const body = { 'device-session-request': sessionRequest(nonce).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() };
  const session = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/sessions', { body }), 200)).json().macaroon as string;
  const refresh = async () => {
    const res = await s.request('POST', '/v2/snaps/refresh', {
      headers: { 'snap-device-authorization': `Macaroon root="${session}"`, 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' },
      body: { context: [{ 'snap-id': snapId, 'instance-key': 'k', revision: 1, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] } }], actions: [{ action: 'refresh', 'instance-key': 'k', 'snap-id': snapId }] },
    });
    return (res.json().results as { snap: { revision: number } }[])[0]?.snap.revision;
  };
  const inside = inPercentage(bucketOf({ brand: 'acme', model: 'box', serial: 'box-0001' }, snapId, `${snapId}:all:latest/stable:2`), 30);
  assert.equal(await refresh(), inside ? 2 : undefined);

  const status = await ok(['rollout', 'status', 'acme-app', 'stable'], { ...env, SNAPLINE_TOKEN: viewer });
  const lines = status.trimEnd().split('\n');
  assert.equal(lines[0], 'acme-app latest/stable');
  assert.deepEqual(lines[1]!.split(/\s{2,}/), ['Arch', 'Revision', 'Previous', 'Progress', 'State', 'Devices seen', 'Offered', 'Took', 'Failed', 'Release']);
  assert.deepEqual(lines[2]!.split(/\s{2,}/), ['all', '2', '1', '0→30%', 'rolling out', '1', inside ? '1' : '0', '0', '0', `${snapId}:all:latest/stable:2`]);
  assert.match(await ok(['status', 'acme-app']), /\nlatest\s+all\s+stable\s+2\.0\s+2\s+0→30%\n/);

  const why = await ok(['rollout', 'why', 'acme-app', '--serial', 'box-0001'], { ...env, SNAPLINE_TOKEN: viewer });
  assert.match(why, inside ? /^acme-app latest\/stable for acme\/box\/box-0001\nall: revision 2: the device's bucket [\d.]+ is under the release's 30% \[in-percentage, release \S+\]\n$/ : /^acme-app latest\/stable for acme\/box\/box-0001\nall: revision 1: the device's bucket [\d.]+ is not under the release's 30% .*\[outside-percentage, release \S+\]\n$/);
  assert.match(await ok(['rollout', 'why', 'acme-app', '--serial', 'unknown-1']), /for unknown-1 \(no device session known: answered as a device without one\)\nall: revision 1: without a device session a device is outside a 30% release/);

  // A viewer may read, not change.
  const refused = await runCli(['rollout', 'pause', 'acme-app', 'stable'], { env: { ...env, SNAPLINE_TOKEN: viewer } });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /forbidden/);
  assert.match(await ok(['rollout', 'pause', 'acme-app', 'stable']), /all\s+2\s+1\s+0→30%\s+paused/);
  assert.match(await ok(['status', 'acme-app']), /stable\s+2\.0\s+2\s+0→30% paused\n/);
  assert.match(await ok(['rollout', 'resume', 'acme-app', 'stable']), /all\s+2\s+1\s+0→30%\s+rolling out/);
  const again = await runCli(['rollout', 'resume', 'acme-app', 'stable'], { env });
  assert.match(again.err, /is not paused \(rollout-conflict\)/);
  assert.match(await ok(['rollout', 'rollback', 'acme-app', 'stable']), /\nall\s+1\s+1\s+-\s+rollback \(0 of 0 back\)\s+0\s+0\s+0\s+0\s+\S+:all:latest\/stable:3\n$/);
  assert.equal(await refresh(), undefined, 'after the rollback the device on revision 1 has no update');
  assert.match(await ok(['rollout', 'why', 'acme-app', '--serial', 'box-0001']), /all: revision 1: released to every device \(rolling back release \S+:2\) \[full-release/);
});
