// Registration against snapd's own test vault, tests/lib/fakedevicesvc from
// the snapd 2.57.6 source (built here with Go), with the chain snapd's spread
// tests use: the test root (systestkeys), developer1 and its key
// (assertstest.DevKey), made by snapd's code (test/device/interop/devchain).
// fakedevicesvc returns the serial alone, so the agent fetches its signing
// chain as snapd does. Then a refresh from snapd's own test store,
// tests/lib/fakestore: the snap-declaration and snap-revision signed by its
// `new-snap-declaration` / `new-snap-revision` with the test store key, the
// snap action, the download and the chain all as snapd's spread tests serve
// them. Skipped, with the reason, without Go, the source or its packages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeStream, TrustDatabase, type Assertion, type ModelData } from '../../src/assertions/index.ts';
import { fetchTransport } from '../../src/device/http.ts';
import { refresh } from '../../src/device/refresh.ts';
import { register } from '../../src/device/registration.ts';
import type { InstalledSnap } from '../../src/device/state.ts';
import { stateSnapFiles } from '../../src/device/state-store.ts';
import { StoreClient } from '../../src/device/store-client.ts';
import { packSnap } from '../../src/snap/index.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { findGo, GOPATH } from '../interop/helpers/snapd-go.ts';

const SNAPD = join(GOPATH, 'src/github.com/snapcore/snapd');
const here = dirname(fileURLToPath(import.meta.url));

