// The images start: a UC20-style and a UC18-style disk image, built by
// `buildImage` from a kernel snap made of Debian's kernel and a one-program
// initramfs, and a gadget whose bootloader is Debian's GRUB (test/image/boot/
// kit.ts), boot under QEMU with OVMF until the initramfs prints its marker and
// the kernel command line on the serial console. The command line proves the
// boot configuration: UC20's recovery grub.cfg (Snapline's) chainloads the
// kernel snap's kernel.efi named by systems/<label>/grubenv with snapd's
// recovery arguments; UC18's gadget grub.cfg finds the kernel through the
// grubenv and the writable partition the builder made (implicit here).
// Without KVM the boots are software-emulated: about 20 s each on a 2-core
// machine, short enough for CI (bench/image-boot.ts times them against the
// same kernel started directly). Skipped, with the reason, without the tools.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withTemp } from './helpers.ts';
import { uc18Image, uc20Image, UC20_LABEL } from './boot/images.ts';
import { bootImage, MARKER, missingForBoot } from './boot/kit.ts';
import { startWorld, type World } from './world.ts';

const missing = await missingForBoot();
const skip = missing ?? false;
if (skip) console.log(`# boot tests skipped: ${skip}`);
// A cap only: with KVM a boot takes seconds; in software emulation (no KVM, or KVM failing here) 15 to 60 s.
const TIMEOUT_MS = 300_000;

let world: World;
before(async () => {
  if (!skip) world = await startWorld();
});
after(async () => {
  await world?.close();
});

test('a UC20-style image boots: recovery grub.cfg, kernel.efi from the seed, install mode', { skip, timeout: 2 * TIMEOUT_MS + 120_000 }, async () => {
  await withTemp(async (tmp) => {
    const img = await uc20Image(tmp, world);
    const r = await bootImage(img, tmp, TIMEOUT_MS);
    assert.ok(r.booted, `no ${MARKER} line on the serial console within ${TIMEOUT_MS / 1000} s:\n${r.output.slice(-3000)}`);
    const cmdline = new RegExp(`${MARKER} cmdline: (.*)`).exec(r.output)![1]!;
    assert.ok(cmdline.includes(`snapd_recovery_mode=install snapd_recovery_system=${UC20_LABEL} console=ttyS0 console=tty1 panic=-1`), cmdline);
    console.log(`UC20 image booted in ${r.seconds.toFixed(1)} s (${r.accel === 'kvm' ? 'KVM' : 'software emulation'})`);
  });
});

test('a UC18-style image boots: the implicit writable, grubenv on system-boot, the kernel link in writable', { skip, timeout: 2 * TIMEOUT_MS + 120_000 }, async () => {
  await withTemp(async (tmp) => {
    const { img, res } = await uc18Image(tmp, world);
    assert.equal(res.image!.partitions.at(-1)!.label, 'writable');
    const r = await bootImage(img, tmp, TIMEOUT_MS);
    assert.ok(r.booted, `no ${MARKER} line on the serial console within ${TIMEOUT_MS / 1000} s:\n${r.output.slice(-3000)}`);
    assert.match(new RegExp(`${MARKER} cmdline: (.*)`).exec(r.output)![1]!, /snap_core=core18_11\.snap snap_kernel=pc-kernel_x1\.snap/);
    console.log(`UC18 image booted in ${r.seconds.toFixed(1)} s (${r.accel === 'kvm' ? 'KVM' : 'software emulation'})`);
  });
});
