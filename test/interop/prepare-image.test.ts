// snapline's image trees against snapd's own `snap prepare-image` (image.Prepare
// from the snapd 2.57.6 source, test/interop/prepare/main.go), both run
// against the same fake store in the same test: the whole tree, file by file
// (names, permission bits, symbolic links and their targets), byte for byte
// (seed.yaml, snaps, assertion files and streams, model, gadget content, boot
// files; grub environment variables compared as sets since snapd writes them
// in Go map order). The documented differences (docs/image.md, Compared with
// snapd): prepare-image's intermediates for ubuntu-image (gadget/, kernel/,
// resolved-content/: the unpacked gadget and kernel, content resolved per
// structure) are not written, and the UC20 recovery grub.cfg is Snapline's own
// text. Skipped, with the reason, when Go or the snapd source and its
// dependencies are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, runProgram } from './helpers/snapd-go.ts';
import { sameTree } from './helpers/tree.ts';
import { listTree } from '../image/seed-checker.ts';
import { core16Model, core18Model, core20Model, packBytes, snapIdFor, startWorld } from '../image/world.ts';

const built = buildSnapdProgram('prepare');
const skip = 'skip' in built ? built.skip : false;
if (skip) console.log(`# prepare-image reference skipped: ${skip}`);

const prepare = (model: string, target: string, storeUrl: string, extra: readonly string[] = []) =>
  runProgram((built as { bin: string }).bin, [join(VECTORS_DIR, 'trusted-root.assert'), model, target, ...extra], { UBUNTU_STORE_URL: storeUrl });

