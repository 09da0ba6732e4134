// The console service without a browser: its pages and security headers,
// the SPA fallback, caching, the 503 when it was not built, and the
// read-only routes it adds (who may call them, what they answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storePlugin } from '../../src/store/index.ts';
import { vaultService } from '../../src/vault/index.ts';
import { createConsoleService } from '../../src/console/server/console.plugin.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/console/server/security-headers.ts';
import { isHashedAsset } from '../../src/console/server/console-files.ts';
import { core20TwoRevisions, storeWorld, expectStatus, openSession, push, testSnaps, TEST_ADMIN_TOKEN } from '../store/fixtures.ts';
import { simFleet, simRefresh } from '../store/sim-fleet.ts';
import { eachEngine } from '../store/engines.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { ModelType, encodeStream, formatTimestamp, sign } from '../../src/assertions/index.ts';

async function fakeBuild(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-console-build-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><script type="module" src="/console/assets/index-AbCd1234.js"></script>');
  await writeFile(join(dir, 'assets/index-AbCd1234.js'), 'console.log("console")');
  await writeFile(join(dir, 'robots.txt'), 'User-agent: *\nDisallow: /\n');
  return dir;
}

test('the console pages: index.html for every page, hashed assets cached a year, strict headers', async (t) => {
  const dir = await fakeBuild();
  const s = await storeWorld('sqlite', { services: [storePlugin, createConsoleService({ dir })] });
  t.after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const redirect = await s.request('GET', '/console');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers['location'], '/console/');
  for (const page of ['/console/', '/console/snaps/acme-app', '/console/vault', '/console/devices/box-0001']) {
    const r = await s.request('GET', page);
    assert.equal(r.status, 200, page);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.match(r.body, /index-AbCd1234\.js/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
  }
  const csp = CONTENT_SECURITY_POLICY;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

  const asset = await s.request('GET', '/console/assets/index-AbCd1234.js');
  assert.equal(asset.status, 200);
  assert.equal(asset.body, 'console.log("console")');
  assert.match(String(asset.headers['content-type']), /javascript/);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(asset.headers['content-security-policy'], CONTENT_SECURITY_POLICY);

  const plain = await s.request('GET', '/console/robots.txt');
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['cache-control'], 'no-cache');

  // A missing file is a 404, never index.html served as a script.
  assert.equal((await s.request('GET', '/console/assets/index-missing1.js')).status, 404);
  assert.equal((await s.request('GET', '/console/../package.json')).status, 404);
  assert.equal((await s.request('GET', '/console/%2e%2e/%2e%2e/package.json')).status, 404);
  assert.equal((await s.request('GET', '/console/.env')).status, 404);
  // The API keeps its own answers.
  assert.equal((await s.request('GET', '/api/whoami')).status, 401);
  // The console's API routes are documented with the others; its pages are not API.
  const doc = (await expectStatus(s.request('GET', '/api/docs/json'), 200)).json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
  assert.deepEqual(doc.paths['/api/console/stores/{store}/snaps']?.['get']?.tags, ['console']);
  assert.ok(doc.paths['/api/console/assertions/verify']?.['post']);
  assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/console')));
});

test('an unbuilt console answers 503 saying how to build it', async (t) => {
  const s = await storeWorld('sqlite', { services: [storePlugin, createConsoleService({ dir: undefined as unknown as string })] });
  t.after(() => s.close());
  // No dir given and none found next to the test's sources' dist/: either a real build or the 503.
  const r = await s.request('GET', '/console/');
  assert.ok(r.status === 200 || (r.status === 503 && /build:console/.test(r.body)), `${r.status} ${r.body}`);
});

test('hashed asset names are recognised, others are not', () => {
  assert.ok(isHashedAsset('assets/index-B6zNBNOY.js'));
  assert.ok(isHashedAsset('assets/update-control-vxs9t49A.js'));
  assert.ok(!isHashedAsset('index.html'));
  assert.ok(!isHashedAsset('assets/logo.svg'));
  assert.ok(!isHashedAsset('assets/../index-B6zNBNOY.js'));
});

