// A release targeting device groups (update control), both engines, through
// the CLI and the device protocol: alone, only the groups' devices are
// offered the revision; with a percentage, the groups and the devices in the
// percentage; why says which; a group no store seeing the snap has is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import { runCli } from '../helpers/cli.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, packYaml, push, storeWorld, TEST_ADMIN_TOKEN } from './fixtures.ts';
import { SNAP_ID, simFleet, simRound } from './sim-fleet.ts';

eachEngine('a release to device groups: only them, then them and a percentage', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-group-release-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = TEST_ADMIN_TOKEN;
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: root, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: root, body: { name: 'core20', private: false } }), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-1', 'name: core20\nversion: "20.1"\ntype: base\n')).bytes, 'stable'), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-2', 'name: core20\nversion: "20.2"\ntype: base\n')).bytes), 201);
  const devices = await simFleet(s, 30);
  const lab = ['box-0003', 'box-0007'];
  assert.equal((await runCli(['group', 'create', 'acme-store', 'lab', '--serial', lab.join(',')], { env })).code, 0);

  const missing = await runCli(['release', 'core20', '2', 'stable', '--group', 'nope'], { env });
  assert.match(missing.err, /has a device group "nope"/);
  const released = await runCli(['release', 'core20', '2', 'stable', '--group', 'lab'], { env });
  assert.equal(released.code, 0, released.err);
  const first = await simRound(s, devices);
  assert.deepEqual([...first].filter(([, v]) => v === 2).map(([k]) => k), lab, 'only the group');
  const why = (await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout/why?serial=box-0003', { token: root }), 200)).json().answers[0];
  assert.deepEqual([why.revision, why.reason.rule, why.reason.group], [2, 'in-group', 'lab']);
  assert.match((await runCli(['rollout', 'status', 'core20', 'stable'], { env })).out, /offered to device groups lab whatever their bucket/);

  // The same release at 30% keeps the group (same release id, same buckets) and adds the devices under 30%.
  assert.equal((await runCli(['release', 'core20', '2', 'stable', '--group', 'lab', '--progressive', '30'], { env })).code, 0);
  await simRound(s, devices);
  const rel = `${SNAP_ID}:all:latest/stable:2`;
  const expected = devices.filter((d) => lab.includes(d.serial) || inPercentage(bucketOf({ brand: 'acme', model: 'box', serial: d.serial }, SNAP_ID, rel), 30)).map((d) => d.serial);
  assert.deepEqual(devices.filter((d) => d.installed === 2).map((d) => d.serial), expected);
  assert.ok(expected.length > lab.length && expected.length < devices.length);
});

eachEngine('device labels set through the API: a release to a group by label, and a held group by label', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-group-labels-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const root = TEST_ADMIN_TOKEN;
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: root, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const cli = async (args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: root, body: { name: 'core20', private: false } }), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-1', 'name: core20\nversion: "20.1"\ntype: base\n')).bytes, 'stable'), 201);
  await expectStatus(push(s, root, 'core20', (await packYaml(dir, 'core20-2', 'name: core20\nversion: "20.2"\ntype: base\n')).bytes), 201);
  const devices = await simFleet(s, 12);

  assert.equal(await cli(['group', 'create', 'acme-store', 'canaries', '--label', 'canary']), 'canaries: models -; serials -; serial pattern -; labels canary\n');
  assert.equal(await cli(['group', 'label', 'acme-store', 'box-0002', '--model', 'box', 'canary']), 'acme/box/box-0002: canary\n');
  const set = await expectStatus(s.request('PUT', '/api/store/stores/acme-store/device-labels', { token: root, body: { model: 'box', serial: 'box-0005', labels: ['lab-2', 'canary', 'canary'] } }), 200);
  assert.deepEqual(set.json().device.labels, ['canary', 'lab-2'], 'sorted, once each');
  await expectStatus(s.request('PUT', '/api/store/stores/acme-store/device-labels', { token: root, body: { model: 'box', serial: 'box-0006', labels: ['Not A Label'] } }), 400);
  assert.equal(await cli(['group', 'label', 'acme-store', 'box-0011', '--model', 'box', 'lab-2']), 'acme/box/box-0011: lab-2\n');
  assert.equal(await cli(['group', 'labels', 'acme-store']), 'acme/box/box-0002: canary\nacme/box/box-0005: canary, lab-2\nacme/box/box-0011: lab-2\n');
  assert.equal(await cli(['group', 'labels', 'acme-store', '--label', 'canary']), 'acme/box/box-0002: canary\nacme/box/box-0005: canary, lab-2\n');
  // Paged: the cursor of a page leads to the next one.
  const page1 = (await expectStatus(s.request('GET', '/api/store/stores/acme-store/device-labels?limit=2', { token: root }), 200)).json();
  assert.deepEqual(page1.devices.map((d: { serial: string }) => d.serial), ['box-0002', 'box-0005']);
  const page2 = (await expectStatus(s.request('GET', `/api/store/stores/acme-store/device-labels?limit=2&after=${page1.next}`, { token: root }), 200)).json();
  assert.deepEqual([page2.devices.map((d: { serial: string }) => d.serial), page2.next], [['box-0011'], null]);
  await expectStatus(s.request('GET', '/api/store/stores/acme-store/device-labels?after=nonsense', { token: root }), 400);

  // A release to the group by label: only the labelled devices.
  assert.equal((await runCli(['release', 'core20', '2', 'stable', '--group', 'canaries'], { env })).code, 0);
  const first = await simRound(s, devices);
  assert.deepEqual([...first].filter(([, v]) => v === 2).map(([k]) => k), ['box-0002', 'box-0005']);
  const why = (await expectStatus(s.request('GET', '/api/store/snaps/core20/rollout/why?serial=box-0005', { token: root }), 200)).json().answers[0];
  assert.deepEqual([why.revision, why.reason.rule, why.reason.group], [2, 'in-group', 'canaries']);

  // A held group by label: box-0011 (lab-2) gets nothing new from the full release; removing its labels frees it.
  await cli(['group', 'create', 'acme-store', 'frozen', '--label', 'frozen']);
  await cli(['group', 'add', 'acme-store', 'frozen', '--label', 'lab-2']);
  await cli(['group', 'hold', 'acme-store', 'frozen']);
  assert.equal((await runCli(['release', 'core20', '2', 'stable'], { env })).code, 0);
  await simRound(s, devices);
  // box-0005 runs 2 already (it keeps it); box-0011 is held at 1.
  assert.deepEqual(devices.filter((d) => d.installed !== 2).map((d) => d.serial), ['box-0011']);
  assert.equal(await cli(['group', 'label', 'acme-store', 'box-0011', '--model', 'box']), 'acme/box/box-0011: -\n');
  await simRound(s, devices);
  assert.ok(devices.every((d) => d.installed === 2));
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select('action').where('action', '=', 'store.device.labels').execute();
  assert.equal(audited.length, 4);
});
