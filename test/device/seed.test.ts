// Seed reading and verification: core18 (seed.yaml) and core20 (systems/<label>)
// seeds written by Snapline's image builder from a fake store are read with
// their snaps, channels and snap-ids; seeds that do not verify (a changed
// snap file, a missing one, the wrong trusted root, a tampered assertion)
// are refused with device-seed-invalid, naming what is wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeStream } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { isDeviceError } from '../../src/device/errors.ts';
import { loadSeed, locateSeed } from '../../src/device/seed.ts';
import { boot } from '../../src/device/agent.ts';
import { readState } from '../../src/device/state-store.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { withTemp } from '../image/helpers.ts';
import { core18Model, core20Model, snapIdFor, startWorld, type World } from '../image/world.ts';

let world: World;
let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  world = await startWorld();
  let done!: () => void;
  const hold = new Promise<void>((r) => (done = r));
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const running = withTemp(async (tmp) => {
    dir = tmp;
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o18'), trusted: world.trusted, now: NOW });
    await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o20'), trusted: world.trusted, now: NOW, label: 'first' });
    ready();
    await hold;
  });
  cleanup = async () => {
    done();
    await running;
  };
  await isReady;
});
after(async () => {
  await cleanup();
  await world.close();
});

const NOW = () => new Date('2026-02-03T04:05:06Z');
const opts = () => ({ trusted: world.trusted, now: NOW });

async function refused(p: Promise<unknown>, msg: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isDeviceError(err), String(err));
    assert.equal(err.code, 'device-seed-invalid');
    assert.match(err.message, msg);
    return true;
  });
}

test('a core18 seed (seed.yaml) is read and verified: snaps, snap-ids, revisions, channels', async () => {
  const seed = await loadSeed(join(dir, 'o18'), opts());
  assert.equal(seed.form, 'uc16');
  assert.equal(seed.root, join(dir, 'o18/image/var/lib/snapd/seed'));
  assert.equal(seed.model.data.model, 'img-core18');
  assert.deepEqual(
    seed.snaps.map((s) => [s.name, s.snapId, s.revision, s.channel, s.type]),
    [
      ['snapd', snapIdFor('snapd'), 10, 'stable', 'snapd'],
      ['pc-kernel', snapIdFor('pc-kernel'), 13, '18', 'kernel'],
      ['core18', snapIdFor('core18'), 11, 'stable', 'base'],
      ['pc', snapIdFor('pc'), 15, '18', 'gadget'],
      ['hello18', snapIdFor('hello18'), 17, 'stable', 'app'],
    ],
  );
  assert.ok(seed.assertions.some((a) => a.type === 'model'));
  const rootKey = decodeStream(vectorBytes('root.account-key'))[0]!;
  assert.ok(!seed.assertions.some((a) => a.type === 'account-key' && a.primaryKey[0] === rootKey.primaryKey[0]), 'the trusted root is not among the seed assertions');
  assert.ok(seed.db.find('snap-revision', [seed.assertions.find((a) => a.type === 'snap-revision')!.primaryKey[0]!]), 'the revisions are in the database');
});

test('a core20 seed (systems/<label>) is read: the only system, or the one named', async () => {
  const seed = await loadSeed(join(dir, 'o20'), opts());
  assert.equal(seed.form, 'uc20');
  assert.equal(seed.label, 'first');
  assert.deepEqual(seed.snaps.map((s) => [s.name, s.revision, s.channel]), [
    ['snapd', 10, 'latest/stable'],
    ['pc-kernel20', 14, '20/stable'],
    ['core20', 12, 'latest/stable'],
    ['pc20', 16, '20/stable'],
    ['hello', 18, 'latest/stable'],
  ]);
  assert.equal(locateSeed(join(dir, 'o20/system-seed')).root, join(dir, 'o20/system-seed'));
  await refused(loadSeed(join(dir, 'o20'), { ...opts(), label: 'other' }), /no system "other"/);
  await refused(loadSeed(join(dir, 'o20'), { ...opts(), label: 'Bad_Label' }), /invalid seed system label/);
});

