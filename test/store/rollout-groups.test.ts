// Device groups and holds (update control): a held group's devices are
// offered nothing new from any snap of the store, through the device
// protocol; ending the hold lets them refresh; `why` names the group; the
// CLI creates, lists, extends, holds and unholds groups.
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, openSession, push, storeWorld, testSnaps } from './fixtures.ts';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };
const serialOf = (i: number) => `box-${String(i).padStart(4, '0')}`;

async function sessions(s: TestServer, snapId: string, n: number): Promise<{ serial: string; session: string; installed: number }[]> {
  const out = [];
  for (let i = 1; i <= n; i++) out.push({ serial: serialOf(i), session: await openSession(s, { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'c'.repeat(32), 'acme-app': snapId }, serialOf(i)), installed: 1 });
  return out;
}

eachEngine('a held device group is offered nothing new until the hold ends; why names the group; snapline group', async (engine, t) => {
  const s = await storeWorld(engine, { listen: true });
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: pub, SNAPLINE_CREDENTIALS: '/nonexistent/credentials.json' };
  const cli = async (args: string[], e = env) => {
    const r = await runCli(args, { env: e });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  const devices = await sessions(s, snapId, 12);
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
      const rev = (res.json().results as { snap: { revision: number } }[])[0]?.snap.revision;
      got.set(d.serial, rev);
      if (rev !== undefined) d.installed = rev;
    }
    return got;
  };

  // The group: box-0001..box-0009 by pattern, and box-0011 by serial (added later).
  assert.equal(await cli(['group', 'create', 'acme-store', 'lab', '--serial-pattern', 'box-000?']), 'lab: models -; serials -; serial pattern box-000?\n');
  assert.equal(await cli(['group', 'add', 'acme-store', 'lab', '--serial', 'box-0011']), 'lab: models -; serials box-0011; serial pattern box-000?\n');
  const dup = await runCli(['group', 'create', 'acme-store', 'lab'], { env });
  assert.match(dup.err, /already has a device group lab \(group-exists\)/);
  const refused = await runCli(['group', 'hold', 'acme-store', 'lab'], { env: { ...env, SNAPLINE_TOKEN: viewer } });
  assert.match(refused.err, /forbidden/);
  assert.equal(await cli(['group', 'hold', 'acme-store', 'lab']), 'lab (held): models -; serials box-0011; serial pattern box-000?\n');
  assert.equal(await cli(['group', 'list', 'acme-store'], { ...env, SNAPLINE_TOKEN: viewer }), 'lab (held): models -; serials box-0011; serial pattern box-000?\n');
  const held = new Set([...Array.from({ length: 9 }, (_, i) => serialOf(i + 1)), 'box-0011']);

  // A full release of 2: the held devices get nothing new, the others get it.
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 2, channels: ['stable'] } }), 200);
  const during = await round();
  for (const d of devices) assert.equal(during.get(d.serial), held.has(d.serial) ? undefined : 2, d.serial);
  // An install (nothing installed) is decided as usual.
  const install = await s.request('POST', '/v2/snaps/refresh', {
    headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${devices[0]!.session}"` },
    body: { context: [], actions: [{ action: 'install', 'instance-key': 'i', name: 'acme-app', channel: 'stable' }] },
  });
  assert.equal(install.json().results[0].snap.revision, 2);
  const why = await cli(['rollout', 'why', 'acme-app', '--serial', 'box-0003']);
  assert.match(why, /^acme-app latest\/stable for acme\/box\/box-0003\nheld by device group lab: its refreshes keep the installed revision \(nothing new\)\nall: revision 2: released to every device/);
  const whyApi = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app/rollout/why?serial=box-0012', { token: pub }), 200)).json();
  assert.equal(whyApi.heldBy, null);

  // The hold ends: they refresh.
  assert.equal(await cli(['group', 'unhold', 'acme-store', 'lab']), 'lab: models -; serials box-0011; serial pattern box-000?\n');
  const after = await round();
  for (const d of devices) assert.equal(after.get(d.serial), held.has(d.serial) ? 2 : undefined, d.serial);
  assert.ok(devices.every((d) => d.installed === 2));
  const again = await runCli(['group', 'unhold', 'acme-store', 'lab'], { env });
  assert.match(again.err, /not held \(rollout-conflict\)/);
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').select('action').where('action', 'like', 'store.group.%').orderBy('id').execute();
  assert.deepEqual(
    audited.map((a) => a.action),
    ['store.group.create', 'store.group.add', 'store.group.hold', 'store.group.unhold'],
  );
});