function build(dir: string, out: string): string | undefined {
  const go = findGo();
  if (!go) return 'go is not installed (golang-go)';
  if (!existsSync(join(SNAPD, 'tests/lib/fakedevicesvc'))) return 'the snapd source is not installed (golang-github-snapcore-snapd-dev)';
  const r = spawnSync(go, ['build', '-o', out, '.'], { cwd: dir, encoding: 'utf8', env: { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), `snapline-snapd-go-${process.getuid?.() ?? 0}`, 'cache') } });
  if (r.status !== 0) {
    const pkgs = [...new Set([...r.stderr.matchAll(/cannot find package "([^"]+)"/g)].map((m) => m[1]))];
    if (pkgs.length > 0) return `Go packages missing: ${pkgs.join(', ')}`;
    throw new Error(`cannot build ${dir}: ${r.stderr}`);
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

let work: string;
let skip: string | undefined;
let svc: ChildProcess | undefined;
let url = '';
let trusted: Assertion[] = [];
let chain: Assertion[] = [];
let model: Assertion<ModelData>;
let fakestoreBin: string | undefined;
let fakestoreSkip: string | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'snapline-fakedevicesvc-'));
  const bin = join(tmpdir(), `snapline-snapd-go-${process.getuid?.() ?? 0}`);
  mkdirSync(bin, { recursive: true });
  skip = build(join(SNAPD, 'tests/lib/fakedevicesvc'), join(bin, 'fakedevicesvc')) ?? build(resolve(here, 'interop/devchain'), join(bin, 'devchain'));
  if (skip) return;
  fakestoreSkip = build(join(SNAPD, 'tests/lib/fakestore/cmd/fakestore'), join(bin, 'fakestore'));
  if (fakestoreSkip) fakestoreSkip += ' (Debian: golang-github-jessevdk-go-flags-dev, golang-gopkg-tylerb-graceful.v1-dev)';
  else fakestoreBin = join(bin, 'fakestore');
  const made = spawnSync(join(bin, 'devchain'), [work], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  trusted = decodeStream(readFileSync(join(work, 'trusted')));
  chain = decodeStream(readFileSync(join(work, 'chain')));
  model = decodeStream(readFileSync(join(work, 'model')))[0] as Assertion<ModelData>;
  const port = await freePort();
  svc = spawn(join(bin, 'fakedevicesvc'), [`127.0.0.1:${port}`], { stdio: 'ignore' });
  url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}request-id`, { method: 'POST' })).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('fakedevicesvc did not start');
});

after(() => {
  svc?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

function registerWith(headers: Record<string, string>) {
  const byRef = new Map(chain.map((a) => [`${a.type}/${a.primaryKey.join('/')}`, a]));
  const fetched: string[] = [];
  const db = new TrustDatabase({ trusted, now: () => new Date() });
  const result = register({
    model,
    key: vectorKey('device'),
    config: { url, headers, proposedSerial: 'interop-0001', body: 'hw: simulated' },
    db,
    transport: fetchTransport({ downloadDir: work }),
    clock: { now: () => new Date(), sleep: async () => {} },
    userAgent: 'snapd/2.57.6 (series 16; snapline-device) ubuntu-core/16 (amd64) linux/simulated',
    // Stands in for the store's assertion service, where snapd gets the serial's chain.
    fetchAssertion: async (type, pk) => (fetched.push(type), byRef.get(`${type}/${pk.join('/')}`)),
  });
  return { result, fetched, db };
}

test("registration with snapd's fakedevicesvc: serial 7777, its chain fetched and verified", async (t) => {
  if (skip) return t.skip(skip);
  const { result, fetched, db } = registerWith({});
  const res = await result;
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal(res.serial.headerString('serial'), '7777');
  assert.equal(res.serial.authorityId, 'developer1');
  assert.equal(res.serial.headerString('device-key-sha3-384'), vectorKey('device').id);
  assert.equal(res.serial.body?.toString(), 'hw: simulated', "fakedevicesvc copies the serial-request's body");
  assert.deepEqual(fetched.sort(), ['account', 'account-key']);
  assert.ok(db.find('serial', ['developer1', 'interop-box', '7777']));
});

test('fakedevicesvc honours the proposed serial when the gadget sends X-Use-Proposed', async (t) => {
  if (skip) return t.skip(skip);
  const res = await registerWith({ 'X-Use-Proposed': 'yes' }).result;
  assert.ok(res.ok, JSON.stringify(res));
  assert.equal(res.serial.headerString('serial'), 'interop-0001');
});

test("refresh from snapd's fakestore: its snap action answer, download and store-signed chain accepted", async (t) => {
  if (skip) return t.skip(skip);
  if (fakestoreSkip || !fakestoreBin) return t.skip(fakestoreSkip);
  const bin: string = fakestoreBin;
  const dir = join(work, 'fakestore');
  mkdirSync(dir, { recursive: true });
  // Revision 2 of hello, packed by Snapline, signed by snapd's tool with the test store key.
  const src = join(work, 'hello-src');
  mkdirSync(join(src, 'meta'), { recursive: true });
  writeFileSync(join(src, 'meta/snap.yaml'), 'name: hello\nversion: "2.0"\nsummary: served by fakestore\n');
  const snapFile = join(dir, 'hello_2.snap');
  await packSnap(src, { output: snapFile, mtime: 1_700_000_000 });
  writeFileSync(join(work, 'rev.json'), JSON.stringify({ 'snap-revision': '2' }));
  for (const args of [['new-snap-declaration', '--dir', dir, snapFile], ['new-snap-revision', '--dir', dir, '--snap-rev-json', join(work, 'rev.json'), snapFile]]) {
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const port = await freePort();
  const store = spawn(bin, ['run', '--dir', dir, '--addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  t.after(() => store.kill('SIGTERM'));
  const storeUrl = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(storeUrl).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const clock = { now: () => new Date(), sleep: async () => {} };
  const db = new TrustDatabase({ trusted, now: () => new Date() });
  const installed: InstalledSnap = { name: 'hello', snapId: 'hello-id', revision: 1, channel: 'latest/stable', refreshedDate: '2026-01-01T00:00:00Z', cohort: '', type: 'app', version: '1.0', epoch: { read: [0], write: [0] }, file: join(work, 'hello_1.snap') };
  const client = new StoreClient({ storeUrl, model, transport: fetchTransport({ downloadDir: work }), clock, userAgent: 'snapd/2.57.6 (series 16; snapline-device) ubuntu-core/16 (amd64) linux/simulated' });
  const r = await refresh({ snaps: [installed], db, client, files: stateSnapFiles(join(work, 'fakestore-device')), clock });
  assert.equal(r.outcome.outcome, 'updated', JSON.stringify(r.outcome));
  assert.equal(r.snaps[0]!.revision, 2);
  assert.equal(r.snaps[0]!.version, '2.0');
  const rev = r.added.find((a) => a.type === 'snap-revision')!;
  assert.equal(rev.authorityId, 'testrootorg', 'signed by snapd\'s test store key, verified up to the test root');
  assert.deepEqual(r.added.map((a) => a.type).sort(), ['account-key', 'snap-declaration', 'snap-revision']);
  // The same refresh again: fakestore offers revision 2, which the device runs: no update.
  const again = await refresh({ snaps: r.snaps, db, client, files: stateSnapFiles(join(work, 'fakestore-device')), clock });
  assert.equal(again.outcome.outcome, 'no-updates', JSON.stringify(again.outcome));
});
