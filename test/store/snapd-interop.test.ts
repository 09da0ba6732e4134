// Real snapd's store client (Debian's `snap download`, snapd 2.57.6) against
// the store: it decodes our snap action answer, downloads the snap and checks
// its SHA3-384, then fetches the snap-revision, snap-declaration, account and
// account-key chain from our assertions endpoint. Stock snapd trusts only
// Canonical's root (protocol doc 4.2), so the chain ends with snapd refusing
// our self-hosted root: that refusal is the expected last step.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { expectStatus, push, storeWorld, testSnaps } from './fixtures.ts';

const snapAvailable = spawnSync('sh', ['-c', 'command -v snap'], { encoding: 'utf8' }).status === 0;

test('snap download (real snapd store client) decodes, downloads and fetches assertions from the store', { skip: snapAvailable ? false : 'Debian snap not installed' }, async (t) => {
  const s = await storeWorld('sqlite', { listen: true });
  const dir = await mkdtemp(join(tmpdir(), 'snapline-snapd-'));
  t.after(async () => {
    s.server.app.server.closeAllConnections();
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });
  const snaps = await testSnaps();
  const pub = await s.tokenFor(['publisher'], 'acme');
  await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: pub, body: { name: 'acme-app' } }), 201);
  await expectStatus(push(s, pub, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  const seen: string[] = [];
  s.server.app.server.on('request', (req, res) => res.on('finish', () => seen.push(`${req.method} ${(req.url ?? '').split('?')[0]} ${res.statusCode}`)));
  const url = s.server.url!;
  const snapDownload = (extraEnv: Record<string, string>) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('snap', ['download', `--target-directory=${join(dir, 'out')}`, 'acme-app'], {
        env: { PATH: process.env['PATH'], HOME: dir, UBUNTU_STORE_URL: url, SNAPPY_FORCE_API_URL: url, SNAPPY_FORCE_SAS_URL: url, UBUNTU_STORE_ID: 'acme-store', UBUNTU_STORE_ARCH: 'amd64', SNAPD_DEBUG: '1', ...extraEnv },
      });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (out += d));
      c.on('close', (code) => resolve({ code, out }));
    });
  // The store as a new brand store is ('verified'): its private snaps need a store credential.
  await expectStatus(s.request('PATCH', '/api/store/stores/acme-store', { token: await s.tokenFor(['admin'], 'acme'), body: { privateAccess: 'verified' } }), 200);
  const anonymous = await snapDownload({});
  assert.match(anonymous.out, /cannot download snap "acme-app": snap not found/, anonymous.out);
  // snapd's tooling sends UBUNTU_STORE_AUTH {"t":"macaroon","v":TOKEN} as "Authorization: Macaroon TOKEN".
  const storeAuth = Buffer.from(JSON.stringify({ t: 'macaroon', v: await s.tokenFor(['store-download'], 'acme') })).toString('base64');
  const res = await snapDownload({ UBUNTU_STORE_AUTH: storeAuth });
  assert.match(res.out, /Download succeeded/, res.out);
  assert.match(res.out, /Fetching assertions for "acme-app"/);
  assert.match(res.out, /circular assertions are not expected: account \(test-root\)/, 'snapd walked the chain up to our root, which stock snapd does not trust');
  assert.ok(seen.some((l) => /^POST \/v2\/snaps\/refresh 200$/.test(l)));
  assert.ok(seen.some((l) => /^GET \/api\/v1\/snaps\/download\/[0-9a-f]{96}\/acme-app_1\.snap 200$/.test(l)));
  for (const type of ['snap-revision', 'snap-declaration', 'account', 'account-key']) {
    assert.ok(seen.some((l) => l.startsWith(`GET /v2/assertions/${type}/`) && l.endsWith(' 200')), `${type} fetched: ${seen.join('\n')}`);
  }
  assert.equal(res.code, 1);
  assert.ok((await readFile(join(dir, 'out', 'acme-app_1.snap'))).equals(snaps.get('acme-app')!.bytes), 'the downloaded file is the pushed one');
});