eachEngine('the console read routes: snaps and devices of a store, for its readers only', async (engine, t) => {
  const s = await storeWorld(engine, { services: [storePlugin, createConsoleService({ dir: await fakeBuild() })] });
  t.after(() => s.close());
  const admin = TEST_ADMIN_TOKEN;
  const snaps = await testSnaps();
  for (const name of ['acme-app', 'acme-gadget', 'acme-kernel', 'acme-tools']) {
    await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: admin, body: { name, ...(name === 'acme-gadget' ? { private: true } : {}) } }), 201);
  }
  await expectStatus(push(s, admin, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const outsider = await s.tokenFor(['admin'], 'other');

  const page1 = await expectStatus(s.request('GET', '/api/console/stores/acme-store/snaps?limit=3', { token: viewer }), 200);
  assert.deepEqual(page1.json().snaps.map((x: { name: string }) => x.name), ['acme-app', 'acme-gadget', 'acme-kernel']);
  assert.equal(page1.json().nextAfter, 'acme-kernel');
  assert.equal(page1.json().snaps[1].private, true);
  const page2 = await expectStatus(s.request('GET', '/api/console/stores/acme-store/snaps?limit=3&after=acme-kernel', { token: viewer }), 200);
  assert.deepEqual(page2.json().snaps.map((x: { name: string }) => x.name), ['acme-tools']);
  assert.equal(page2.json().nextAfter, null);
  const search = await expectStatus(s.request('GET', '/api/console/stores/acme-store/snaps?q=kern', { token: viewer }), 200);
  assert.deepEqual(search.json().snaps.map((x: { name: string }) => x.name), ['acme-kernel']);

  assert.equal((await s.request('GET', '/api/console/stores/acme-store/snaps', { token: outsider })).status, 403);
  assert.equal((await s.request('GET', '/api/console/stores/acme-store/snaps')).status, 401);
  assert.equal((await s.request('GET', '/api/console/stores/no-store/snaps', { token: viewer })).status, 403);
  assert.equal((await s.request('GET', '/api/console/stores/no-store/snaps', { token: admin })).status, 404);

  const devices = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices', { token: viewer }), 200);
  assert.deepEqual(devices.json(), { devices: [], nextAfter: null });
  assert.equal((await s.request('GET', '/api/console/stores/acme-store/devices/box-0001', { token: viewer })).status, 404);
  assert.equal((await s.request('GET', '/api/console/stores/acme-store/devices', { token: outsider })).status, 403);
});

eachEngine('verify: a model signed by a registered brand key verifies, a tampered one does not', async (engine, t) => {
  const s = await storeWorld(engine, { services: [storePlugin, createConsoleService({ dir: await fakeBuild() })] });
  t.after(() => s.close());
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const model = sign(
    ModelType,
    { headers: { 'authority-id': 'acme', 'brand-id': 'acme', series: '16', model: 'box', architecture: 'amd64', gadget: 'box-gadget', kernel: 'box-kernel', timestamp: formatTimestamp(new Date(Date.now() - 60_000)) } },
    vectorKey('brand'),
    new Date(),
  );
  const ok = await expectStatus(s.request('POST', '/api/console/assertions/verify', { token: viewer, body: { stream: encodeStream([model]).toString() } }), 200);
  const [a] = ok.json().assertions;
  assert.equal(a.type, 'model');
  assert.deepEqual(a.primaryKey, ['16', 'acme', 'box']);
  assert.equal(a.headers.architecture, 'amd64');
  assert.equal(a.verified, true, a.error);

  const tampered = model.toString().replace('architecture: amd64', 'architecture: arm64');
  const bad = await expectStatus(s.request('POST', '/api/console/assertions/verify', { token: viewer, body: { stream: tampered } }), 200);
  assert.equal(bad.json().assertions[0].verified, false);
  assert.match(bad.json().assertions[0].error, /signature|verif/i);

  const garbage = await s.request('POST', '/api/console/assertions/verify', { token: viewer, body: { stream: 'type: model\nnonsense' } });
  assert.equal(garbage.status, 400);
  assert.match(garbage.json().error.message, /cannot decode/);
  assert.equal((await s.request('POST', '/api/console/assertions/verify', { body: { stream: 'x' } })).status, 401);
});

