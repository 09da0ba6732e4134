// u-boot gadgets against snapd's own prepare-image (image.Prepare from the
// snapd 2.57.6 source, as in prepare-image.test.ts), from the same store and
// the same local gadget and kernel files: core18 with the gadget's own
// uboot.conf environment (uboot.env with snap_core and snap_kernel set, the
// kernel's kernel.img, initrd.img and dtbs extracted beside it), and core20
// with an empty uboot.conf (boot.sel on the seed, the recovery kernel's
// assets under systems/<label>/kernel). The whole trees must be equal but for
// the documented differences (test/interop/helpers/tree.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { parseUbootEnv, writeUbootEnv } from '../../src/image/uboot-env.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, runProgram } from './helpers/snapd-go.ts';
import { sameTree } from './helpers/tree.ts';
import { core18Model, core20Model, packBytes, startWorld } from '../image/world.ts';

const built = buildSnapdProgram('prepare');
const skip = 'skip' in built ? built.skip : false;

const UBOOT18 = `volumes:
  pi:
    bootloader: u-boot
    schema: mbr
    structure:
      - name: system-boot
        type: 0C
        filesystem: vfat
        filesystem-label: system-boot
        size: 64M
        content:
          - source: boot-assets/
            target: /
      - name: writable
        role: system-data
        filesystem: ext4
        type: 83
        size: 32M
`;
const UBOOT20 = `volumes:
  pi:
    bootloader: u-boot
    schema: mbr
    structure:
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: 0C
        size: 64M
        content:
          - source: boot-assets/
            target: /
      - name: ubuntu-boot
        role: system-boot
        filesystem: vfat
        type: 0C
        size: 32M
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83
        size: 4M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83
        size: 16M
`;

test('u-boot gadgets: uboot.env / boot.sel and extracted kernel assets match snapd prepare-image', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-uboot-ref-'));
  try {
    const prepare = (model: string, target: string, files: string[]) => runProgram((built as { bin: string }).bin, [join(VECTORS_DIR, 'trusted-root.assert'), model, target, ...files], { UBUNTU_STORE_URL: world.store.url });
    const kernelFiles = { 'kernel.img': 'KERNEL\n', 'initrd.img': 'INITRD\n', 'dtbs/bcm2711-rpi-4-b.dtb': 'DTB\n', 'dtbs/overlays/uart.dtbo': 'OVERLAY\n' };

    // core18: the gadget's environment, with a variable of its own that must survive.
    const conf = writeUbootEnv(new Map([['bootcmd', 'run snap_boot'], ['snap_mode', 'try']]), 8192);
    const g18 = join(tmp, 'pc_18.snap');
    await writeFile(g18, await packBytes(tmp, 'g18', 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', { 'meta/gadget.yaml': UBOOT18, 'uboot.conf': conf, 'boot-assets/config.txt': 'kernel=uboot.bin\n' }));
    const k18 = join(tmp, 'pc-kernel_18.snap');
    await writeFile(k18, await packBytes(tmp, 'k18', 'name: pc-kernel\nversion: "5.4"\ntype: kernel\n', kernelFiles));
    await writeFile(join(tmp, 'm18.model'), core18Model().encode());
    const r18 = await prepare(join(tmp, 'm18.model'), join(tmp, 'ref18'), [g18, k18]);
    assert.equal(r18.code, 0, r18.out);
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours18'), trusted: world.trusted, localSnaps: new Map([['pc', g18], ['pc-kernel', k18]]) });
    await sameTree(join(tmp, 'ref18'), join(tmp, 'ours18'));
    const env = parseUbootEnv(await readFile(join(tmp, 'ours18/image/boot/uboot/uboot.env')), 'uboot.env');
    assert.equal(env.size, 8192);
    assert.deepEqual(Object.fromEntries(env.vars), { bootcmd: 'run snap_boot', snap_core: 'core18_11.snap', snap_kernel: 'pc-kernel_x1.snap', snap_menuentry: 'img-core18' });

    // core20, grade dangerous for the local files; an empty uboot.conf.
    const g20 = join(tmp, 'pc20_20.snap');
    await writeFile(g20, await packBytes(tmp, 'g20', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', { 'meta/gadget.yaml': UBOOT20, 'uboot.conf': '', 'boot-assets/config.txt': 'kernel=uboot.bin\n' }));
    const k20 = join(tmp, 'pc-kernel20_20.snap');
    await writeFile(k20, await packBytes(tmp, 'k20', 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n', kernelFiles));
    const m20 = core20Model({ grade: 'dangerous' });
    await writeFile(join(tmp, 'm20.model'), m20.encode());
    const r20 = await prepare(join(tmp, 'm20.model'), join(tmp, 'ref20'), [g20, k20]);
    assert.equal(r20.code, 0, r20.out);
    const label = (await readdir(join(tmp, 'ref20/system-seed/systems')))[0]!;
    await buildImage({ model: m20.encode(), storeUrl: world.store.url, out: join(tmp, 'ours20'), trusted: world.trusted, label, localSnaps: new Map([['pc20', g20], ['pc-kernel20', k20]]) });
    await sameTree(join(tmp, 'ref20'), join(tmp, 'ours20'));
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
