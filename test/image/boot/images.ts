// The two disk images of the boot test and benchmark, built by Snapline's
// image builder from the test world's store (test/image/world.ts) with a
// kernel and a gadget made from Debian's packages (kit.ts): UC20-style
// (ubuntu-seed with the recovery grub.cfg, an unasserted kernel with
// kernel.efi, grade dangerous) and UC18-style (like Canonical's pc gadget for
// core18: an ESP and no system-data, so the implicit writable; the gadget's
// own grub.cfg).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage, type BuildResult } from '../../../src/image/build.ts';
import { packSnap } from '../../../src/snap/index.ts';
import { core18Model, core20Model, type World } from '../world.ts';
import { copyKernel, grubEfi, initramfs, snapSource, unifiedKernel } from './kit.ts';

/** The recovery system label of the UC20 image. */
export const UC20_LABEL = 'boot20';

async function pack(dir: string, name: string, files: Record<string, string | Buffer>): Promise<string> {
  const src = await snapSource(join(dir, `src-${name}`), files);
  return (await packSnap(src, { output: join(dir, `${name}.snap`), mtime: 1_700_000_000, compression: 'gzip' })).path;
}

/** Builds the UC20-style disk image in `tmp`; returns its path. */
export async function uc20Image(tmp: string, world: World): Promise<string> {
  const initrd = join(tmp, 'initrd.img');
  await writeFile(initrd, await initramfs(tmp));
  const efi = await unifiedKernel(tmp, await copyKernel(join(tmp, 'vmlinuz')), initrd);
  grubEfi(join(tmp, 'grubx64.efi'));
  const kernel = await pack(tmp, 'pc-kernel20', { 'meta/snap.yaml': 'name: pc-kernel20\nversion: "6.1"\ntype: kernel\narchitectures: [amd64]\n', 'kernel.efi': await readFile(efi) });
  const gadgetYaml = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: ubuntu-seed
        role: system-seed
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        offset: 1M
        size: 120M
        content:
          - source: grubx64.efi
            target: EFI/boot/bootx64.efi
      - name: ubuntu-boot
        role: system-boot
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 8M
      - name: ubuntu-save
        role: system-save
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 4M
      - name: ubuntu-data
        role: system-data
        filesystem: ext4
        type: 83,0FC63DAF-8483-4772-8E79-3D69D8477DE4
        size: 8M
`;
  const gadget = await pack(tmp, 'pc20', { 'meta/snap.yaml': 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\narchitectures: [amd64]\n', 'meta/gadget.yaml': gadgetYaml, 'grub.conf': '', 'grubx64.efi': await readFile(join(tmp, 'grubx64.efi')) });
  const img = join(tmp, 'uc20.img');
  await buildImage({
    model: core20Model({ grade: 'dangerous' }).encode(),
    storeUrl: world.store.url,
    out: join(tmp, 'out'),
    image: img,
    trusted: world.trusted,
    label: UC20_LABEL,
    localSnaps: new Map([
      ['pc20', gadget],
      ['pc-kernel20', kernel],
    ]),
  });
  return img;
}

/** Builds the UC18-style disk image in `tmp`; returns its path and the build's result. */
export async function uc18Image(tmp: string, world: World): Promise<{ img: string; res: BuildResult }> {
  const initrd = await initramfs(tmp);
  const kernel = await pack(tmp, 'pc-kernel', { 'meta/snap.yaml': 'name: pc-kernel\nversion: "6.1"\ntype: kernel\narchitectures: [amd64]\n', 'kernel.img': await readFile(await copyKernel(join(tmp, 'vmlinuz'))), 'initrd.img': initrd });
  grubEfi(join(tmp, 'grubx64.efi'));
  // As Canonical's pc gadget for core18: an ESP and no system-data (ubuntu-image adds writable).
  const gadgetYaml = `volumes:
  pc:
    bootloader: grub
    schema: gpt
    structure:
      - name: system-boot
        role: system-boot
        filesystem-label: system-boot
        filesystem: vfat
        type: EF,C12A7328-F81F-11D2-BA4B-00A0C93EC93B
        offset: 1M
        size: 32M
        content:
          - source: grubx64.efi
            target: EFI/boot/bootx64.efi
`;
  // The gadget's own boot script (a brand writes it; the builder installs it as EFI/ubuntu/grub.cfg).
  const grubConf = `set timeout=0
load_env
search --no-floppy --set=writable --label writable
loopback loop ($writable)/system-data/var/lib/snapd/snaps/$snap_kernel
linux (loop)/kernel.img console=ttyS0 panic=-1 snap_core=$snap_core snap_kernel=$snap_kernel
initrd (loop)/initrd.img
boot
`;
  const gadget = await pack(tmp, 'pc', { 'meta/snap.yaml': 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', 'meta/gadget.yaml': gadgetYaml, 'grub.conf': grubConf, 'grubx64.efi': await readFile(join(tmp, 'grubx64.efi')) });
  const img = join(tmp, 'uc18.img');
  const res = await buildImage({
    model: core18Model().encode(),
    storeUrl: world.store.url,
    out: join(tmp, 'out'),
    image: img,
    trusted: world.trusted,
    localSnaps: new Map([
      ['pc', gadget],
      ['pc-kernel', kernel],
    ]),
  });
  return { img, res };
}
