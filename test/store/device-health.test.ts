// Explicit health reports (update control), both engines: devices running a
// release's revision report it unhealthy with their session; at the error
// threshold the rollout pauses itself with the reason; a healthy report
// clears a device; a report without a session is refused.
import assert from 'node:assert/strict';
import { eachEngine } from './engines.ts';
import { core20TwoRevisions, expectStatus, storeWorld, TEST_ADMIN_TOKEN } from './fixtures.ts';
import { SNAP_ID, simFleet, simRound, type SimDevice } from './sim-fleet.ts';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };

eachEngine('explicit health reports count devices as failed and pause the rollout at its threshold', async (engine, t) => {
  const s = await storeWorld(engine);
  await core20TwoRevisions(s, t, 'health');
  const root = TEST_ADMIN_TOKEN;
  const devices = await simFleet(s, 10);
  await expectStatus(s.request('POST', '/api/store/snaps/core20/releases', { token: root, body: { revision: 2, channels: ['stable'], health: { failAfterCheckins: 100, errorThreshold: 30, minDevices: 5 } } }), 200);
  await simRound(s, devices);
  await simRound(s, devices); // they report revision 2: took it
  const status = async () => (await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout?channel=stable', { token: root }), 200)).json().releases[0];
  const report = (d: SimDevice | undefined, status: 'okay' | 'error') =>
    s.request('POST', '/api/store/device/health', { headers: { ...HEADERS, ...(d ? { 'snap-device-authorization': `Macaroon root="${d.session}"` } : {}) }, body: { reports: [{ 'snap-id': SNAP_ID, revision: 2, status, message: 'the app does not start' }] } });

  assert.equal((await report(undefined, 'error')).status, 401);
  const first = (await expectStatus(report(devices[0], 'error'), 200)).json();
  assert.deepEqual(first.results, [{ 'snap-id': SNAP_ID, revision: 2, releases: [`${SNAP_ID}:all:latest/stable:2`] }]);
  await expectStatus(report(devices[1], 'error'), 200);
  let st = await status();
  assert.deepEqual([st.devices.failed, st.devices.unhealthy, st.progressive.paused], [2, 2, false]);
  // Healthy again: not counted.
  await expectStatus(report(devices[1], 'okay'), 200);
  assert.equal((await status()).devices.failed, 1);
  for (const d of devices.slice(1, 3)) await expectStatus(report(d, 'error'), 200);
  st = await status();
  assert.equal(st.progressive.paused, true, 'paused by itself at 3 of 10');
  assert.match(st.pausedReason, /^3 of 10 devices offered the revision still reported another after 100 check-ins or reported it unhealthy \(3\) \(30%, threshold 30%\)$/);
  // Nobody new is offered revision 2 (a fresh device on 1).
  const late = (await simFleet(s, 11))[10]!;
  assert.deepEqual([...(await simRound(s, [late])).values()], [undefined]);
});
