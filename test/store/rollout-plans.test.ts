// Rollout plans through the device protocol (update control): a plan whose
// devices revert one in five pauses itself at its first step's error
// threshold and stops offering the revision; a healthy plan goes from a
// device group to a percentage by itself once its soak time and success
// threshold are met, inside its maintenance window only, waits at an
// approval step for `rollout advance`, then reaches every device. The
// server's clock is the test's (soak times pass in a line).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { core20TwoRevisions, expectStatus, storeWorld, TEST_ADMIN_TOKEN } from './fixtures.ts';
import { SNAP_ID, simFleet, simRound, type SimDevice } from './sim-fleet.ts';

const RELEASE_2 = `${SNAP_ID}:all:latest/stable:2`;
const inBucket = (serial: string, pct: number) => inPercentage(bucketOf({ brand: 'acme', model: 'box', serial }, SNAP_ID, RELEASE_2), pct);
const on = (devices: SimDevice[], rev: number) => devices.filter((d) => d.installed === rev).map((d) => d.serial);

/** A store world whose clock the test moves, with core20 revisions 1 (stable) and 2 (unreleased), and a CLI environment. */
async function world(engine: Parameters<typeof storeWorld>[0], t: { after: (f: () => Promise<void>) => void }) {
  let clock = Date.now();
  const s = await storeWorld(engine, { listen: true, now: () => new Date(clock) });
  const dir = await core20TwoRevisions(s, t, 'plans');
  const root = TEST_ADMIN_TOKEN;
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: root, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const status = async (): Promise<any> => (await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout?channel=stable', { token: root }), 200)).json().releases[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
  const why = async (serial: string): Promise<any> => (await expectStatus(s.request('GET', `/api/store/snaps/core20/rollout/why?serial=${serial}`, { token: root }), 200)).json().answers[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
  return { s, dir, env, root, status, why, tick: (ms: number) => (clock += ms), now: () => new Date(clock) };
}

async function auditOf(s: TestServer, prefix: string) {
  return s.server.ctx.db.kysely.selectFrom('audit_log').select(['action', 'origin', 'target', 'details']).where('action', 'like', `${prefix}%`).orderBy('id').execute();
}

eachEngine('a plan with a 20% revert rate pauses itself before its second step and stops offering the revision (200 devices)', async (engine, t) => {
  const w = await world(engine, t);
  const devices = await simFleet(w.s, 200);
  const plan = join(w.dir, 'plan.yaml');
  await writeFile(plan, ['fail-after-checkins: 2', 'steps:', '  - percentage: 10', '    soak: 1h', '    error-threshold: 10', '    min-devices: 5', '  - percentage: 50', '    soak: 1h', '  - percentage: 100', ''].join('\n'));
  const released = await runCli(['release', 'core20', '2', 'stable', '--plan', plan], { env: w.env });
  assert.equal(released.code, 0, released.err);
  const offered = devices.filter((d) => inBucket(d.serial, 10));
  assert.ok(offered.length >= 12 && offered.length <= 28, `${offered.length} of 200 in step 1`);
  // One in five of the devices offered revision 2 cannot install it: snapd undoes the refresh, they report 1 again.
  const failing = new Set(offered.filter((_, i) => i % 5 === 0).map((d) => d.serial));
  const fails = (d: SimDevice) => failing.has(d.serial);
  // One more holds its refreshes: offered, never downloads: not tried, not failed.
  const holding = offered.find((d) => !failing.has(d.serial))!.serial;
  const holds = (d: SimDevice) => d.serial === holding;

  const first = await simRound(w.s, devices, fails, holds);
  assert.deepEqual([...first].filter(([, v]) => v !== undefined).map(([k]) => k), offered.map((d) => d.serial), 'step 1: the devices under 10%');
  let st = await w.status();
  assert.deepEqual([st.plan.step, st.plan.of, st.plan.state], [1, 3, 'soaking']);
  w.tick(2000);
  await simRound(w.s, devices, fails, holds); // the failing ones report 1 again: failed at their 2nd check-in
  st = await w.status();
  assert.equal(st.progressive.paused, true, 'paused by itself');
  assert.equal(st.devices.notTried, 1, 'the device holding its refreshes has not tried it');
  assert.equal(st.devices.downloaded, offered.length - 1);
  assert.ok(st.devices.failed <= failing.size);
  assert.match(st.pausedReason, /^\d+ of \d+ devices offered the revision still reported another after 2 check-ins/);
  assert.equal(st.plan.step, 1);

  // Past the soak time, devices keep checking in: the plan does not advance, and nobody new is offered revision 2,
  // not even the devices offered it before whose install failed.
  w.tick(2 * 3600_000);
  for (let i = 0; i < 2; i++) {
    const later = await simRound(w.s, devices, fails, holds);
    assert.deepEqual([...later.values()].filter((v) => v !== undefined), [], 'nothing offered while paused by itself');
    w.tick(2000);
  }
  st = await w.status();
  assert.deepEqual([st.plan.step, st.plan.state, st.progressive.percentage], [1, 'paused', 10]);
  assert.deepEqual(on(devices, 2).sort(), offered.filter((d) => !fails(d) && !holds(d)).map((d) => d.serial).sort());
  const failed = [...failing][0]!;
  const answer = await w.why(failed);
  assert.deepEqual([answer.revision, answer.reason.rule], [1, 'halted']);
  // A person cannot advance a paused plan.
  const refused = await runCli(['rollout', 'advance', 'core20', 'stable'], { env: w.env });
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /paused: resume it first/);
  const shown = await runCli(['rollout', 'status', 'core20', 'stable'], { env: w.env });
  assert.match(shown.out, /paused by itself/);
  assert.match(shown.out, /plan step 1 of 3: paused/);

  const audited = await auditOf(w.s, 'store.rollout.');
  assert.deepEqual(audited.map((a) => [a.action, a.origin, a.target]), [['store.rollout.auto-pause', 'update-control', RELEASE_2]]);
  const metrics = await w.s.server.ctx.metrics.registry.metrics();
  assert.match(metrics, /snapline_rollout_events_total\{event="auto-pause"\} 1/);
  assert.match(metrics, /snapline_rollout_events_total\{event="failed"\} [1-9]/);
  assert.match(metrics, new RegExp(`snapline_rollout_devices\\{release="${RELEASE_2}",snap="core20",state="offered"\\} ${offered.length}\n`));
  assert.match(metrics, new RegExp(`snapline_rollout_devices\\{release="${RELEASE_2}",snap="core20",state="paused"\\} 1\n`));
  assert.match(metrics, new RegExp(`snapline_rollout_devices\\{release="${RELEASE_2}",snap="core20",state="not-tried"\\} 1\n`));
  assert.match(metrics, new RegExp(`snapline_rollout_events_total\\{event="downloaded"\\} ${offered.length - 1}\n`));
});

eachEngine('a healthy plan: a device group first, in its maintenance window only, then a percentage by itself, an approval step, then everyone', async (engine, t) => {
  const w = await world(engine, t);
  const devices = await simFleet(w.s, 40);
  const canaries = ['box-0001', 'box-0002', 'box-0003', 'box-0004', 'box-0005'];
  // The group is the devices' store's (acme-store, which includes the operator store where core20 is).
  await expectStatus(w.s.request('POST', '/api/store/stores/acme-store/groups', { token: w.root, body: { name: 'canaries', serials: canaries } }), 201);
  // A window opening at the next hour but one (UTC), three hours long, every day.
  const hour = (w.now().getUTCHours() + 2) % 24;
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const plan = {
    'fail-after-checkins': 3,
    windows: [{ start: hh(hour), end: hh(hour + 3) }],
    steps: [
      { group: 'canaries', soak: '30m', 'success-threshold': 100 },
      { percentage: 25, soak: '1h', 'success-threshold': 90, advance: 'approval' },
      { percentage: 100 },
    ],
  };
  // A plan naming a group the store does not have, or a bad plan, is refused with the reason.
  const noGroup = await w.s.request('POST', '/api/store/snaps/core20/releases', { token: w.root, body: { revision: 2, channels: ['stable'], plan: { steps: [{ group: 'nope' }] } } });
  assert.equal(noGroup.json().error.code, 'group-not-found');
  const bad = await w.s.request('POST', '/api/store/snaps/core20/releases', { token: w.root, body: { revision: 2, channels: ['stable'], plan: { steps: [{ percentage: 50 }, { percentage: 10 }] } } });
  assert.equal(bad.status, 400);
  assert.equal(bad.json().error.code, 'rollout-plan-invalid');
  assert.match(bad.json().error.message, /step 2: percentage 10 is under the previous step's 50/);
  await expectStatus(w.s.request('POST', '/api/store/snaps/core20/releases', { token: w.root, body: { revision: 2, channels: ['stable'], plan } }), 200);

  // Outside the window: nobody is offered revision 2, and why says so.
  const outside = await simRound(w.s, devices);
  assert.deepEqual([...outside.values()].filter((v) => v !== undefined), []);
  const whyOut = await w.why('box-0001');
  assert.deepEqual([whyOut.revision, whyOut.reason.rule, whyOut.reason.otherwise], [1, 'outside-window', 'in-group']);
  assert.match(whyOut.explanation, /outside the maintenance windows \(every day \d\d:00-\d\d:00 UTC\)/);

  // In the window: the canaries only, until they all run it (success threshold 100%); then step 2 by itself.
  w.tick(2 * 3600_000 + 60_000);
  const inWindow = await simRound(w.s, devices);
  assert.deepEqual([...inWindow].filter(([, v]) => v === 2).map(([k]) => k), canaries);
  assert.equal((await w.why('box-0001')).reason.rule, 'in-group');
  let st = await w.status();
  assert.deepEqual([st.plan.step, st.groups], [1, ['canaries']]);
  for (let i = 0; i < 3 && st.plan.step === 1; i++) {
    w.tick(2000);
    await simRound(w.s, devices);
    st = await w.status();
  }
  assert.equal(st.plan.step, 2, JSON.stringify(st.plan));
  w.tick(2000);
  await simRound(w.s, devices);
  const step2 = devices.filter((d) => canaries.includes(d.serial) || inBucket(d.serial, 25)).map((d) => d.serial);
  assert.deepEqual(on(devices, 2), step2, 'step 2: the canaries stay, the devices under 25% are added');
  assert.ok(step2.length < devices.length);

  // Past the soak time, every device offered runs it: the step waits for a person.
  w.tick(3600_000);
  await simRound(w.s, devices);
  st = await w.status();
  assert.deepEqual([st.plan.step, st.plan.state], [2, 'awaiting-approval']);
  const advanced = await runCli(['rollout', 'advance', 'core20', 'stable'], { env: w.env });
  assert.equal(advanced.code, 0, advanced.err);
  assert.match(advanced.out, /plan step 3 of 3/);
  await simRound(w.s, devices);
  assert.equal(on(devices, 2).length, devices.length, 'the last step: every device');
  const again = await runCli(['rollout', 'advance', 'core20', 'stable'], { env: w.env });
  assert.match(again.err, /at its last step/);

  const audited = await auditOf(w.s, 'store.rollout.advance');
  assert.deepEqual(audited.map((a) => a.origin), ['update-control', 'api']);
});

eachEngine('health after a time: a device that downloaded the revision and still reports another 10 minutes later has failed', async (engine, t) => {
  const w = await world(engine, t);
  const devices = await simFleet(w.s, 30);
  const plan = { 'fail-after-checkins': 100, 'fail-after': '10m', steps: [{ percentage: 50, soak: '1d', 'error-threshold': 10, 'min-devices': 3 }, { percentage: 100 }] };
  await expectStatus(w.s.request('POST', '/api/store/snaps/core20/releases', { token: w.root, body: { revision: 2, channels: ['stable'], plan } }), 200);
  const offered = devices.filter((d) => inBucket(d.serial, 50));
  const failing = new Set(offered.filter((_, i) => i % 3 === 0).map((d) => d.serial));
  const fails = (d: SimDevice) => failing.has(d.serial);
  await simRound(w.s, devices, fails);
  w.tick(2000);
  await simRound(w.s, devices, fails);
  let st = await w.status();
  assert.deepEqual([st.progressive.paused, st.devices.failed, st.health.failAfterSeconds], [false, 0, 600], 'two check-ins of 100, 2 s after the download: not yet');
  w.tick(11 * 60_000);
  await simRound(w.s, devices, fails);
  st = await w.status();
  assert.equal(st.progressive.paused, true);
  assert.match(st.pausedReason, /still reported another after 100 check-ins or 10m after downloading it \(/);
});

eachEngine("a channel's maintenance windows hold back a plain release outside them; why says so", async (engine, t) => {
  const w = await world(engine, t);
  const devices = await simFleet(w.s, 10);
  const hour = (w.now().getUTCHours() + 2) % 24;
  const hh = (h: number) => `${String(h % 24).padStart(2, '0')}:00`;
  const set = await runCli(['rollout', 'windows', 'core20', 'stable', '--set', `${hh(hour)}-${hh(hour + 3)}`], { env: w.env });
  assert.equal(set.code, 0, set.err);
  const bad = await w.s.request('PUT', '/api/store/snaps/core20/rollout/windows', { token: w.root, body: { channel: 'stable', windows: [{ start: '25:00', end: '01:00' }] } });
  assert.match(bad.json().error.message, /invalid maintenance window: start must be a time HH:MM/);
  await expectStatus(w.s.request('POST', '/api/store/snaps/core20/releases', { token: w.root, body: { revision: 2, channels: ['stable'] } }), 200);
  assert.deepEqual([...(await simRound(w.s, devices)).values()].filter((v) => v !== undefined), [], 'outside the window: nothing new');
  const why = await w.why('box-0001');
  assert.deepEqual([why.revision, why.reason.rule, why.reason.otherwise], [1, 'outside-window', 'full-release']);
  assert.match((await runCli(['rollout', 'status', 'core20', 'stable'], { env: w.env })).out, new RegExp(`maintenance windows every day ${hh(hour)}-${hh(hour + 3)} UTC`));
  w.tick(2 * 3600_000 + 60_000);
  await simRound(w.s, devices);
  assert.equal(on(devices, 2).length, devices.length, 'inside the window: every device');
  assert.equal((await runCli(['rollout', 'windows', 'core20', 'stable', '--clear'], { env: w.env })).code, 0);
  const audited = await auditOf(w.s, 'store.rollout.windows');
  assert.equal(audited.length, 2);
});
