// Health from check-ins (update control): a release with health rules counts
// a device offered its revision that still reports another after N
// check-ins as failed; at the error threshold the rollout pauses by itself
// (offering the revision to nobody new, even devices offered it before), with the
// reason in rollout status and the audit log. Simulated devices, 1 in 5 of
// those offered failing to install (snapd undoes it: the old revision again).
import assert from 'node:assert/strict';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, openSession, push, storeWorld, testSnaps } from './fixtures.ts';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };
const FLEET = 60;

async function fleet(s: TestServer, snapId: string): Promise<{ serial: string; session: string; installed: number }[]> {
  const out = [];
  for (let i = 1; i <= FLEET; i++) {
    const serialId = `box-${String(i).padStart(4, '0')}`;
    out.push({ serial: serialId, session: await openSession(s, { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'c'.repeat(32), 'acme-app': snapId }, serialId), installed: 1 });
  }
  return out;
}

eachEngine('a rollout whose devices keep reverting pauses itself at the error threshold', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: pub, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  const devices = await fleet(s, snapId);
  const inBucket = (serial: string, pct: number) => inPercentage(bucketOf({ brand: 'acme', model: 'box', serial }, snapId, `${snapId}:all:latest/stable:2`), pct);
  const offered = devices.filter((d) => inBucket(d.serial, 50));
  assert.ok(offered.length >= 15, `${offered.length} devices in 50%`);
  // One in five of the devices offered revision 2 cannot install it: snapd undoes the refresh, they report 1 again.
  const failing = new Set(offered.filter((_, i) => i % 5 === 0).map((d) => d.serial));
  const round = async () => {
    const got = new Map<string, number | undefined>();
    for (const d of devices) {
      const res = await expectStatus(
        s.request('POST', '/v2/snaps/refresh', {
          headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${d.session}"` },
          body: { context: [{ 'snap-id': snapId, 'instance-key': 'k', revision: d.installed, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] } }], actions: [{ action: 'refresh', 'instance-key': 'k', 'snap-id': snapId }] },
        }),
        200,
      );
      const snap = (res.json().results as { snap: { revision: number; download: { url: string } } }[])[0]?.snap;
      const rev = snap?.revision;
      // snapd downloads what it is offered, with its session (a device that tried it: failed if it reverts).
      if (snap) await expectStatus(s.request('GET', new URL(snap.download.url).pathname, { headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${d.session}"` } }), 200);
      got.set(d.serial, rev);
      if (rev !== undefined && !failing.has(d.serial)) d.installed = rev;
    }
    return got;
  };
  const status = async () => (await expectStatus(s.request('GET', '/api/store/snaps/acme-app/rollout?channel=stable', { token: pub }), 200)).json().releases[0];

  // 50%, failed after 2 check-ins still on another revision, pause at 10% failed once 5 were offered.
  const released = await runCli(['release', 'acme-app', '2', 'stable', '--progressive', '50', '--fail-after-checkins', '2', '--error-threshold', '10', '--min-devices', '5'], { env });
  assert.equal(released.code, 0, released.err);
  await round(); // offered: the failing ones report 1 (one check-in each)
  let st = await status();
  assert.deepEqual(st.health, { failAfterCheckins: 2, errorThreshold: 10, minDevices: 5, failAfterSeconds: null });
  assert.equal(st.progressive.paused, false);
  assert.equal(st.devices.failed, 0);
  await round(); // a second check-in on 1: failed; 10% of those offered is reached
  st = await status();
  assert.equal(st.progressive.paused, true, 'paused by itself');
  assert.ok(st.devices.failed >= Math.ceil(offered.length / 10) && st.devices.failed <= failing.size, `${st.devices.failed} failed`);
  // The reason gives the count when it paused: the first count at or over 10% of those offered.
  const m = /^(\d+) of (\d+) devices offered the revision still reported another after 2 check-ins \((\d+(?:\.\d)?)%, threshold 10%\)$/.exec(st.pausedReason);
  assert.ok(m, st.pausedReason);
  assert.equal(Number(m[2]), offered.length);
  assert.equal(Number(m[1]), Math.ceil(offered.length / 10));
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select(['action', 'origin', 'target']).where('action', '=', 'store.rollout.auto-pause').execute();
  assert.deepEqual(audited, [{ action: 'store.rollout.auto-pause', origin: 'update-control', target: `${snapId}:all:latest/stable:2` }]);
  const shown = await runCli(['rollout', 'status', 'acme-app', 'stable'], { env });
  assert.match(shown.out, /paused by itself/);
  assert.match(shown.out, /\nall: paused by itself: \d+ of \d+ devices offered/);

  // Paused by itself: raising the percentage offers the revision to nobody new, not even
  // the devices offered it before that failed to install it (they keep revision 1).
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 2, channels: ['stable'], progressivePercentage: 100 } }), 200);
  const after = await round();
  for (const d of devices) if (!inBucket(d.serial, 50) || failing.has(d.serial)) assert.equal(after.get(d.serial), undefined, d.serial);
  const why = (await expectStatus(s.request('GET', `/api/store/snaps/acme-app/rollout/why?serial=${[...failing][0]}`, { token: pub }), 200)).json().answers[0];
  assert.deepEqual([why.revision, why.reason.rule], [1, 'halted']);
  // The brand fixes what made the devices fail (the devices not yet counted will be, at their next
  // check-in: it counts), raises the threshold; resumed by a person: the reason is gone and the percentage decides again.
  failing.clear();
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 2, channels: ['stable'], progressivePercentage: 100, health: { failAfterCheckins: 2, errorThreshold: 50, minDevices: 5 } } }), 200);
  const resumed = (await expectStatus(s.request('POST', '/api/store/snaps/acme-app/rollout/resume', { token: pub, body: { channel: 'stable' } }), 200)).json().releases[0];
  assert.deepEqual([resumed.progressive.paused, resumed.pausedReason], [false, null]);
  const resumedRound = await round();
  assert.ok(devices.filter((d) => !inBucket(d.serial, 50)).every((d) => resumedRound.get(d.serial) === 2));
  assert.equal((await status()).progressive.paused, false);
});