eachEngine('model assertions: signed from headers with a vault key in custody, listed verified, for the brand only', async (engine, t) => {
  const s = await storeWorld(engine, { services: [storePlugin, vaultService, createConsoleService({ dir: await fakeBuild() })] });
  t.after(() => s.close());
  const admin = await s.tokenFor(['admin'], 'acme');
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const outsider = await s.tokenFor(['admin'], 'other');
  await expectStatus(s.request('POST', '/api/vault/brands/acme/keys', { token: TEST_ADMIN_TOKEN, body: { name: 'serials', pem: vectorKey('brand').toPem(), register: false } }), 201);
  const headers = { model: 'box2', architecture: 'amd64', gadget: 'box-gadget', kernel: 'box-kernel' };

  const signed = await expectStatus(s.request('POST', '/api/console/brands/acme/models', { token: admin, body: { headers, key: 'serials' } }), 201);
  const m = signed.json().model;
  assert.equal(m.verified, true, m.error);
  assert.deepEqual(m.primaryKey, ['16', 'acme', 'box2']);
  assert.equal(m.headers['authority-id'], 'acme');
  assert.equal(m.revision, 0);
  assert.match(m.assertion, /^type: model$/m);
  // The store serves it to devices and tools.
  const served = await s.request('GET', '/v2/assertions/model/16/acme/box2', { headers: { accept: 'application/x.ubuntu.assertion' } });
  assert.equal(served.status, 200, served.body);
  // Signing it again makes the next revision.
  const again = await expectStatus(s.request('POST', '/api/console/brands/acme/models', { token: admin, body: { headers: { ...headers, 'system-user-authority': '*' }, key: 'serials' } }), 201);
  assert.equal(again.json().model.revision, 1);

  const list = await expectStatus(s.request('GET', '/api/console/brands/acme/models', { token: viewer }), 200);
  assert.deepEqual(list.json().models.map((x: { primaryKey: string[]; revision: number; verified: boolean }) => [x.primaryKey[2], x.revision, x.verified]), [['box2', 1, true]]);
  assert.equal(list.json().nextAfter, null);

  assert.equal((await s.request('POST', '/api/console/brands/acme/models', { token: viewer, body: { headers, key: 'serials' } })).status, 403);
  assert.equal((await s.request('POST', '/api/console/brands/acme/models', { token: outsider, body: { headers, key: 'serials' } })).status, 403);
  assert.equal((await s.request('GET', '/api/console/brands/acme/models', { token: outsider })).status, 403);
  const noKey = await s.request('POST', '/api/console/brands/acme/models', { token: admin, body: { headers, key: 'nokey' } });
  assert.equal(noKey.status, 404);
  assert.match(noKey.json().error.message, /no usable key "nokey"/);
  const otherBrand = await s.request('POST', '/api/console/brands/acme/models', { token: admin, body: { headers: { ...headers, 'brand-id': 'other' }, key: 'serials' } });
  assert.equal(otherBrand.status, 400);
  const bad = await s.request('POST', '/api/console/brands/acme/models', { token: admin, body: { headers: { model: 'box3', gadget: 'g1' }, key: 'serials' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json().error.message, /architecture|kernel/);
  const audit = await expectStatus(s.request('GET', '/api/accounts/acme/audit?action=model.sign', { token: admin }), 200);
  assert.equal(audit.json().entries.length, 2);
});

eachEngine('devices of a store: listed by serial from their sessions, one device with its history', async (engine, t) => {
  const s = await storeWorld(engine, { services: [storePlugin, createConsoleService({ dir: await fakeBuild() })] });
  t.after(() => s.close());
  const ids = { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q', 'acme-app': 'a'.repeat(32) };
  for (const serial of ['box-0001', 'box-0002', 'box-0002', 'lab-0001']) await openSession(s, ids, serial);
  const viewer = await s.tokenFor(['viewer'], 'acme');
  const all = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices?limit=2', { token: viewer }), 200);
  assert.deepEqual(all.json().devices.map((d: { serial: string; sessions: number; model: string }) => [d.serial, d.model, d.sessions]), [['box-0001', 'box', 1], ['box-0002', 'box', 2]]);
  assert.equal(all.json().nextAfter, 'box-0002');
  const rest = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices?limit=2&after=box-0002', { token: viewer }), 200);
  assert.deepEqual(rest.json().devices.map((d: { serial: string }) => d.serial), ['lab-0001']);
  const box = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices?serial=box-', { token: viewer }), 200);
  assert.deepEqual(box.json().devices.map((d: { serial: string }) => d.serial), ['box-0001', 'box-0002']);
  const byModel = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices?model=other', { token: viewer }), 200);
  assert.deepEqual(byModel.json().devices, []);
  const history = await expectStatus(s.request('GET', '/api/console/stores/acme-store/devices/box-0002', { token: viewer }), 200);
  assert.equal(history.json().serial, 'box-0002');
  assert.equal(history.json().sessions.length, 2);
  assert.deepEqual(history.json().releases, []);
  // Another store's devices are not this store's.
  const other = await expectStatus(s.request('GET', '/api/console/stores/other-store/devices', { token: TEST_ADMIN_TOKEN }), 200);
  assert.deepEqual(other.json().devices, []);
});

eachEngine("a device's history: what a progressive release of an included store's snap saw of it", async (engine, t) => {
  const s = await storeWorld(engine, { services: [storePlugin, createConsoleService({ dir: await fakeBuild() })] });
  await core20TwoRevisions(s, t, 'console-core20');
  const root = TEST_ADMIN_TOKEN;
  // 99 %: a progressive release, which the store measures device by device (100 % is a plain one).
  await expectStatus(s.request('POST', '/api/store/snaps/core20/releases', { token: root, body: { revision: 2, channels: ['stable'], progressivePercentage: 99 } }), 200);
  let device: Awaited<ReturnType<typeof simFleet>>[number] | undefined;
  for (const d of await simFleet(s, 3)) if ((await simRefresh(s, d)) === 2) device ??= d;
  assert.ok(device, 'a device in the 99 % is offered revision 2');

  const viewer = await s.tokenFor(['viewer'], 'acme');
  const history = (await expectStatus(s.request('GET', `/api/console/stores/acme-store/devices/${device!.serial}`, { token: viewer }), 200)).json();
  assert.equal(history.releases.length, 1, JSON.stringify(history));
  const [r] = history.releases;
  assert.equal(r.snap, 'core20');
  assert.equal(r.channel, 'latest/stable');
  assert.equal(r.revision, 2);
  assert.equal(r.model, 'box');
  assert.ok(r.offeredAt && r.downloadedAt, JSON.stringify(r));
  assert.equal(r.tookAt, null);
  // The other brand's store has not seen this device.
  const outsider = await s.tokenFor(['viewer'], 'other');
  assert.equal((await s.request('GET', `/api/console/stores/other-store/devices/${device!.serial}`, { token: outsider })).status, 404);
});
