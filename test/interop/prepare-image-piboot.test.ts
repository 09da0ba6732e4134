// piboot gadgets (the Raspberry Pi firmware boots the kernel itself) against
// snapd's own prepare-image (image.Prepare from the snapd 2.57.6 source, as in
// prepare-image-uboot.test.ts), from the same store and the same local gadget
// and kernel files, core20: piboot.conf on the seed, the gadget's config.txt
// with os_prefix pointing at the recovery system's kernel, its cmdline.txt
// for that system, and the kernel's assets laid out for the firmware, for an
// arm64 kernel (dtbs/broadcom/) and an armhf one (dtbs/). The whole trees must
// be equal but for the documented differences (test/interop/helpers/tree.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { parseUbootEnv } from '../../src/image/uboot-env.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, runProgram } from './helpers/snapd-go.ts';
import { sameTree } from './helpers/tree.ts';
import { core20Model, packBytes, startWorld } from '../image/world.ts';

const built = buildSnapdProgram('prepare');
const skip = 'skip' in built ? built.skip : false;

const PIBOOT20 = `volumes:
  pi:
    bootloader: piboot
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

test('piboot gadgets: piboot.conf, config.txt, cmdline.txt and the kernel laid out match snapd prepare-image', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-piboot-ref-'));
  try {
    const prepare = (model: string, target: string, files: string[]) => runProgram((built as { bin: string }).bin, [join(VECTORS_DIR, 'trusted-root.assert'), model, target, ...files], { UBUNTU_STORE_URL: world.store.url });
    const m20 = core20Model({ grade: 'dangerous' });
    await writeFile(join(tmp, 'm20.model'), m20.encode());
    // Two os_prefix lines: the first is set, the second commented out.
    const g20 = join(tmp, 'pc20_20.snap');
    await writeFile(
      g20,
      await packBytes(tmp, 'g20', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', {
        'meta/gadget.yaml': PIBOOT20,
        'piboot.conf': '',
        'boot-assets/config.txt': '[all]\nos_prefix=old/\narm_64bit=1\nos_prefix=again/\n',
        'boot-assets/cmdline.txt': 'console=serial0,115200 dwc_otg.lpm_enable=0 rootwait\nsecond line ignored\n',
        'boot-assets/start4.elf': 'FIRMWARE\n',
      }),
    );
    const kernels: [string, Record<string, string>][] = [
      ['arm64', { 'kernel.img': 'KERNEL\n', 'initrd.img': 'INITRD\n', 'dtbs/broadcom/bcm2711-rpi-4-b.dtb': 'DTB4\n', 'dtbs/broadcom/bcm2710-rpi-3-b.dtb': 'DTB3\n', 'dtbs/overlays/uart.dtbo': 'OVERLAY\n', 'dtbs/overlays/README': 'the kernel README\n', 'dtbs/other/x.dtb': 'X\n' }],
      ['armhf', { 'kernel.img': 'KERNEL\n', 'dtbs/bcm2710-rpi-3-b.dtb': 'DTB3\n', 'dtbs/overlays/uart.dtbo': 'OVERLAY\n' }],
    ];
    for (const [arch, files] of kernels) {
      const k20 = join(tmp, `pc-kernel20_${arch}.snap`);
      await writeFile(k20, await packBytes(tmp, `k20-${arch}`, 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n', files));
      const ref = join(tmp, `ref-${arch}`);
      const r = await prepare(join(tmp, 'm20.model'), ref, [g20, k20]);
      assert.equal(r.code, 0, r.out);
      const label = (await readdir(join(ref, 'system-seed/systems')))[0]!;
      const ours = join(tmp, `ours-${arch}`);
      await buildImage({ model: m20.encode(), storeUrl: world.store.url, out: ours, trusted: world.trusted, label, localSnaps: new Map([['pc20', g20], ['pc-kernel20', k20]]) });
      await sameTree(ref, ours);
      // What the firmware and snapd's initramfs read, spelled out.
      const seed = join(ours, 'system-seed');
      assert.equal(await readFile(join(seed, 'config.txt'), 'utf8'), `[all]\nos_prefix=/systems/${label}/kernel/\narm_64bit=1\n# os_prefix=again/\n`);
      assert.equal(await readFile(join(seed, `systems/${label}/kernel/cmdline.txt`), 'utf8'), `console=serial0,115200 dwc_otg.lpm_enable=0 rootwait snapd_recovery_mode=install snapd_recovery_system=${label}\n`);
      assert.deepEqual(Object.fromEntries(parseUbootEnv(await readFile(join(seed, 'piboot/ubuntu/piboot.conf')), 'piboot.conf').vars), { snapd_recovery_mode: 'install', snapd_recovery_system: label });
      assert.equal(await readFile(join(seed, `systems/${label}/kernel/overlays/README`), 'utf8'), '');
      assert.equal(await readFile(join(seed, `systems/${label}/kernel/bcm2710-rpi-3-b.dtb`), 'utf8'), 'DTB3\n');
    }
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
