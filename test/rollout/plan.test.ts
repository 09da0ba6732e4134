// Rollout plans and maintenance windows in the pure core: what a plan file
// may say, what a release is at a step, what the store does next, and how
// groups, windows and a pause by itself change `decide`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atStep, decide, evaluateStep, explain, explainVerdict, failRule, inWindow, parsePlan, parseWindow, PlanError, type ChannelRelease } from '../../src/rollout/index.ts';

const SNAP = 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q';
const release = (over: Partial<ChannelRelease> = {}): ChannelRelease => ({ snapId: SNAP, releaseId: 'rel-1', revision: 4, previousRevision: 3, percentage: 10, paused: false, ...over });
const device = { brand: 'acme', model: 'box', serial: 'box-0001' };

const PLAN = parsePlan({
  'fail-after-checkins': 2,
  steps: [
    { group: 'canaries', soak: '1h', 'advance': 'auto' },
    { percentage: 10, soak: '2h', 'success-threshold': 80, 'error-threshold': 10, 'min-devices': 5 },
    { percentage: 50, soak: 3600, advance: 'approval' },
    { percentage: 100 },
  ],
  windows: [{ days: ['mon', 'tue'], start: '22:00', end: '02:00' }],
});

test('a plan file is checked and normalised', () => {
  assert.equal(PLAN.failAfterCheckins, 2);
  assert.deepEqual(PLAN.steps[0], { percentage: null, groups: ['canaries'], soakSeconds: 3600, successThreshold: null, errorThreshold: null, minDevices: 1, approval: false });
  assert.deepEqual(PLAN.steps[1]!.soakSeconds, 7200);
  assert.equal(PLAN.steps[2]!.approval, true);
  assert.equal(parsePlan({ steps: [{ percentage: 100 }] }).failAfterCheckins, 3);
  assert.equal(parsePlan({ steps: [{ percentage: 100 }] }).failAfterSeconds, null);
  assert.equal(parsePlan({ 'fail-after': '2h', steps: [{ percentage: 100 }] }).failAfterSeconds, 7200);
  assert.equal(failRule(2, null), 'after 2 check-ins');
  assert.equal(failRule(2, 5400), 'after 2 check-ins or 90m after downloading it');
  const bad: [unknown, RegExp][] = [
    [{}, /needs steps/],
    [{ steps: [] }, /needs steps/],
    [{ steps: [{ soak: '1h' }] }, /step 1 needs a percentage or a group/],
    [{ steps: [{ percentage: 50 }, { percentage: 10 }] }, /step 2: percentage 10 is under the previous step's 50/],
    [{ steps: [{ percentage: 101 }] }, /percentage must be a number from 0.01 to 100/],
    [{ steps: [{ percentage: 10, soak: 'soon' }] }, /step 1: soak must be seconds or a duration/],
    [{ 'fail-after': 0, steps: [{ percentage: 10 }] }, /fail-after must be longer than 0/],
    [{ steps: [{ percentage: 10, advance: 'maybe' }] }, /advance is auto or approval/],
    [{ steps: [{ percentage: 10, colour: 'red' }] }, /unknown field "colour" in step 1/],
    [{ steps: [{ group: '../x' }] }, /a group is a device group's name/],
    [{ steps: [{ percentage: 10 }], windows: [{ start: '25:00', end: '01:00' }] }, /start must be a time HH:MM/],
    [{ steps: [{ percentage: 10 }], windows: [{ days: ['someday'], start: '01:00', end: '02:00' }] }, /unknown day "someday"/],
    ['steps', /the plan must be an object/],
  ];
  for (const [input, message] of bad) assert.throws(() => parsePlan(input), (e: unknown) => e instanceof PlanError && message.test(e.message), JSON.stringify(input));
});

test('steps add up: groups stay in, the percentage is the highest so far', () => {
  assert.deepEqual(atStep(PLAN, 0), { percentage: 0, groups: ['canaries'] });
  assert.deepEqual(atStep(PLAN, 1), { percentage: 10, groups: ['canaries'] });
  assert.deepEqual(atStep(PLAN, 3), { percentage: 100, groups: ['canaries'] });
});

test('a step soaks, waits for its success threshold, halts at its error threshold, waits for approval, then advances', () => {
  const start = new Date('2026-01-05T00:00:00Z');
  const at = (s: number) => new Date(start.getTime() + s * 1000);
  const counts = (offered: number, took: number, failed = 0) => ({ offered, took, failed });
  assert.equal(evaluateStep(PLAN, 1, start, false, counts(20, 20), at(60)).state, 'soaking');
  assert.deepEqual(evaluateStep(PLAN, 1, start, false, counts(20, 15), at(7200)), { state: 'below-success', step: 1, share: 75, threshold: 80 });
  assert.deepEqual(evaluateStep(PLAN, 1, start, false, counts(20, 17), at(7200)), { state: 'advance', step: 1, to: 2 });
  // The error threshold applies from the minimum of devices, during the soak too.
  assert.equal(evaluateStep(PLAN, 1, start, false, counts(4, 0, 4), at(60)).state, 'soaking');
  const halt = evaluateStep(PLAN, 1, start, false, counts(20, 10, 2), at(60));
  assert.equal(halt.state, 'halt');
  assert.match(explainVerdict(PLAN, halt), /2 of 20 devices offered the revision still reported another after 2 check-ins \(10%, threshold 10%\) at step 2 of 4/);
  assert.equal(evaluateStep(PLAN, 1, start, true, counts(20, 20), at(7200)).state, 'paused');
  assert.equal(evaluateStep(PLAN, 2, start, false, counts(100, 100), at(3600)).state, 'awaiting-approval');
  assert.equal(evaluateStep(PLAN, 3, start, false, counts(100, 100), at(0)).state, 'done');
});

test('maintenance windows: days, hours, wrapping midnight (UTC)', () => {
  const w = [parseWindow({ days: ['mon', 'tue'], start: '22:00', end: '02:00' })];
  assert.equal(inWindow(w, new Date('2026-01-05T22:30:00Z')), true); // Monday night
  assert.equal(inWindow(w, new Date('2026-01-06T01:59:00Z')), true); // into Tuesday, opened Monday
  assert.equal(inWindow(w, new Date('2026-01-06T02:00:00Z')), false);
  assert.equal(inWindow(w, new Date('2026-01-07T01:00:00Z')), true); // opened Tuesday
  assert.equal(inWindow(w, new Date('2026-01-08T01:00:00Z')), false); // opened Wednesday: no
  assert.equal(inWindow(w, new Date('2026-01-05T12:00:00Z')), false);
  assert.equal(inWindow([], new Date()), true);
  assert.equal(inWindow([parseWindow({ start: '03:00', end: '03:00' })], new Date('2026-01-08T13:00:00Z')), true);
});

test('decide: outside the windows nothing new is offered, and why says so', () => {
  const windows = PLAN.windows;
  const full = release({ percentage: null, windows });
  const night = new Date('2026-01-05T23:00:00Z');
  const noon = new Date('2026-01-05T12:00:00Z');
  assert.equal(decide(full, device, undefined, { installedRevision: 3, now: night }).revision, 4);
  const d = decide(full, device, undefined, { installedRevision: 3, now: noon });
  assert.deepEqual([d.revision, d.offeredRelease, d.reason.rule], [3, false, 'outside-window']);
  assert.match(explain(full, d), /revision 3: outside the maintenance windows \(mon,tue 22:00-02:00 UTC\); the device keeps what it has \(inside, rule full-release would offer revision 4\)/);
  // A device already running it keeps it; an install outside gets the previous revision.
  assert.equal(decide(full, device, undefined, { installedRevision: 4, now: noon }).revision, 4);
  assert.equal(decide(full, device, undefined, { now: noon }).revision, 3);
});

test('decide: a group the release targets is in whatever its bucket; a pause by itself offers nobody new', () => {
  const r = release({ percentage: 0, groups: ['canaries'] });
  assert.deepEqual(decide(r, device, undefined, { installedRevision: 3, groups: ['canaries'] }).reason, { rule: 'in-group', releaseId: 'rel-1', group: 'canaries' });
  assert.equal(decide(r, device, undefined, { installedRevision: 3, groups: ['others'] }).revision, 3);
  assert.equal(decide(r, undefined, undefined, { installedRevision: 3 }).revision, 3);
  const halted = release({ percentage: 100, paused: true, halted: true });
  const d = decide(halted, device, { offered: true }, { installedRevision: 3 });
  assert.deepEqual([d.revision, d.reason.rule], [3, 'halted']);
  assert.equal(decide(halted, device, { offered: true }, { installedRevision: 4 }).revision, 4);
  assert.match(explain(halted, d), /paused itself \(health\) and offers revision 4 to nobody new/);
});
