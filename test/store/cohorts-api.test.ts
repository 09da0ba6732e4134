// Cohorts over the device API: POST /v2/cohorts (what snapd's CreateCohorts
// reads), and cohort keys on install, download and refresh actions.
import assert from 'node:assert/strict';
import { cohortContent, COHORT_WINDOW_MS, formatCohortKey, parseCohortKey } from '../../src/store/cohorts.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, push, storeWorld, testSnaps, TEST_ADMIN_TOKEN } from './fixtures.ts';

const ACME = { 'snap-device-store': 'acme-store', 'snap-device-architecture': 'amd64', 'snap-device-series': '16' };

eachEngine('cohorts: keys from v2/cohorts fix the revision devices get', async (engine, t) => {
  let clock = Date.now();
  const tick = (ms = 60_000) => (clock += ms);
  const s = await storeWorld(engine, { now: () => new Date(clock) });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const acme = await s.tokenFor(['publisher'], 'acme');
  const other = await s.tokenFor(['publisher'], 'other');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: acme, body: { name: 'acme-app' } }), 201);
  await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: TEST_ADMIN_TOKEN, body: { name: 'core20', private: false } }), 201);
  await expectStatus(s.request('POST', '/api/store/stores/other-store/snaps', { token: other, body: { name: 'other-app' } }), 201);
  await expectStatus(push(s, acme, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, TEST_ADMIN_TOKEN, 'core20', snaps.get('core20')!.bytes, 'stable'), 201);
  await expectStatus(push(s, other, 'other-app', snaps.get('other-app')!.bytes, 'stable'), 201);

  const cohorts = (snapNames: unknown, headers: Record<string, string> = ACME) => s.request('POST', '/v2/cohorts', { headers, body: { snaps: snapNames } });
  tick();
  const created = (await expectStatus(cohorts(['acme-app', 'core20']), 200)).json();
  assert.deepEqual(Object.keys(created['cohort-keys']).sort(), ['acme-app', 'core20']);
  const key = created['cohort-keys']['acme-app'] as string;
  const coreKey = created['cohort-keys']['core20'] as string;
  const again = (await expectStatus(cohorts(['acme-app']), 200)).json()['cohort-keys']['acme-app'];
  assert.notEqual(again, key, 'every cohort is a new one');

  // Visibility: another store's private snap, or an unknown name, is not found (404, which snapd maps to "snap not found").
  for (const res of [await cohorts(['other-app']), await cohorts(['acme-app', 'nope']), await cohorts(['acme-app'], {})]) {
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.json()['error-list'][0].code, 'name-not-found');
  }
  await expectStatus(cohorts(['other-app'], { 'snap-device-store': 'other-store' }), 200);
  // JSON bodies are typed: a string is not taken for a one-name list.
  for (const bad of [[], [''], Array.from({ length: 101 }, (_, i) => `s${i}`), 'acme-app', [1]]) assert.equal((await cohorts(bad)).status, 400, JSON.stringify(bad).slice(0, 30));
  assert.equal((await s.request('POST', '/v2/cohorts', { headers: ACME, body: {} })).status, 400);

  // Revision 2 is released after the cohort was created.
  tick();
  await expectStatus(push(s, acme, 'acme-app', snaps.get('acme-app-2')!.bytes, 'stable'), 201);
  const action = async (actions: unknown[], context: unknown[] = []) => (await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers: ACME, body: { context, actions, fields: ['revision'] } }), 200)).json();
  const install = (extra: Record<string, unknown> = {}) => action([{ action: 'install', 'instance-key': 'install-1', name: 'acme-app', channel: 'stable', epoch: null, ...extra }]);
  assert.equal((await install()).results[0].snap.revision, 2);
  const inCohort = (await install({ 'cohort-key': key })).results[0];
  assert.equal(inCohort.snap.revision, 1, 'the revision released when the cohort was created');
  assert.equal(inCohort['effective-channel'], 'latest/stable');
  assert.equal((await install({ 'cohort-key': key, channel: 'edge' })).results[0].snap.revision, 1, 'edge followed stable then');
  assert.equal((await action([{ action: 'download', 'instance-key': 'download-1', name: 'acme-app', 'cohort-key': key, epoch: null }])).results[0].snap.revision, 1);
  assert.equal((await install({ 'cohort-key': key, revision: 2, channel: undefined })).results[0].snap.revision, 2, 'an explicit revision wins');

  // Refresh: snapd's auto-refresh sends the cohort in the context only; an explicit refresh sends it on the action.
  const snapId = inCohort['snap-id'] as string;
  const ctx = (revision: number, cohort?: string) => [{ 'snap-id': snapId, 'instance-key': snapId, revision, 'tracking-channel': 'latest/stable', epoch: { read: [0], write: [0] }, ...(cohort ? { 'cohort-key': cohort } : {}) }];
  const refresh = (extra: Record<string, unknown> = {}) => [{ action: 'refresh', 'instance-key': snapId, 'snap-id': snapId, ...extra }];
  assert.deepEqual((await action(refresh(), ctx(1, key))).results, [], 'already at the cohort revision');
  assert.equal((await action(refresh(), ctx(1))).results[0].snap.revision, 2, 'outside the cohort: the channel');
  assert.equal((await action(refresh(), ctx(2, key))).results[0].snap.revision, 1, 'joining devices get the cohort revision');
  assert.equal((await action(refresh({ channel: 'latest/stable', 'cohort-key': key }), ctx(2))).results[0].snap.revision, 1, 'snap refresh --cohort');
  assert.equal((await action(refresh({ channel: 'latest/stable' }), ctx(1, key))).results[0].snap.revision, 2, 'snap refresh --leave-cohort');

  // Forged, edited and foreign keys: an error on the action; ignored when only the context carries them.
  const { cohort, signature } = parseCohortKey(key);
  const signedByOther = formatCohortKey(cohortContent(cohort), Buffer.from(vectorKey('brand').sign(cohortContent(cohort), new Date(clock)), 'base64'));
  const edited = formatCohortKey(cohortContent({ ...cohort, createdAt: new Date(clock) }), signature);
  for (const bad of [signedByOther, edited, 'garbage', coreKey]) {
    const res = (await install({ 'cohort-key': bad })).results[0];
    assert.equal(res.result, 'error');
    assert.equal(res.error.code, 'invalid-cohort-key');
    assert.equal(res.name, 'acme-app');
    const refreshed = (await action(refresh({ channel: 'latest/stable', 'cohort-key': bad }), ctx(1))).results[0];
    assert.equal(refreshed.error.code, 'invalid-cohort-key');
    assert.equal(refreshed['instance-key'], snapId);
    assert.equal((await action(refresh(), ctx(1, bad))).results[0].snap.revision, 2, 'a bad key in the context: the channel');
  }

  // After 90 days the same key fixes the channel of that later moment.
  tick(COHORT_WINDOW_MS);
  assert.equal((await install({ 'cohort-key': key })).results[0].snap.revision, 2);
  // A private snap of another store stays not found with a cohort key too.
  const otherKey = (await expectStatus(cohorts(['other-app'], { 'snap-device-store': 'other-store' }), 200)).json()['cohort-keys']['other-app'];
  const hidden = (await action([{ action: 'install', 'instance-key': 'install-1', name: 'other-app', 'cohort-key': otherKey, epoch: null }])).results[0];
  assert.equal(hidden.error.code, 'name-not-found');
});