test('a seed that does not verify is refused with the reason', async () => {
  await withTemp(async (tmp) => {
    // A snap file changed after the image was built.
    await cp(join(dir, 'o20'), join(tmp, 'changed'), { recursive: true });
    const hello = join(tmp, 'changed/system-seed/snaps/hello_18.snap');
    await appendFile(hello, Buffer.alloc(1));
    await refused(loadSeed(join(tmp, 'changed'), opts()), /"hello".*no snap-revision in the seed has its SHA3-384/);
    // A missing snap.
    await cp(join(dir, 'o18'), join(tmp, 'missing'), { recursive: true });
    await rm(join(tmp, 'missing/image/var/lib/snapd/seed/snaps/pc_15.snap'));
    await refused(loadSeed(join(tmp, 'missing'), opts()), /cannot find snap file .*pc_15\.snap/);
    // Another trusted root: nothing chains.
    await refused(loadSeed(join(dir, 'o20'), { trusted: [], now: NOW }), /seed assertions do not verify/);
    // A tampered model.
    await cp(join(dir, 'o20'), join(tmp, 'model'), { recursive: true });
    const modelFile = join(tmp, 'model/system-seed/systems/first/model');
    await writeFile(modelFile, (await readFile(modelFile, 'utf8')).replace('model: img-core20', 'model: img-core2x'));
    await refused(loadSeed(join(tmp, 'model'), opts()), /do not verify|signature/);
    // Not a seed at all.
    await refused(loadSeed(tmp, opts()), /holds no seed/);
  });
});

test('boot from a seed that does not verify ends in a clear state, nothing installed', async () => {
  await withTemp(async (tmp) => {
    await cp(join(dir, 'o18'), join(tmp, 'seed'), { recursive: true });
    await appendFile(join(tmp, 'seed/image/var/lib/snapd/seed/snaps/hello18_17.snap'), 'x');
    const env = { clock: { now: NOW, sleep: async () => {} }, nodePath: process.execPath, path: '/usr/bin:/bin' };
    const st = await boot({ seed: join(tmp, 'seed'), state: join(tmp, 'state'), trusted: world.trusted }, env);
    assert.equal(st, undefined);
    const stored = await readState(join(tmp, 'state'));
    assert.equal(stored?.phase, 'seed-failed');
    assert.ok(stored?.phase === 'seed-failed');
    assert.equal(stored.error.code, 'device-seed-invalid');
    assert.match(stored.error.reason, /hello18/);
  });
});

test('a core18 device boots from its seed.yaml seed; an unreachable vault is given up after 15 attempts, on a clock that does not wait', async () => {
  await withTemp(async (tmp) => {
    const sleeps: number[] = [];
    let now = NOW().getTime();
    const env = { clock: { now: () => new Date(now), sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)) }, nodePath: process.execPath, path: '/usr/bin:/bin', generateKey: async () => vectorKey('device') };
    const st = await boot({ seed: join(dir, 'o18'), state: join(tmp, 'state'), trusted: world.trusted, noHooks: { 'device-service.url': 'http://127.0.0.1:1/v1/' } }, env);
    assert.equal(st?.seed.form, 'uc16');
    assert.deepEqual(st?.snaps.map((s) => [s.name, s.revision, s.channel, s.type]), [
      ['snapd', 10, 'stable', 'snapd'],
      ['pc-kernel', 13, '18', 'kernel'],
      ['core18', 11, 'stable', 'base'],
      ['pc', 15, '18', 'gadget'],
      ['hello18', 17, 'stable', 'app'],
    ]);
    assert.equal(st?.registration.status, 'failed');
    assert.match(st?.registration.reason ?? '', /cannot retrieve request-id.*gave up after 15 attempts/);
    assert.deepEqual(sleeps, Array(14).fill(60_000));
  });
});