test('core18 and core20 seeds match what snapd prepare-image writes from the same store', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-prepare-ref-'));
  try {
    // core18
    await writeFile(join(tmp, 'm18.model'), core18Model().encode());
    const r18 = await prepare(join(tmp, 'm18.model'), join(tmp, 'ref18'), world.store.url);
    assert.equal(r18.code, 0, r18.out);
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours18'), trusted: world.trusted });
    const seed = 'image/var/lib/snapd/seed';
    const refFiles = await listTree(join(tmp, 'ref18', seed));
    assert.deepEqual(await listTree(join(tmp, 'ours18', seed)), refFiles);
    await sameTree(join(tmp, 'ref18'), join(tmp, 'ours18'));

    // core18 with --channel and a local unasserted snap for a required snap, and an unasserted extra.
    const h18 = join(tmp, 'hello18_9.9.snap');
    await writeFile(h18, await packBytes(join(tmp, 'src18'), 'h18', 'name: hello18\nversion: "9.9"\nbase: core18\n'));
    const x18 = join(tmp, 'extra18_1.snap');
    await writeFile(x18, await packBytes(join(tmp, 'src18x'), 'x18', 'name: extra18\nversion: "1"\nbase: core18\n'));
    const r18b = await prepare(join(tmp, 'm18.model'), join(tmp, 'ref18b'), world.store.url, ['--channel', 'edge', h18, x18]);
    assert.equal(r18b.code, 0, r18b.out);
    await buildImage({
      model: core18Model().encode(),
      storeUrl: world.store.url,
      out: join(tmp, 'ours18b'),
      trusted: world.trusted,
      channel: 'edge',
      localSnaps: new Map([
        ['hello18', h18],
        ['extra18', x18],
      ]),
    });
    const ref18b = await listTree(join(tmp, 'ref18b', seed));
    assert.deepEqual(await listTree(join(tmp, 'ours18b', seed)), ref18b);
    await sameTree(join(tmp, 'ref18b'), join(tmp, 'ours18b'));

    // core16: no base, the core snap.
    await writeFile(join(tmp, 'm16.model'), core16Model().encode());
    const r16 = await prepare(join(tmp, 'm16.model'), join(tmp, 'ref16'), world.store.url);
    assert.equal(r16.code, 0, r16.out);
    await buildImage({ model: core16Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours16'), trusted: world.trusted });
    const ref16 = await listTree(join(tmp, 'ref16', seed));
    assert.ok(ref16.includes('snaps/core_19.snap'));
    assert.deepEqual(await listTree(join(tmp, 'ours16', seed)), ref16);
    await sameTree(join(tmp, 'ref16'), join(tmp, 'ours16'));

    // core20 (same label as snapd chose: today's date)
    await writeFile(join(tmp, 'm20.model'), core20Model().encode());
    const r20 = await prepare(join(tmp, 'm20.model'), join(tmp, 'ref20'), world.store.url);
    assert.equal(r20.code, 0, r20.out);
    const label = (await readdir(join(tmp, 'ref20/system-seed/systems')))[0]!;
    await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours20'), trusted: world.trusted, label });
    const ours = join(tmp, 'ours20/system-seed');
    // Everything, the assertion streams included, byte for byte.
    await sameTree(join(tmp, 'ref20'), join(tmp, 'ours20'));
    assert.equal(decodeStream(await readFile(join(ours, `systems/${label}/assertions/snaps`))).length, 10);

    // Grade dangerous: a channel override, an unasserted extra snap and an asserted extra snap (options.yaml, extra-snaps).
    const extra = join(tmp, 'extra_0.1.snap');
    await writeFile(extra, await packBytes(join(tmp, 'src'), 'extra', 'name: extra\nversion: "0.1"\nbase: core20\n'));
    const core18 = join(tmp, 'core18_11.snap');
    await writeFile(core18, world.snaps.get('core18')!);
    const md = core20Model({ grade: 'dangerous' });
    await writeFile(join(tmp, 'md.model'), md.encode());
    const rd = await prepare(join(tmp, 'md.model'), join(tmp, 'refd'), world.store.url, ['--channel', 'edge', extra, core18]);
    assert.equal(rd.code, 0, rd.out);
    const labelD = (await readdir(join(tmp, 'refd/system-seed/systems')))[0]!;
    await buildImage({
      model: md.encode(),
      storeUrl: world.store.url,
      out: join(tmp, 'oursd'),
      trusted: world.trusted,
      label: labelD,
      channel: 'edge',
      localSnaps: new Map([
        ['extra', extra],
        ['core18', core18],
      ]),
    });
    const refD = join(tmp, 'refd/system-seed');
    // An optional model snap is seeded only when asked for by name; extras by name come from the store.
    const optSnaps = [
      { name: 'pc20', id: snapIdFor('pc20'), type: 'gadget', 'default-channel': '20/stable' },
      { name: 'pc-kernel20', id: snapIdFor('pc-kernel20'), type: 'kernel', 'default-channel': '20/stable' },
      { name: 'core20', id: snapIdFor('core20'), type: 'base' },
      { name: 'snapd', id: snapIdFor('snapd'), type: 'snapd' },
      { name: 'hello', id: snapIdFor('hello'), presence: 'optional' },
    ];
    for (const [i, asked] of [[], ['hello', 'core18']].entries()) {
      const mo = core20Model({ grade: 'dangerous', model: `opt-${i}` }, optSnaps);
      await writeFile(join(tmp, `mo${i}.model`), mo.encode());
      const ro = await prepare(join(tmp, `mo${i}.model`), join(tmp, `refo${i}`), world.store.url, asked);
      assert.equal(ro.code, 0, ro.out);
      const lo = (await readdir(join(tmp, `refo${i}/system-seed/systems`)))[0]!;
      await buildImage({ model: mo.encode(), storeUrl: world.store.url, out: join(tmp, `ourso${i}`), trusted: world.trusted, label: lo, storeSnaps: new Map(asked.map((n) => [n, ''])) });
      assert.equal((await listTree(join(tmp, `refo${i}/system-seed`))).includes('snaps/hello_18.snap'), i === 1);
      await sameTree(join(tmp, `refo${i}`), join(tmp, `ourso${i}`));
    }
    assert.ok((await listTree(refD)).length > 0);
    await sameTree(join(tmp, 'refd'), join(tmp, 'oursd'));
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
