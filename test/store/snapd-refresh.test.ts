// snapd's own store client (store.Store.SnapAction of snapd 2.57.6, built from
// Debian's golang-github-snapcore-snapd-dev: test/store/snapd-refresh) against
// a progressive release: a registered device inside the percentage gets the
// new revision, one outside gets no update, and after a rollback the device
// that took the new revision is answered the previous one, which snapd's
// client takes as an update (it installs older revisions).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bucketOf, inPercentage } from '../../src/rollout/index.ts';
import { expectStatus, openSession, push, storeWorld, testSnaps } from './fixtures.ts';

const GOPATH = '/usr/share/gocode';
const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim();
const skip = !go ? 'go is not installed (golang-go)' : !existsSync(join(GOPATH, 'src/github.com/snapcore/snapd/store')) ? 'the snapd source is not installed (golang-github-snapcore-snapd-dev)' : false;

function build(): string {
  const dir = join(tmpdir(), `snapline-snapd-go-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'snapd-refresh');
  const r = spawnSync(go, ['build', '-tags', 'nosecboot', '-o', bin, '.'], {
    cwd: join(dirname(fileURLToPath(import.meta.url)), 'snapd-refresh'),
    encoding: 'utf8',
    env: { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(dir, 'cache') },
  });
  assert.equal(r.status, 0, r.stderr);
  return bin;
}

function run(bin: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const p = spawn(bin, args, { env: { PATH: process.env['PATH'], HOME: tmpdir() } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (err += d));
    p.on('close', (code) => (code === 0 ? done(out.trim()) : fail(new Error(`snapd-refresh exited ${code}: ${err}${out}`))));
  });
}

test('snapd store client: the progressive answer for a device inside, no update outside, the previous revision after a rollback', { skip }, async (t) => {
  const bin = build();
  const s = await storeWorld('sqlite', { listen: true });
  t.after(async () => {
    s.server.app.server.closeAllConnections();
    await s.close();
  });
  const snaps = await testSnaps();
  const publisher = await s.tokenFor(['publisher'], 'acme');
  const snapId = (await expectStatus(s.request('POST', '/api/store/stores/acme-store/snaps', { token: publisher, body: { name: 'acme-app' } }), 201)).json().snap.snapId as string;
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app')!.bytes, 'stable'), 201);
  await expectStatus(push(s, publisher, 'acme-app', snaps.get('acme-app-2')!.bytes), 201);
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/releases', { token: publisher, body: { revision: 2, channels: ['stable'], progressivePercentage: 50 } }), 200);

  // Two serials, one on each side of 50% for this release.
  const release = `${snapId}:all:latest/stable:2`;
  const serials = Array.from({ length: 400 }, (_, i) => `box-${String(i + 1).padStart(4, '0')}`);
  const inside = serials.find((x) => inPercentage(bucketOf({ brand: 'acme', model: 'box', serial: x }, snapId, release), 50))!;
  const outside = serials.find((x) => !inPercentage(bucketOf({ brand: 'acme', model: 'box', serial: x }, snapId, release), 50))!;
  const session = (serialId: string) => openSession(s, { 'acme-gadget': 'g'.repeat(32), 'acme-kernel': 'k'.repeat(32), core20: 'c'.repeat(32), 'acme-app': snapId }, serialId);

  const refresh = async (serial: string, macaroon: string, installed: number) => run(bin, [s.server.url!, 'acme-store', serial, macaroon, 'acme-app', snapId, String(installed)]);

  const [inSession, outSession] = [await session(inside), await session(outside)];
  assert.equal(await refresh(inside, inSession, 1), 'acme-app 2');
  assert.equal(await refresh(outside, outSession, 1), 'no-update');
  assert.equal(await refresh(inside, inSession, 2), 'no-update', 'the device took revision 2');
  await expectStatus(s.request('POST', '/api/store/snaps/acme-app/rollout/rollback', { token: publisher, body: { channel: 'stable' } }), 200);
  assert.equal(await refresh(inside, inSession, 2), 'acme-app 1', "snapd's client takes the older revision as the update");
  assert.equal(await refresh(outside, outSession, 1), 'no-update');
});
