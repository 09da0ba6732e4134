// Update control's store rules beyond the fleet test: what devices outside a
// progressive release get when the channel had nothing of its own (the
// fall-through) or nothing at all, release ids across re-releases, the
// previous revision of a release that follows a partial one, and rollback of
// a channel that had nothing before (closed: it follows again).
import assert from 'node:assert/strict';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import type { StoreOwnTables } from '../../src/store/index.ts';
import type { TestServer } from '../helpers/server.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, openSession, packYaml, push, storeWorld, testSnaps } from './fixtures.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEADERS = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'content-type': 'application/json' };

async function sessionFor(s: TestServer, snapId: string, serialId: string): Promise<string> {
  return openSession(s, { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'c'.repeat(32), 'acme-app': snapId }, serialId);
}

/** A serial inside and one outside `pct`% of a release. */
function sides(snapId: string, releaseId: string, pct: number): { inside: string; outside: string } {
  const serials = Array.from({ length: 400 }, (_, i) => `box-${String(i + 1).padStart(4, '0')}`);
  const isIn = (x: string) => inPercentage(bucketOf({ brand: 'acme', model: 'box', serial: x }, snapId, releaseId), pct);
  return { inside: serials.find(isIn)!, outside: serials.find((x) => !isIn(x))! };
}

async function act(s: TestServer, session: string, action: object, context: object[] = []): Promise<{ result: string; snap?: { revision: number }; error?: { code: string } } | undefined> {
  const res = await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers: { ...HEADERS, 'snap-device-authorization': `Macaroon root="${session}"` }, body: { context, actions: [action] } }), 200);
  return res.json().results[0];
}

