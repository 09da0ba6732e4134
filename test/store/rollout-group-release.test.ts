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
