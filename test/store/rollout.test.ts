// Update control through the real protocol: 200 simulated devices, each with
// its own serial (signed by the brand key; the same device key for all, as
// the protocol allows), open device sessions and refresh as snapd does
// (context with the installed revision and tracking channel, a refresh
// action without channel), installing whatever revision the store answers.
// The snap is core20 (its well-known snap-id) and release ids are
// deterministic, so the buckets of this test are the same on every run.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WELL_KNOWN_SNAP_IDS } from '../../src/assertions/index.ts';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, expectStatus, packYaml, push, serialFor, sessionRequest, storeWorld, TEST_ADMIN_TOKEN } from './fixtures.ts';

const FLEET = 200;
const SNAP_ID = WELL_KNOWN_SNAP_IDS['core20']!;
const FAKE_IDS = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: SNAP_ID, 'acme-app': 'a'.repeat(32) };
const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };

interface SimDevice {
  serial: string;
  session: string;
  installed: number;
}

/** Serial assertions signed by the brand key, one device key for all: signed once per process (both engines use them). */
let signed: { model: string; serials: string[] } | undefined;
function identities(n: number): { model: string; serials: string[] } {
  if (signed && signed.serials.length >= n) return signed;
  const now = new Date();
  const serials = Array.from({ length: n }, (_, i) => serialFor(serialOf(i + 1), now).toString());
  signed = { model: deviceIdentity(FAKE_IDS, now).model.toString(), serials };
  return signed;
}
const serialOf = (i: number) => `box-${String(i).padStart(4, '0')}`;

/** Device sessions for `n` serials of model acme/box (each a session request signed by the device key, as snapd sends it). */
async function fleet(s: TestServer, n: number): Promise<SimDevice[]> {
  const now = new Date();
  const { model, serials } = identities(n);
  const out: SimDevice[] = [];
  for (let i = 1; i <= n; i++) {
    const serialId = serialOf(i);
    const serial = serials[i - 1]!;
    const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces'), 200)).json().nonce as string;
    const body = { 'device-session-request': sessionRequest(nonce, now, serialId).toString(), 'serial-assertion': serial, 'model-assertion': model };
    const session = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/sessions', { body }), 200)).json().macaroon as string;
    out.push({ serial: serialId, session, installed: 1 });
  }
  return out;
}

/** One refresh as snapd sends it: the revision the store offers, or undefined (no update). */
async function refresh(s: TestServer, d: { session?: string; installed: number }): Promise<number | undefined> {
  const headers: Record<string, string> = { ...HEADERS, ...(d.session ? { 'snap-device-authorization': `Macaroon root="${d.session}"` } : { 'snap-device-store': 'acme-store' }) };
  const body = {
    context: [{ 'snap-id': SNAP_ID, 'instance-key': SNAP_ID, revision: d.installed, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, 'refreshed-date': '2026-01-01T00:00:00Z' }],
    actions: [{ action: 'refresh', 'instance-key': SNAP_ID, 'snap-id': SNAP_ID }],
    fields: ['revision', 'download'],
  };
  const res = await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers, body }), 200);
  const results = res.json().results as { result: string; snap: { revision: number } }[];
  assert.ok(results.length <= 1);
  return results[0]?.result === 'refresh' ? results[0].snap.revision : undefined;
}

/** Every device (or those picked) refreshes and installs what it is offered (unless `fails` says its install fails). */
async function round(s: TestServer, devices: SimDevice[], fails: (d: SimDevice) => boolean = () => false): Promise<Map<string, number | undefined>> {
  const offered = new Map<string, number | undefined>();
  for (const d of devices) {
    const rev = await refresh(s, d);
    offered.set(d.serial, rev);
    if (rev !== undefined && !fails(d)) d.installed = rev;
  }
  return offered;
}

const on = (devices: SimDevice[], rev: number) => devices.filter((d) => d.installed === rev).map((d) => d.serial);
const releaseId = (n: number) => `${SNAP_ID}:all:latest/stable:${n}`;
const inBucket = (serial: string, pct: number, rel = releaseId(2)) => inPercentage(bucketOf({ brand: 'acme', model: 'box', serial }, SNAP_ID, rel), pct);

