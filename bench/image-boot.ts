// Issue 17: the images start. Builds the UC20-style and UC18-style disk images
// of the boot test (test/image/boot/) and starts each under QEMU with OVMF
// (software emulation unless /dev/kvm is usable) until the initramfs prints
// its marker. Reference, in the same run: the same kernel and initramfs
// started by QEMU directly (-kernel/-initrd: no firmware, no GRUB, no disk);
// the ratio is what firmware, GRUB and the image's boot configuration add.
// SNAPLINE_BENCH_BOOT_RUNS (default 3).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uc18Image, uc20Image } from '../test/image/boot/images.ts';
import { bootDirect, bootImage, copyKernel, initramfs, missingForBoot } from '../test/image/boot/kit.ts';
import { startWorld } from '../test/image/world.ts';

const RUNS = Number(process.env['SNAPLINE_BENCH_BOOT_RUNS'] ?? 3);
const TIMEOUT_MS = 600_000;
const missing = await missingForBoot();
if (missing) {
  console.log(`image-boot: skipped (${missing})`);
  process.exit(0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const tmp = await mkdtemp(join(tmpdir(), 'snapline-bench-boot-'));
const world = await startWorld();
try {
  const kernel = await copyKernel(join(tmp, 'vmlinuz'));
  const initrd = join(tmp, 'initrd.img');
  await writeFile(initrd, await initramfs(tmp));
  const uc20 = await uc20Image(join(tmp, 'uc20'), world);
  const uc18 = (await uc18Image(join(tmp, 'uc18'), world)).img;
  const times: Record<string, number[]> = { direct: [], uc20: [], uc18: [] };
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so that the machine's load falls on all three alike.
    for (const [name, run] of [
      ['direct', () => bootDirect(kernel, initrd, 'console=ttyS0 panic=-1', TIMEOUT_MS)],
      ['uc20', () => bootImage(uc20, tmp, TIMEOUT_MS)],
      ['uc18', () => bootImage(uc18, tmp, TIMEOUT_MS)],
    ] as const) {
      const r = await run();
      if (!r.booted) throw new Error(`${name}: no marker within ${TIMEOUT_MS / 1000} s:\n${r.output.slice(-2000)}`);
      times[name]!.push(r.seconds);
    }
  }
  const ref = median(times['direct']!);
  console.log(`reference: the kernel started directly by QEMU, median of ${RUNS}: ${ref.toFixed(1)} s`);
  for (const name of ['uc20', 'uc18']) {
    const m = median(times[name]!);
    console.log(`${name} disk image to the initramfs marker, median of ${RUNS}: ${m.toFixed(1)} s (runs ${times[name]!.map((t) => t.toFixed(1)).join(', ')})`);
    console.log(`ratio ${name}/direct ${(m / ref).toFixed(2)}`);
  }
} finally {
  await world.close();
  await rm(tmp, { recursive: true, force: true });
}