eachEngine('outside devices fall through or get nothing; release ids and previous revisions across re-releases; rollback of a new channel closes it', async (engine, t) => {
  const s = await storeWorld(engine);
  const dir = await mkdtemp(join(tmpdir(), 'snapline-rollout-svc-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  const r3 = await packYaml(dir, 'acme-app-3', 'name: acme-app\nversion: "3.0"\nbase: core20\n');
  await expectStatus(push(s, pub, 'acme-app', r3.bytes), 201);
  const release = (body: object) => expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body }), 200);
  const rollout = async (channel: string) => (await expectStatus(s.request('GET', `/api/store/snaps/acme-app/rollout?channel=${channel}`, { token: pub }), 200)).json().releases;

  // Candidate had nothing of its own (it followed stable's 1): devices outside 10% of 2 keep following 1.
  await release({ revision: 2, channels: ['candidate'], progressivePercentage: 10 });
  const cand = sides(snapId, `${snapId}:all:latest/candidate:1`, 10);
  const [inS, outS] = [await sessionFor(s, snapId, cand.inside), await sessionFor(s, snapId, cand.outside)];
  assert.equal((await rollout('candidate'))[0].previousRevision, 1);
  assert.equal((await act(s, inS, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: 'candidate' }))?.snap?.revision, 2);
  assert.equal((await act(s, outS, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: 'candidate' }))?.snap?.revision, 1);

  // A new track: nothing was served there before at all. Outside devices are offered nothing.
  await release({ revision: 3, channels: ['2.0/edge'], progressivePercentage: 10 });
  const fresh = sides(snapId, `${snapId}:all:2.0/edge:1`, 10);
  const [freshIn, freshOut] = [await sessionFor(s, snapId, fresh.inside), await sessionFor(s, snapId, fresh.outside)];
  assert.equal((await rollout('2.0/edge'))[0].previousRevision, null);
  assert.equal((await act(s, freshIn, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: '2.0/edge' }))?.snap?.revision, 3);
  assert.equal((await act(s, freshOut, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: '2.0/edge' }))?.error?.code, 'revision-not-found');
  const refreshOut = await act(s, freshOut, { action: 'refresh', 'instance-key': 'k', 'snap-id': snapId }, [{ 'snap-id': snapId, 'instance-key': 'k', revision: 1, 'tracking-channel': '2.0/edge', epoch: { read: [0], write: [0] } }]);
  assert.equal(refreshOut, undefined, 'a refresh outside with nothing before is no update');

  // Re-releasing the same revision keeps the id; another revision is a new release whose devices outside keep
  // what most devices ran (the partial release's previous revision, 1), not the partial release's 2.
  await release({ revision: 2, channels: ['candidate'], progressivePercentage: 40 });
  assert.deepEqual(
    (await rollout('candidate')).map((r: { releaseId: string; previousRevision: number }) => [r.releaseId, r.previousRevision]),
    [[`${snapId}:all:latest/candidate:1`, 1]],
  );
  await release({ revision: 3, channels: ['candidate'], progressivePercentage: 10 });
  assert.deepEqual(
    (await rollout('candidate')).map((r: { releaseId: string; previousRevision: number }) => [r.releaseId, r.previousRevision]),
    [[`${snapId}:all:latest/candidate:3`, 1]],
  );

  // Rolling back the new track's first release closes it: nothing is released there any more.
  const rolled = await expectStatus(s.request('POST', '/api/store/snaps/acme-app/rollout/rollback', { token: pub, body: { channel: '2.0/edge' } }), 200);
  assert.deepEqual(rolled.json().releases, []);
  const gone = await s.request('GET', '/api/store/snaps/acme-app/rollout?channel=2.0/edge', { token: pub });
  assert.equal(gone.json().error.code, 'rollout-not-found');
  assert.equal((await act(s, freshIn, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: '2.0/edge' }))?.error?.code, 'revision-not-found');
  const history = await s.server.ctx.db.kysely.withTables<StoreOwnTables>().selectFrom('store_release_history').select(['channel', 'revision', 'release_id']).where('channel', '=', '2.0/edge').orderBy('id').execute();
  assert.deepEqual(
    history.map((h) => [h.revision === null ? null : Number(h.revision), h.release_id]),
    [
      [3, `${snapId}:all:2.0/edge:1`],
      [null, null],
    ],
  );

  // Errors: a channel that does not parse, resuming what is not paused, a why without a serial.
  assert.equal((await s.request('GET', '/api/store/snaps/acme-app/rollout?channel=a/b/c/d', { token: pub })).json().error.code, 'invalid-channel');
  assert.equal((await s.request('POST', '/api/store/snaps/acme-app/rollout/resume', { token: pub, body: { channel: 'candidate' } })).json().error.code, 'rollout-conflict');
  assert.equal((await s.request('GET', '/api/store/snaps/acme-app/rollout/why', { token: pub })).status, 400);
});

eachEngine('a progressive release made before update control is served to every device as before, until released again', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  // As migration 0004 leaves a row written before it: no release id, no previous revision.
  const db = s.server.ctx.db.kysely.withTables<StoreOwnTables>();
  await db.updateTable('store_releases').set({ revision: 2, progressive_percentage: 10, release_id: null, previous_revision: null }).where('snap_id', '=', snapId).execute();
  const { outside } = sides(snapId, `${snapId}:all:latest/stable:2`, 10);
  const session = await sessionFor(s, snapId, outside);
  const install = async () => (await act(s, session, { action: 'install', 'instance-key': 'i', name: 'acme-app', channel: 'stable' }))?.snap?.revision;
  assert.equal(await install(), 2, 'served to every device, as before update control');
  const status = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app/rollout?channel=stable', { token: pub }), 200)).json();
  assert.match(status.releases[0].releaseId, /^legacy:/);
  const refused = await s.request('POST', '/api/store/snaps/acme-app/rollout/pause', { token: pub, body: { channel: 'stable' } });
  assert.equal(refused.json().error.code, 'rollout-conflict');
  assert.match(refused.json().error.message, /released before update control/);
  // Released again (the same revision): a release of its own, controlled from now on.
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: pub, body: { revision: 2, channels: ['stable'], progressivePercentage: 10 } }), 200);
  const again = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app/rollout?channel=stable', { token: pub }), 200)).json().releases[0];
  assert.equal(again.releaseId, `${snapId}:all:latest/stable:2`);
  assert.equal(again.previousRevision, 2, 'what the channel served every device before');
});
