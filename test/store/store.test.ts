// The must-work scenario: a model naming the brand store; its gadget, kernel,
// base and extra snaps pushed and released; a client speaking snapd's
// protocol opens a device session, installs them, downloads each and checks
// digest and size, and verifies the declaration and revision assertions
// against the root. Plus visibility: nothing private leaks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeStream, TrustDatabase, type Assertion } from '../../src/assertions/index.ts';
import { eachEngine } from './engines.ts';
import { deviceIdentity, expectStatus, push, sessionRequest, storeWorld, testSnaps, TEST_ADMIN_TOKEN, TEST_ROOT_ID } from './fixtures.ts';

const FIELDS = ['architectures', 'base', 'confinement', 'contact', 'created-at', 'description', 'download', 'epoch', 'license', 'name', 'prices', 'private', 'publisher', 'revision', 'snap-id', 'snap-yaml', 'summary', 'title', 'type', 'version', 'website', 'store-url', 'media', 'common-ids'];

eachEngine('a device of a model naming the brand store installs, downloads and verifies its snaps', async (engine, t) => {
  const s = await storeWorld(engine);
  t.after(() => s.close());
  const snaps = await testSnaps();
  const acmePublisher = await s.tokenFor(['publisher'], 'acme');
  const admin = TEST_ADMIN_TOKEN;

  // Register: base by the operator (root account) in the operator store, the rest by the brand.
  const core20 = (await expectStatus(s.request('POST', '/api/store/stores/operator-store/snaps', { token: admin, body: { name: 'core20', private: false } }), 201)).json();
  assert.equal(core20.snap.snapId, 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'core20 carries its well-known snap-id');
  assert.equal(core20.snap.publisherId, TEST_ROOT_ID);
  const ids: Record<string, string> = { core20: core20.snap.snapId };
  for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) {
    const r = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: acmePublisher, body: { name } }), 201)).json();
    assert.match(r.snap.snapId, /^[a-zA-Z0-9]{32}$/);
    assert.equal(r.snap.private, true);
    ids[name] = r.snap.snapId;
  }
  await expectStatus(s.request('POST', '/api/store/stores/other-store/snaps', { token: admin, body: { name: 'other-app' } }), 201);

  // Push and release.
  const up = (await expectStatus(push(s, admin, 'core20', snaps.get('core20')!.bytes, 'stable'), 201)).json();
  assert.equal(up.revision.revision, 1);
  assert.deepEqual(up.released, ['latest/stable']);
  for (const name of ['acme-gadget', 'acme-kernel', 'acme-app']) {
    const r = (await expectStatus(push(s, acmePublisher, name, snaps.get(name)!.bytes, 'stable,edge'), 201)).json();
    assert.equal(r.revision.revision, 1);
  }
  const app2 = (await expectStatus(push(s, acmePublisher, 'acme-app', snaps.get('acme-app-2')!.bytes), 201)).json();
  assert.equal(app2.revision.revision, 2, 'revisions are numbered per snap');
  await expectStatus(push(s, admin, 'other-app', snaps.get('other-app')!.bytes, 'stable'), 201);

  // Device session: nonce, then device-session-request + serial + model.
  const { model, serial } = deviceIdentity(ids);
  const nonce = (await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces', { headers: { accept: 'application/json' } }), 200)).json().nonce;
  assert.ok(typeof nonce === 'string' && nonce.length > 0);
  const sessRes = await expectStatus(
    s.request('POST', '/api/v1/snaps/auth/sessions', {
      body: { 'device-session-request': sessionRequest(nonce).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() },
    }),
    200,
  );
  const session = sessRes.json().macaroon as string;
  assert.ok(session && !session.includes('"'));
  // A nonce is used once.
  const replay = await s.request('POST', '/api/v1/snaps/auth/sessions', {
    body: { 'device-session-request': sessionRequest(nonce).toString(), 'serial-assertion': serial.toString(), 'model-assertion': model.toString() },
  });
  assert.equal(replay.status, 401);

  const v2 = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16', 'snap-classic': 'false', 'snap-device-store': 'acme-store', 'snap-device-authorization': `Macaroon root="${session}"`, 'content-type': 'application/json', accept: 'application/json' };
  const install = await expectStatus(
    s.request('POST', '/v2/snaps/refresh', {
      headers: v2,
      body: {
        context: [],
        actions: ['acme-gadget', 'acme-kernel', 'core20', 'acme-app'].map((name, i) => ({ action: 'install', 'instance-key': `install-${i + 1}`, name, channel: 'stable', epoch: null })),
        fields: FIELDS,
      },
    }),
    200,
  );
  const results = install.json().results as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(results.length, 4, install.body);
  const trust = new TrustDatabase({ trusted: s.server.ctx.root.trusted, now: () => new Date() });
  for (const r of results) {
    assert.equal(r.result, 'install');
    assert.equal(r['effective-channel'], 'latest/stable');
    const snap = r.snap;
    assert.equal(snap['snap-id'], ids[r.name]);
    assert.equal(snap.revision, 1);
    assert.ok(['app', 'gadget', 'kernel', 'base'].includes(snap.type), snap.type);
    assert.deepEqual(snap.epoch, { read: [0], write: [0] });
    assert.match(snap.download.url, /^http:\/\//);
    // Download (absolute URL from publicUrl; inject takes the path).
    const path = new URL(snap.download.url).pathname;
    const dl = await expectStatus(s.request('GET', path, { headers: { 'x-ubuntu-store': 'acme-store' } }), 200);
    assert.equal(dl.raw.length, snap.download.size);
    const hex = createHash('sha3-384').update(dl.raw).digest('hex');
    assert.equal(hex, snap.download['sha3-384']);
    assert.ok(dl.raw.equals(snaps.get(r.name)!.bytes));
    // Resume: Range from the middle.
    const half = Math.floor(dl.raw.length / 2);
    const part = await expectStatus(s.request('GET', path, { headers: { range: `bytes=${half}-` } }), 206);
    assert.ok(part.raw.equals(dl.raw.subarray(half)));
    assert.equal(part.headers['content-range'], `bytes ${half}-${dl.raw.length - 1}/${dl.raw.length}`);
    // The snap-revision by digest (base64url), with its chain, verifies against the root.
    const digest = Buffer.from(hex, 'hex').toString('base64url');
    const res = await expectStatus(s.request('GET', `/v2/assertions/snap-revision/${digest}?chain=true`, { headers: { accept: 'application/x.ubuntu.assertion', 'x-ubuntu-store': 'acme-store' } }), 200);
    assert.equal(res.headers['content-type'], 'application/x.ubuntu.assertion');
    const stream = decodeStream(res.raw);
    trust.addBatch(stream);
    const rev = trust.get('snap-revision', [digest]) as Assertion;
    assert.equal(rev.headerString('snap-size'), String(dl.raw.length));
    assert.equal(rev.headerString('snap-revision'), '1');
    assert.equal(rev.headerString('snap-id'), ids[r.name]);
    const decl = trust.get('snap-declaration', ['16', ids[r.name]!]);
    assert.equal(decl.headerString('snap-name'), r.name);
    assert.equal(decl.authorityId, TEST_ROOT_ID);
  }
  // The single form (what snapd's fetcher uses) answers one assertion.
  const single = await expectStatus(s.request('GET', `/v2/assertions/snap-declaration/16/${ids['acme-app']}?max-format=5`, { headers: { 'x-ubuntu-store': 'acme-store' } }), 200);
  assert.equal(decodeStream(single.raw).length, 1);

  // Refresh: the app has revision 2 on edge only; a device tracking stable gets nothing, one tracking edge... gets 1 (edge has 1).
  const refresh = async (channel: string, revision: number) =>
    (
      await expectStatus(
        s.request('POST', '/v2/snaps/refresh', {
          headers: v2,
          body: {
            context: [{ 'snap-id': ids['acme-app'], 'instance-key': ids['acme-app'], revision, 'tracking-channel': channel, epoch: { read: [0], write: [0] } }],
            actions: [{ action: 'refresh', 'instance-key': ids['acme-app'], 'snap-id': ids['acme-app'] }],
            fields: FIELDS,
          },
        }),
        200,
      )
    ).json();
  assert.deepEqual((await refresh('stable', 1)).results, []);
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: acmePublisher, body: { revision: 2, channels: ['beta'] } }), 200);
  const edgeRefresh = await refresh('latest/edge', 1);
  assert.deepEqual(edgeRefresh.results, [], 'edge has its own release (1), so it does not follow beta');
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/close', { token: acmePublisher, body: { channels: ['edge'] } }), 200);
  const followed = await refresh('edge', 1);
  assert.equal(followed.results.length, 1);
  assert.equal(followed.results[0].snap.revision, 2);
  assert.equal(followed.results[0]['effective-channel'], 'latest/beta', 'a closed risk follows the next more stable one');

  // fetch-assertions gives stream URLs.
  const fa = (
    await expectStatus(
      s.request('POST', '/v2/snaps/refresh', {
        headers: v2,
        body: {
          context: [],
          actions: [
            { action: 'fetch-assertions', key: 'AAA', assertions: [{ type: 'snap-declaration', 'primary-key': ['16', ids['acme-app']] }, { type: 'snap-declaration', 'primary-key': ['16', 'x'.repeat(32)] }] },
          ],
          'assertion-max-formats': { 'snap-declaration': 5 },
        },
      }),
      200,
    )
  ).json();
  assert.equal(fa.results[0].key, 'AAA');
  assert.equal(fa.results[0]['assertion-stream-urls'].length, 1);
  assert.equal(fa.results[0]['error-list'][0].code, 'not-found');

  // Info and find.
  const info = await expectStatus(s.request('GET', '/v2/snaps/info/acme-app?architecture=amd64&fields=download', { headers: { 'snap-device-store': 'acme-store' } }), 200);
  assert.equal(info.headers['content-type'], 'application/json');
  const cm = info.json()['channel-map'] as { channel: { name: string; track: string }; revision: number }[];
  assert.deepEqual(cm.map((c) => `${c.channel.track}/${c.channel.name}=${c.revision}`).sort(), ['latest/beta=2', 'latest/stable=1']);
  const find = await expectStatus(s.request('GET', '/v2/snaps/find?q=acme', { headers: { 'snap-device-store': 'acme-store' } }), 200);
  assert.equal(find.headers['content-type'], 'application/json');
  assert.deepEqual(find.json().results.map((r: { name: string }) => r.name).sort(), ['acme-app', 'acme-gadget', 'acme-kernel']);

  // Visibility: without the store, or for another store, private snaps do not exist.
  const anon = { 'snap-device-architecture': 'amd64', 'snap-device-series': '16' };
  const notFound = (
    await expectStatus(
      s.request('POST', '/v2/snaps/refresh', { headers: anon, body: { context: [], actions: [{ action: 'download', 'instance-key': 'download-1', name: 'acme-app', epoch: null }], fields: FIELDS } }),
      200,
    )
  ).json();
  assert.equal(notFound.results[0].result, 'error');
  assert.equal(notFound.results[0].error.code, 'name-not-found');
  assert.equal(notFound.results[0].name, 'acme-app');
  const otherStore = (
    await expectStatus(
      s.request('POST', '/v2/snaps/refresh', { headers: v2, body: { context: [], actions: [{ action: 'install', 'instance-key': 'install-1', name: 'other-app', epoch: null }] } }),
      200,
    )
  ).json();
  assert.equal(otherStore.results[0].error.code, 'name-not-found');
  const infoOther = await s.request('GET', '/v2/snaps/info/acme-app', { headers: { 'snap-device-store': 'other-store' } });
  assert.equal(infoOther.status, 404);
  assert.equal(infoOther.headers['content-type'], 'application/json');
  assert.equal(infoOther.json()['error-list'][0].code, 'resource-not-found');
  const declHidden = await s.request('GET', `/v2/assertions/snap-declaration/16/${ids['acme-app']}`, { headers: { 'x-ubuntu-store': 'other-store' } });
  assert.equal(declHidden.status, 404);
  assert.equal(declHidden.headers['content-type'], 'application/json');
  assert.equal(declHidden.json()['error-list'][0].code, 'not-found');
  // The public base snap is visible to anyone.
  const baseAnon = (
    await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers: anon, body: { context: [], actions: [{ action: 'download', 'instance-key': 'download-1', name: 'core20', epoch: null }] } }), 200)
  ).json();
  assert.equal(baseAnon.results[0].result, 'download');
  // A bad session asks snapd to refresh it.
  const bad = await s.request('POST', '/v2/snaps/refresh', { headers: { ...v2, 'snap-device-authorization': 'Macaroon root="nope"' }, body: { context: [], actions: [] } });
  assert.equal(bad.status, 401);
  assert.match(String(bad.headers['www-authenticate']), /refresh_device_session=1/);

  // Status: the channel map like snapcraft status.
  const status = (await expectStatus(s.request('GET', '/api/store/snaps/acme-app', { token: acmePublisher }), 200)).json();
  const byChannel = Object.fromEntries(status.channelMap.map((r: { channel: string; revision: number | null; following: string | null }) => [r.channel, `${r.revision}${r.following ? '<' + r.following : ''}`]));
  assert.deepEqual(byChannel, { 'latest/stable': '1', 'latest/candidate': '1<latest/stable', 'latest/beta': '2', 'latest/edge': '2<latest/beta' });
});
