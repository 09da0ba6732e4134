// End to end against Snapline's own brand store (src/store), listening on a
// real port behind a small pass-through proxy (the store's public URL must be
// known before it starts; a load balancer plays this part in production):
// snaps registered, pushed and released through the publisher API, then
// core18 and core20 seeds built from it and loaded by the seed checker, with
// a store-download credential (UBUNTU_STORE_AUTH) for the brand's private snaps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdir, writeFile } from 'node:fs/promises';
import { createAccountKeyRequest, encodeStream, formatTimestamp, ModelType, sign } from '../../src/assertions/index.ts';
import { storePlugin } from '../../src/store/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { authorizationFromEnv } from '../../src/image/store-client.ts';
import { startTestServer, TEST_ADMIN_TOKEN, TEST_ROOT_ID } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { loadSeed16, loadSeed20 } from './seed-checker.ts';
import { buildSnapdProgram, runProgram } from '../interop/helpers/snapd-go.ts';
import { sameTree } from '../interop/helpers/tree.ts';
import { proxy, withTemp } from './helpers.ts';
import { packedSnaps } from './world.ts';

async function ok<T extends { status: number; body: string }>(p: Promise<T>, status: number): Promise<T> {
  const r = await p;
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.body.slice(0, 300)}`);
  return r;
}

test('core18 and core20 seeds built from a running Snapline store pass the seed loading rules', async (t) => {
  const px = await proxy();
  t.after(() => px.close());
  const s = await startTestServer('sqlite', { services: [storePlugin], listen: true, env: { SNAPLINE_PUBLIC_URL: px.url } });
  t.after(() => s.close());
  px.target(s.server.url!);
  const admin = TEST_ADMIN_TOKEN;
  await ok(s.request('POST', '/api/accounts', { token: admin, body: { accountId: 'acme' } }), 201);
  const akr = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since: new Date('2020-01-01T00:00:00Z') });
  await ok(s.request('POST', '/api/accounts/acme/account-keys', { token: admin, body: { accountKeyRequest: akr.toString() } }), 201);
  await ok(s.request('POST', '/api/store/stores', { token: admin, body: { storeId: 'operator-store', brand: TEST_ROOT_ID } }), 201);
  await ok(s.request('POST', '/api/store/stores', { token: admin, body: { storeId: 'acme-store', brand: 'acme', includes: ['operator-store'] } }), 201);
  const pub = await s.tokenFor(['publisher'], 'acme');
  const snaps = await packedSnaps();
  const ids: Record<string, string> = {};
  for (const name of ['snapd', 'core18', 'core20']) {
    ids[name] = (await ok(s.request('POST', '/api/store/stores/operator-store/snaps', { token: admin, body: { name, private: false } }), 201)).json().snap.snapId;
    await ok(s.request('POST', `/api/store/snaps/${name}/revisions?release=stable`, { token: admin, payload: snaps.get(name)!, headers: { 'content-type': 'application/octet-stream' } }), 201);
  }
  for (const name of ['pc', 'pc-kernel', 'hello18', 'pc20', 'pc-kernel20', 'hello']) {
    ids[name] = (await ok(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name } }), 201)).json().snap.snapId;
    await ok(s.request('POST', `/api/store/snaps/${name}/revisions?release=stable`, { token: pub, payload: snaps.get(name)!, headers: { 'content-type': 'application/octet-stream' } }), 201);
  }
  const now = new Date();
  const ts = formatTimestamp(new Date(now.getTime() - 60_000));
  const common = { 'authority-id': 'acme', 'brand-id': 'acme', series: '16', architecture: 'amd64', store: 'acme-store', timestamp: ts };
  const m18 = sign(ModelType, { headers: { ...common, model: 'box18', base: 'core18', gadget: 'pc', kernel: 'pc-kernel', 'required-snaps': ['hello18'] } }, vectorKey('brand'), now);
  const m20 = sign(
    ModelType,
    {
      headers: {
        ...common,
        model: 'box20',
        base: 'core20',
        grade: 'signed',
        snaps: [
          { name: 'pc20', id: ids['pc20']!, type: 'gadget', 'default-channel': 'latest/stable' },
          { name: 'pc-kernel20', id: ids['pc-kernel20']!, type: 'kernel', 'default-channel': 'latest/stable' },
          { name: 'core20', id: ids['core20']!, type: 'base', 'default-channel': 'latest/stable' },
          { name: 'snapd', id: ids['snapd']!, type: 'snapd', 'default-channel': 'latest/stable' },
          { name: 'hello', id: ids['hello']!, type: 'app', 'default-channel': 'latest/stable' },
        ],
      },
    },
    vectorKey('brand'),
    now,
  );
  const trusted = s.server.ctx.root.trusted;
  // The brand's snaps are private and the store is new ('verified'): an image
  // build needs a store credential, given as ubuntu-image takes it.
  const storeAuth = Buffer.from(JSON.stringify({ t: 'macaroon', v: await s.tokenFor(['store-download'], 'acme') })).toString('base64');
  const authorization = authorizationFromEnv(storeAuth);
  await withTemp(async (tmp) => {
    await assert.rejects(buildImage({ model: m18.encode(), storeUrl: px.url, out: join(tmp, 'anon'), trusted }), /pc-kernel \(stable\): snap not found/);
    const r18 = await buildImage({ model: m18.encode(), storeUrl: px.url, out: join(tmp, 'o18'), trusted, authorization });
    assert.deepEqual(r18.snaps.map((x) => [x.name, x.revision]), [['snapd', 1], ['pc-kernel', 1], ['core18', 1], ['pc', 1], ['hello18', 1]]);
    const l18 = await loadSeed16(join(tmp, 'o18', r18.seed), trusted);
    assert.equal(l18.snaps.length, 5);
    const r20 = await buildImage({ model: m20.encode(), storeUrl: px.url, out: join(tmp, 'o20'), trusted, label: 'e2e', authorization });
    const l20 = await loadSeed20(join(tmp, 'o20', r20.seed), 'e2e', trusted);
    assert.deepEqual(l20.snaps.map((x) => x.snapId), ['snapd', 'pc-kernel20', 'core20', 'pc20', 'hello'].map((n) => ids[n]));

    // snapd's own prepare-image against the same store writes the same seeds (when Go and the snapd source are here).
    const prep = buildSnapdProgram('prepare');
    if ('skip' in prep) {
      t.diagnostic(`snapd prepare-image comparison skipped: ${prep.skip}`);
      return;
    }
    await writeFile(join(tmp, 'trusted'), encodeStream(trusted));
    for (const [n, m] of [['18', m18], ['20', m20]] as const) {
      await writeFile(join(tmp, `m${n}.model`), m.encode());
      const r = await runProgram(prep.bin, [join(tmp, 'trusted'), join(tmp, `m${n}.model`), join(tmp, `ref${n}`)], { UBUNTU_STORE_URL: px.url, UBUNTU_STORE_AUTH: storeAuth });
      assert.equal(r.code, 0, r.out);
    }
    // Whole trees, as snapd writes them (test/interop/helpers/tree.ts lists the documented differences).
    await sameTree(join(tmp, 'ref18'), join(tmp, 'o18'));
    const label = (await readdir(join(tmp, 'ref20/system-seed/systems')))[0]!;
    await buildImage({ model: m20.encode(), storeUrl: px.url, out: join(tmp, 'o20b'), trusted, label, authorization });
    await sameTree(join(tmp, 'ref20'), join(tmp, 'o20b'));
  });
});
