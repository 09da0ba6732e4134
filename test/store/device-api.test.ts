// Details of the snapd-facing API: header variants, downloads (HEAD, ranges),
// explicit revisions, classic confinement on Ubuntu Core, fetch-assertions
// with if-newer-than, and snapd's error shapes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream, formatTimestamp, sign, ValidationSetType } from '../../src/assertions/index.ts';
import { putAssertion } from '../../src/platform/assertions/index.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { eachEngine } from './engines.ts';
import { expectStatus, packYaml, push, storeWorld, testSnaps } from './fixtures.ts';

eachEngine('snapd API details: headers, downloads, revisions, classic, fetch-assertions', async (engine, t) => {
  const s = await storeWorld(engine);
  const dir = await mkdtemp(join(tmpdir(), 'snapline-store-classic-'));
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const snaps = await testSnaps();
  const classic = await packYaml(dir, 'acme-tool', 'name: acme-tool\nversion: "1"\nconfinement: classic\nbase: core22\n');
  const pub = await s.tokenFor(['publisher'], 'acme');
  for (const name of ['acme-app', 'acme-tool']) await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name } }), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app-2')!.bytes, 'edge'), 201);
  await expectStatus(push(s, pub, 'acme-tool', classic.bytes, 'stable'), 201);

  // The nonce endpoint takes an empty body whatever the content type says.
  await expectStatus(s.request('POST', '/api/v1/snaps/auth/nonces', { headers: { 'content-type': 'application/json' } }), 200);

  // v1 header names (X-Ubuntu-*) work like the v2 ones.
  const v1 = { 'x-ubuntu-store': 'acme-store', 'x-ubuntu-architecture': 'arm64', 'x-ubuntu-series': '16', 'x-ubuntu-classic': 'false' };
  const action = async (headers: Record<string, string>, actions: unknown[], context: unknown[] = []) =>
    (await expectStatus(s.request('POST', '/v2/snaps/refresh', { headers, body: { context, actions, fields: ['download', 'revision', 'snap-yaml'] } }), 200)).json();
  const byRev = await action(v1, [{ action: 'download', 'instance-key': 'download-1', name: 'acme-app', revision: 2, epoch: null }]);
  assert.equal(byRev.results[0].result, 'download');
  assert.equal(byRev.results[0].snap.revision, 2, 'an explicit revision, released or not');
  assert.match(byRev.results[0].snap['snap-yaml'], /^name: acme-app\n/);
  const noRev = await action(v1, [{ action: 'download', 'instance-key': 'download-1', name: 'acme-app', revision: 7, epoch: null }]);
  assert.equal(noRev.results[0].error.code, 'revision-not-found');
  const badChannel = await action(v1, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-app', channel: 'latest/nope', epoch: null }]);
  assert.equal(badChannel.results[0].error.code, 'invalid-channel');
  const candidate = await action(v1, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-app', channel: 'candidate', epoch: null }]);
  assert.equal(candidate.results[0]['effective-channel'], 'latest/stable', 'an empty risk follows the next more stable one');
  const noTrack = await action(v1, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-app', channel: '9.0/stable', epoch: null }]);
  assert.equal(noTrack.results[0].error.code, 'revision-not-found');
  assert.deepEqual(noTrack.results[0].error.extra.releases, [
    { architecture: 'arm64', channel: 'latest/stable' },
    { architecture: 'arm64', channel: 'latest/edge' },
  ]);
  // Classic confinement: refused on Ubuntu Core (Snap-Classic: false), offered on classic systems.
  const onCore = await action(v1, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-tool', epoch: null }]);
  assert.equal(onCore.results[0].error.code, 'revision-not-found');
  assert.equal(onCore.results[0].name, 'acme-tool');
  const onClassic = await action({ ...v1, 'x-ubuntu-classic': 'true' }, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-tool', epoch: null }]);
  assert.equal(onClassic.results[0].snap.confinement, 'classic');
  // Unknown series: nothing is served.
  const series = await action({ ...v1, 'x-ubuntu-series': '18' }, [{ action: 'install', 'instance-key': 'install-1', name: 'acme-app', epoch: null }]);
  assert.deepEqual(series.results, []);

  // fetch-assertions honours if-newer-than.
  const appId = byRev.results[0]['snap-id'];
  const fa = await action(v1, [
    { action: 'fetch-assertions', key: 'g1', assertions: [{ type: 'snap-declaration', 'primary-key': ['16', appId], 'if-newer-than': 0 }] },
    { action: 'fetch-assertions', key: 'g2', assertions: [{ type: 'account', 'primary-key': ['acme'] }, { type: 'nonsense' }] },
  ]);
  assert.deepEqual(fa.results[0]['assertion-stream-urls'], [], 'revision 0 is not newer than 0');
  assert.equal(fa.results[1]['assertion-stream-urls'].length, 1);
  assert.equal(fa.results[1]['error-list'].length, 1);
  const url = new URL(fa.results[1]['assertion-stream-urls'][0]);
  const stream = await expectStatus(s.request('GET', url.pathname + url.search, { headers: { accept: 'application/x.ubuntu.assertion' } }), 200);
  assert.deepEqual(decodeStream(stream.raw).map((a) => a.type), ['account'], 'the root account-key is trusted, so the chain adds nothing');
  // Epochs: a revision that cannot read the installed epoch is not offered.
  const ctxEntry = (write: number[]) => [{ 'snap-id': appId, 'instance-key': appId, revision: 1, 'tracking-channel': 'edge', epoch: { read: write, write } }];
  const refreshAction = [{ action: 'refresh', 'instance-key': appId, 'snap-id': appId }];
  assert.equal((await action(v1, refreshAction, ctxEntry([0]))).results[0].snap.revision, 2);
  assert.deepEqual((await action(v1, refreshAction, ctxEntry([1]))).results, []);

  // Validation sets: a pinned sequence, the latest, and fetch-assertions by sequence key.
  for (const sequence of ['1', '2']) {
    const vs = sign(
      ValidationSetType,
      { headers: { 'authority-id': 'acme', series: '16', 'account-id': 'acme', name: 'set1', sequence, snaps: [{ name: 'acme-app', id: appId, presence: 'required' }], timestamp: formatTimestamp(new Date()) } },
      vectorKey('brand'),
      new Date(),
    );
    await putAssertion(s.server.ctx.db.kysely, vs);
  }
  const latest = await expectStatus(s.request('GET', '/v2/assertions/validation-set/16/acme/set1?sequence=latest&max-format=0'), 200);
  assert.equal(decodeStream(latest.raw)[0]!.headerString('sequence'), '2');
  const pinned = await expectStatus(s.request('GET', '/v2/assertions/validation-set/16/acme/set1?sequence=1'), 200);
  assert.equal(decodeStream(pinned.raw)[0]!.headerString('sequence'), '1');
  const vsFetch = await action(v1, [
    { action: 'fetch-assertions', key: 'v', assertions: [{ type: 'validation-set', 'sequence-key': ['16', 'acme', 'set1'], 'if-sequence-equal-or-newer-than': 2 }, { type: 'validation-set', 'sequence-key': ['16', 'acme', 'set1'], 'if-sequence-equal-or-newer-than': 3 }] },
  ]);
  assert.equal(vsFetch.results[0]['assertion-stream-urls'].length, 1);
  assert.match(vsFetch.results[0]['assertion-stream-urls'][0], /\/v2\/assertions\/validation-set\/16\/acme\/set1\/2\?chain=true&max-format=0$/);
  assert.deepEqual(vsFetch.results[0]['error-list'].map((e: { code: string; 'sequence-key': string[] }) => [e.code, e['sequence-key']]), [['not-found', ['16', 'acme', 'set1']]]);

  // Assertions: unknown types and device identities are not served.
  for (const path of ['/v2/assertions/nonsense/x', '/v2/assertions/serial/acme/box/1', '/v2/assertions/account']) {
    const res = await s.request('GET', path);
    assert.equal(res.status, 404, path);
    assert.equal(res.headers['content-type'], 'application/json');
  }
  const store = await expectStatus(s.request('GET', '/v2/assertions/store/acme-store'), 200);
  assert.equal(decodeStream(store.raw)[0]!.headerString('operator-id'), 'acme');

  // Downloads: HEAD, ranges, unknown files.
  const dl = new URL(byRev.results[0].snap.download.url).pathname;
  const head = await expectStatus(s.request('HEAD', dl), 200);
  assert.equal(head.headers['content-length'], String(byRev.results[0].snap.download.size));
  assert.equal(head.raw.length, 0);
  const tail = await expectStatus(s.request('GET', dl, { headers: { range: 'bytes=-100' } }), 206);
  assert.equal(tail.raw.length, 100);
  const mid = await expectStatus(s.request('GET', dl, { headers: { range: 'bytes=10-19' } }), 206);
  assert.ok(mid.raw.equals(snaps.get('acme-app-2')!.bytes.subarray(10, 20)));
  const past = await s.request('GET', dl, { headers: { range: `bytes=${1 << 30}-` } });
  assert.equal(past.status, 416);
  assert.match(String(past.headers['content-range']), /^bytes \*\/\d+$/);
  const unknown = await s.request('GET', `/api/v1/snaps/download/${'0'.repeat(96)}/x_1.snap`);
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json()['error-list'][0].code, 'not-found');
});