eachEngine('200 devices: a progressive release, raised, paused, resumed and rolled back, through the device protocol', async (engine, t) => {
  const s = await storeWorld(engine);
  const dir = await mkdtemp(join(tmpdir(), 'snapline-rollout-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = TEST_ADMIN_TOKEN;
  await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: root, body: { name: 'core20', private: false } }), 201);
  const r1 = await packYaml(dir, 'core20-1', 'name: core20\nversion: "20.1"\ntype: base\n');
  const r2 = await packYaml(dir, 'core20-2', 'name: core20\nversion: "20.2"\ntype: base\n');
  await expectStatus(push(s, root, 'core20', r1.bytes, 'stable'), 201);
  await expectStatus(push(s, root, 'core20', r2.bytes), 201);
  const devices = await fleet(s, FLEET);
  const release = (body: object) => expectStatus(s.request('POST', '/api/store/snaps/core20/releases', { token: root, body }), 200);
  const rollout = (action: string) => s.request('POST', `/api/store/snaps/core20/rollout/${action}`, { token: root, body: { channel: 'stable' } });
  const status = async () => (await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout?channel=stable', { token: root }), 200)).json();

  // A plain release: nothing to do, nothing recorded.
  assert.deepEqual([...(await round(s, devices)).values()].filter((v) => v !== undefined), []);

  // 10%: 10% ± 4% of the fleet, exactly the devices whose bucket is under 10%.
  await release({ revision: 2, channels: ['stable'], progressivePercentage: 10 });
  const first = await round(s, devices);
  const at10 = on(devices, 2);
  assert.ok(at10.length >= 12 && at10.length <= 28, `${at10.length} of ${FLEET} at 10%`);
  assert.deepEqual(at10, devices.filter((d) => inBucket(d.serial, 10)).map((d) => d.serial));
  assert.ok([...first.values()].every((v) => v === undefined || v === 2), 'outside devices keep revision 1 (no update)');
  // A device without a session is outside.
  assert.equal(await refresh(s, { installed: 1 }), undefined);
  await round(s, devices); // they report what they installed: took it
  let st = await status();
  assert.equal(st.releases.length, 1);
  assert.deepEqual(st.releases[0].devices, { seen: FLEET, offered: at10.length, took: at10.length, failed: 0, downloaded: 0, notTried: 0, unhealthy: 0 });
  assert.equal(st.releases[0].releaseId, releaseId(2));
  const map = (await expectStatus(s.request('GET', '/api/store/snaps/core20', { token: root }), 200)).json().channelMap;
  const stable = map.find((r: { channel: string }) => r.channel === 'latest/stable');
  assert.deepEqual(stable.progressive, { percentage: 10, paused: false, 'current-percentage': Math.round((at10.length / FLEET) * 1000) / 10 });

  // 50%, the same release: the first ones stay, about 40% more are added; only half the fleet refreshes before the pause.
  await release({ revision: 2, channels: ['stable'], progressivePercentage: 50 });
  const early = devices.slice(0, FLEET / 2);
  const late = devices.slice(FLEET / 2);
  // One early device in the bucket is offered 2 but its install fails (snapd keeps 1).
  const failing = early.find((d) => inBucket(d.serial, 50) && !inBucket(d.serial, 10))!;
  await round(s, early, (d) => d === failing);
  assert.ok(at10.every((serial) => devices.find((d) => d.serial === serial)!.installed === 2), 'raising the percentage keeps the first devices');
  const offeredBeforePause = new Set([...at10, ...early.filter((d) => inBucket(d.serial, 50)).map((d) => d.serial)]);
  assert.ok(!on(devices, 2).includes(failing.serial));

  // Pause: the set is frozen. The late devices in the bucket, never offered 2, are not offered it; the failing one still is.
  st = (await expectStatus(rollout('pause'), 200)).json();
  assert.equal(st.releases[0].progressive.paused, true);
  assert.equal((await rollout('pause')).json().error.code, 'rollout-conflict');
  const paused = await round(s, devices);
  assert.equal(paused.get(failing.serial), 2, 'a device offered the revision before the pause is still offered it');
  assert.deepEqual(new Set(on(devices, 2)), offeredBeforePause);
  assert.ok(late.some((d) => inBucket(d.serial, 50)), 'the late half has devices in the bucket');
  assert.ok(late.filter((d) => inBucket(d.serial, 50) && !inBucket(d.serial, 10)).every((d) => d.installed === 1));
  // Why, for one late device in the bucket and one device that took it: the same decision, explained.
  const lateIn = late.find((d) => inBucket(d.serial, 50) && !inBucket(d.serial, 10))!;
  const why = (await expectStatus(s.request('GET', `/api/store/snaps/core20/rollout/why?serial=${lateIn.serial}&channel=stable`, { token: root }), 200)).json();
  assert.deepEqual(why.device, { brand: 'acme', model: 'box', serial: lateIn.serial });
  assert.equal(why.answers.length, 1);
  assert.equal(why.answers[0].revision, 1);
  assert.equal(why.answers[0].reason.rule, 'paused-withheld');
  assert.match(why.answers[0].explanation, /paused and the device was not offered revision 2/);

  // Resume: the percentage decides again; the late devices in the bucket get it.
  await expectStatus(rollout('resume'), 200);
  await round(s, devices);
  const at50 = on(devices, 2);
  assert.deepEqual(at50, devices.filter((d) => inBucket(d.serial, 50)).map((d) => d.serial));
  assert.ok(at10.every((x) => at50.includes(x)));
  const added = at50.length - at10.length;
  assert.ok(added >= 62 && added <= 98, `${added} added from 10% to 50% (about 40% of ${FLEET})`);
  const whyIn = (await expectStatus(s.request('GET', `/api/store/snaps/core20/rollout/why?serial=${at10[0]}`, { token: root }), 200)).json();
  assert.equal(whyIn.answers[0].revision, 2);
  const whyOut = (await expectStatus(s.request('GET', `/api/store/snaps/core20/rollout/why?serial=${devices.find((d) => !inBucket(d.serial, 50))!.serial}`, { token: root }), 200)).json();
  assert.deepEqual([whyOut.answers[0].revision, whyOut.answers[0].reason.rule], [1, 'outside-percentage']);
  assert.equal((await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout/why?serial=nobody', { token: root }), 200)).json().answers[0].reason.rule, 'no-device-session');

  // Roll back: revision 1 is released again; the devices that took 2 are offered 1 and install it.
  await round(s, devices); // report what they run
  st = (await expectStatus(rollout('rollback'), 200)).json();
  assert.equal(st.releases[0].revision, 1);
  assert.equal(st.releases[0].rollback.of, releaseId(2));
  assert.equal(st.releases[0].rollback.tookRolledBack, at50.length);
  assert.equal((await rollout('rollback')).json().error.code, 'rollout-conflict');
  const back = await round(s, devices);
  assert.deepEqual([...back].filter(([, v]) => v !== undefined).map(([k]) => k), at50, 'exactly the devices that took 2 are offered 1');
  assert.ok([...back.values()].every((v) => v === undefined || v === 1));
  assert.deepEqual(on(devices, 2), []);
  await round(s, devices);
  st = await status();
  assert.deepEqual(st.releases[0].rollback, { of: releaseId(2), tookRolledBack: at50.length, back: at50.length });
  const whyBack = (await expectStatus(s.request('GET', `/api/store/snaps/core20/rollout/why?serial=${at10[0]}`, { token: root }), 200)).json();
  assert.match(whyBack.answers[0].explanation, /^revision 1: released to every device \(rolling back release /);

  // Every action is in the audit log.
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select(['action', 'target']).where('action', 'like', 'store.rollout.%').orderBy('id').execute();
  assert.deepEqual(
    audited.map((a) => a.action),
    ['store.rollout.pause', 'store.rollout.resume', 'store.rollout.rollback'],
  );
  assert.ok(audited.every((a) => a.target === 'core20/latest/stable'));
});
