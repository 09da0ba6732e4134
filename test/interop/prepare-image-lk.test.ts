// lk (Android "little kernel") gadgets against snapd's own prepare-image
// (image.Prepare from the snapd 2.57.6 source, as in prepare-image-uboot.test.ts),
// from the same store and the same local gadget and kernel files: core18 (the
// v1 environment snapbootsel.bin filled in, the kernel's boot.img beside it)
// and core20 (the v2 recovery environment snaprecoverysel.bin on the seed,
// with the environment naming its own boot image file). The gadget's lk.conf
// is written by Snapline's lk-env.ts, so snapd reading it checks that format
// too. The whole trees must be equal but for the documented differences
// (test/interop/helpers/tree.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { LkEnv } from '../../src/image/lk-env.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, runProgram } from './helpers/snapd-go.ts';
import { sameTree } from './helpers/tree.ts';
import { core18Model, core20Model, LK18_GADGET_YAML as LK18, packBytes, startWorld } from '../image/world.ts';

const built = buildSnapdProgram('prepare');
const skip = 'skip' in built ? built.skip : false;

const LK20 = `volumes:
  board:
    bootloader: lk
    schema: gpt
    structure:
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        size: 64M
      - name: snaprecoverysel
        type: B214D5E4-D442-45E6-B8C6-01BDCD82D396
        size: 131072
        content:
          - image: snaprecoverysel.bin
      - name: boot_ra
        type: 20117F86-E985-4357-B9EE-374BC1D8487D
        size: 1M
        content:
          - image: recovery.img
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 16M
`;

test('lk gadgets: snapbootsel.bin / snaprecoverysel.bin filled in and the boot image beside them match snapd prepare-image', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-lk-ref-'));
  try {
    const prepare = (model: string, target: string, files: string[]) => runProgram((built as { bin: string }).bin, [join(VECTORS_DIR, 'trusted-root.assert'), model, target, ...files], { UBUNTU_STORE_URL: world.store.url });

    // core18: a v1 environment naming two boot partitions; a value left in snap_mode must be cleared.
    const env18 = LkEnv.create('v1', ['boot_a', 'boot_b']);
    env18.set('snap_mode', 'trying');
    const g18 = join(tmp, 'pc_18.snap');
    await writeFile(g18, await packBytes(tmp, 'g18', 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', { 'meta/gadget.yaml': LK18, 'lk.conf': env18.toBuffer(), 'snapbootsel.bin': env18.toBuffer(), 'boot.img': 'PLACEHOLDER\n' }));
    const k18 = join(tmp, 'pc-kernel_18.snap');
    await writeFile(k18, await packBytes(tmp, 'k18', 'name: pc-kernel\nversion: "4.4"\ntype: kernel\n', { 'boot.img': 'ANDROID!BOOTIMG18\n', 'kernel.img': 'K\n' }));
    await writeFile(join(tmp, 'm18.model'), core18Model().encode());
    const r18 = await prepare(join(tmp, 'm18.model'), join(tmp, 'ref18'), [g18, k18]);
    assert.equal(r18.code, 0, r18.out);
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours18'), trusted: world.trusted, localSnaps: new Map([['pc', g18], ['pc-kernel', k18]]) });
    await sameTree(join(tmp, 'ref18'), join(tmp, 'ours18'));
    const got18 = LkEnv.parse(await readFile(join(tmp, 'ours18/image/boot/lk/snapbootsel.bin')), 'v1', 'snapbootsel.bin');
    assert.deepEqual([got18.get('snap_kernel'), got18.get('snap_core'), got18.get('snap_mode'), got18.rows()], ['pc-kernel_x1.snap', 'core18_11.snap', '', [['boot_a', 'pc-kernel_x1.snap'], ['boot_b', '']]]);

    // core20: a v2 recovery environment with its own boot image file name.
    const env20 = LkEnv.create('v2-recovery', ['boot_ra', 'boot_rb']);
    env20.set('bootimg_file_name', 'recovery.img');
    const g20 = join(tmp, 'pc20_20.snap');
    await writeFile(g20, await packBytes(tmp, 'g20', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', { 'meta/gadget.yaml': LK20, 'lk.conf': env20.toBuffer(), 'snaprecoverysel.bin': env20.toBuffer(), 'recovery.img': 'PLACEHOLDER\n' }));
    const k20 = join(tmp, 'pc-kernel20_20.snap');
    await writeFile(k20, await packBytes(tmp, 'k20', 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n', { 'recovery.img': 'ANDROID!BOOTIMG20\n', 'kernel.img': 'K\n' }));
    const m20 = core20Model({ grade: 'dangerous' });
    await writeFile(join(tmp, 'm20.model'), m20.encode());
    const r20 = await prepare(join(tmp, 'm20.model'), join(tmp, 'ref20'), [g20, k20]);
    assert.equal(r20.code, 0, r20.out);
    const label = (await readdir(join(tmp, 'ref20/system-seed/systems')))[0]!;
    await buildImage({ model: m20.encode(), storeUrl: world.store.url, out: join(tmp, 'ours20'), trusted: world.trusted, label, localSnaps: new Map([['pc20', g20], ['pc-kernel20', k20]]) });
    await sameTree(join(tmp, 'ref20'), join(tmp, 'ours20'));
    const got20 = LkEnv.parse(await readFile(join(tmp, 'ours20/system-seed/boot/lk/snaprecoverysel.bin')), 'v2-recovery', 'snaprecoverysel.bin');
    assert.deepEqual([got20.get('snapd_recovery_mode'), got20.get('snapd_recovery_system'), got20.rows()], ['install', label, [['boot_ra', label], ['boot_rb', '']]]);
    assert.equal(await readFile(join(tmp, 'ours20/system-seed/boot/lk/recovery.img'), 'utf8'), 'ANDROID!BOOTIMG20\n');
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
