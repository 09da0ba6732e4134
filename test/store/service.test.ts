// The store's rules through its service API, without HTTP (as update control,
// the web console and the device agent call them): who may publish what,
// uploads and releases, what devices see, and the errors as StoreErrors.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Actor } from '../../src/platform/context.ts';
import { isCodedError } from '../../src/errors/coded-error.ts';
import { StoreError, StoreService } from '../../src/store/index.ts';
import { eachEngine } from './engines.ts';
import { storeWorld, testSnaps } from './fixtures.ts';

const actor = (accountId: string, roles: ('admin' | 'publisher' | 'viewer')[], username = 'ann'): Actor => ({
  principal: { userId: '1', username, superuser: false, grants: [{ accountId, roles }] },
  ip: '127.0.0.1',
  requestId: 'test',
  origin: 'console',
});
const refused = (code: string) => (err: unknown) => err instanceof StoreError && isCodedError(err, code as never);

eachEngine('store rules through the service API: publishing, access, device answers', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const store = new StoreService(s.server.ctx);
  const { publishing, sessions, devices } = store;
  const publisher = actor('acme', ['publisher']);
  const viewer = actor('acme', ['viewer'], 'vic');
  const stranger = actor('other', ['admin'], 'sam');
  const acmeStore = await publishing.locateStore('acme-store');

  // Who may register: publishers of the brand, not viewers nor other brands; only the root account publishes base snaps.
  await assert.rejects(publishing.registerSnap(viewer, acmeStore, { name: 'acme-app' }), refused('forbidden'));
  await assert.rejects(publishing.registerSnap(stranger, acmeStore, { name: 'acme-app' }), refused('forbidden'));
  await assert.rejects(publishing.registerSnap(publisher, acmeStore, { name: 'core20' }), refused('snap-name-reserved'));
  const { snap } = await publishing.registerSnap(publisher, acmeStore, { name: 'acme-app' });
  assert.equal(snap.private, true);
  const audited = await s.server.ctx.db.kysely.selectFrom('audit_log').selectAll().where('action', '=', 'store.snap.register').executeTakeFirstOrThrow();
  assert.deepEqual([audited.actor, audited.origin], ['user:ann', 'console']);

  // Upload and release as a publisher; the snap's name must match.
  const snaps = await testSnaps();
  const target = await publishing.locateSnap('acme-app');
  await assert.rejects(publishing.upload(publisher, target, Readable.from([snaps.get('other-app')!.bytes])), refused('snap-name-mismatch'));
  await assert.rejects(publishing.upload(viewer, target, Readable.from([snaps.get('acme-app')!.bytes])), refused('forbidden'));
  const up = await publishing.upload(publisher, target, Readable.from([snaps.get('acme-app')!.bytes]), { release: ['stable'] });
  assert.equal(up.revision.revision, 1);
  assert.deepEqual(up.released, ['latest/stable']);
  assert.equal('snapYaml' in up.revision, false, 'the publisher view has no snap.yaml text');
  await assert.rejects(publishing.release(publisher, target, { revision: 9, channels: ['edge'] }), refused('revision-not-found'));
  await assert.rejects(publishing.release(publisher, target, { revision: 1, channels: ['no/such/risk/here'] }), refused('invalid-channel'));
  const status = await publishing.status(viewer, await publishing.locateSnap('acme-app'));
  assert.equal(status.channelMap.find((r) => r.channel === 'latest/edge')?.following, 'latest/stable');
  await assert.rejects(publishing.status(stranger, await publishing.locateSnap('acme-app')), refused('forbidden'));
  // An unknown snap: refused to everyone but the superuser, who learns it is not found.
  await assert.rejects(publishing.status(publisher, await publishing.locateSnap('nope')), refused('forbidden'));

  // Devices: the private snap is seen only by requests naming its store.
  const inStore = await sessions.device({ store: 'acme-store', architecture: 'amd64', origin: 'http://store.example' });
  assert.deepEqual(inStore.seen, ['acme-store', 'operator-store']);
  const anonymous = await sessions.device({});
  const info = await devices.info(inStore, 'acme-app');
  assert.equal((info['channel-map'] as unknown[]).length, 1);
  await assert.rejects(devices.info(anonymous, 'acme-app'), refused('resource-not-found'));
  await assert.rejects(devices.createCohorts(anonymous, ['acme-app']), refused('name-not-found'));
  const keys = await devices.createCohorts(inStore, ['acme-app']);
  assert.match(keys['acme-app']!, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const answer = JSON.parse((await devices.snapAction(inStore, { actions: [{ action: 'install', 'instance-key': 'i1', name: 'acme-app' }] })).toString());
  assert.equal(answer.results[0].snap.revision, 1);
  assert.match(answer.results[0].snap.download.url, /\/api\/v1\/snaps\/download\/[0-9a-f]{96}\/acme-app_1\.snap$/);
  const hidden = JSON.parse((await devices.snapAction(anonymous, { actions: [{ action: 'install', 'instance-key': 'i1', name: 'acme-app' }] })).toString());
  assert.equal(hidden.results[0].error.code, 'name-not-found');
  // A session token that no session has: the device must open a new one.
  await assert.rejects(sessions.device({ sessionToken: 'snls_nope' }), refused('device-authorization-needs-refresh'));
  await assert.rejects(devices.download('0'.repeat(96)), refused('not-found'));
});
