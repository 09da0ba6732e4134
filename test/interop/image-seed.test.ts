// Seeds built by `snapline image build` loaded by snapd's own seed loader:
// test/interop/seedload/main.go is compiled against the snapd 2.57.6 source
// (Debian's golang-github-snapcore-snapd-dev) and calls seed.Open,
// LoadAssertions and LoadMeta with the vectors' root added to the trusted set
// (as snapd's test builds do). Skipped, with the reason, when Go, the snapd
// source or its dbus dependency is missing (Debian: golang-go,
// golang-github-snapcore-snapd-dev, golang-dbus-dev).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, GOPATH } from './helpers/snapd-go.ts';
import { core16Model, core18Model, core20Model, packBytes, startWorld } from '../image/world.ts';

const built = existsSync(join(GOPATH, 'src/github.com/godbus/dbus')) ? buildSnapdProgram('seedload') : { skip: 'godbus is not installed (golang-dbus-dev)' };
const skip = 'skip' in built ? built.skip : false;
if (skip) console.log(`# snapd seed loader interop skipped: ${skip}`);
const loader = () => (built as { bin: string }).bin;

interface Loaded {
  model: string;
  snaps: { name: string; 'snap-id': string; revision: number; channel: string; essential: boolean }[];
}

function snapdLoad(dir: string, label?: string): { ok: true; seed: Loaded } | { ok: false; error: string } {
  const r = spawnSync(loader(), [join(VECTORS_DIR, 'trusted-root.assert'), dir, ...(label ? [label] : [])], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, seed: JSON.parse(r.stdout) as Loaded };
  return { ok: false, error: r.stderr.trim() };
}

test('snapd 2.57.6 loads our core16, core18 and core20 seeds (signed, and dangerous with overrides), and rejects a tampered one', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-interop-seed-'));
  try {
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o18'), trusted: world.trusted });
    const s18 = snapdLoad(join(tmp, 'o18/image/var/lib/snapd/seed'));
    assert.ok(s18.ok, s18.ok ? '' : s18.error);
    assert.equal(s18.seed.model, 'img-core18');
    assert.deepEqual(s18.seed.snaps.map((s) => [s.name, s.revision, s.channel]), [
      ['snapd', 10, 'stable'],
      ['core18', 11, 'stable'],
      ['pc-kernel', 13, '18'],
      ['pc', 15, '18'],
      ['hello18', 17, 'stable'],
    ]);

    await buildImage({ model: core16Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o16'), trusted: world.trusted });
    const s16 = snapdLoad(join(tmp, 'o16/image/var/lib/snapd/seed'));
    assert.ok(s16.ok, s16.ok ? '' : s16.error);
    assert.deepEqual(s16.seed.snaps.map((s) => s.name), ['core', 'pc-kernel', 'pc16', 'hello16']);

    await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o20'), trusted: world.trusted, label: 'l20' });
    const s20 = snapdLoad(join(tmp, 'o20/system-seed'), 'l20');
    assert.ok(s20.ok, s20.ok ? '' : s20.error);
    assert.deepEqual(s20.seed.snaps.map((s) => [s.name, s.revision, s.essential]), [
      ['snapd', 10, true],
      ['pc-kernel20', 14, true],
      ['core20', 12, true],
      ['pc20', 16, true],
      ['hello', 18, false],
    ]);

    // Grade dangerous: channel override, an unasserted extra snap and an asserted extra (options.yaml, extra-snaps).
    const extra = join(tmp, 'extra.snap');
    await writeFile(extra, await packBytes(join(tmp, 'src'), 'extra', 'name: extra\nversion: "0.1"\nbase: core20\n'));
    const core18 = join(tmp, 'core18.snap');
    await writeFile(core18, world.snaps.get('core18')!);
    await buildImage({
      model: core20Model({ grade: 'dangerous' }).encode(),
      storeUrl: world.store.url,
      out: join(tmp, 'od'),
      trusted: world.trusted,
      label: 'dev',
      channel: 'edge',
      localSnaps: new Map([
        ['extra', extra],
        ['core18', core18],
      ]),
    });
    const sd = snapdLoad(join(tmp, 'od/system-seed'), 'dev');
    assert.ok(sd.ok, sd.ok ? '' : sd.error);
    const byName = new Map(sd.seed.snaps.map((s) => [s.name, s]));
    assert.equal(byName.get('hello')!.channel, 'latest/edge');
    assert.equal(byName.get('extra')!.revision, 0);
    assert.equal(byName.get('core18')!.revision, 11);

    // snapd refuses a seed whose snap does not match its snap-revision.
    await copyFile(join(tmp, 'o18/image/var/lib/snapd/seed/snaps/hello18_17.snap'), join(tmp, 'keep.snap'));
    await appendFile(join(tmp, 'o18/image/var/lib/snapd/seed/snaps/hello18_17.snap'), 'x');
    const bad = snapdLoad(join(tmp, 'o18/image/var/lib/snapd/seed'));
    assert.ok(!bad.ok);
    assert.match(bad.error, /cannot find signatures with metadata for snap "hello18"/);
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
