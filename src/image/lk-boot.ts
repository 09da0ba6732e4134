// The boot files of an lk (Android "little kernel") gadget, as snapd's image
// writer makes them (boot/makebootable.go with bootloader/lk.go, snapd 2.57.6).
// The gadget's lk.conf is the environment (lk-env.ts) with its boot image
// partitions named; the writer copies it, fills it in and takes the kernel's
// boot image (boot.img, or the environment's bootimg_file_name) beside it:
//   core 16/18  image/boot/lk/snapbootsel.bin (v1): the first free boot
//               partition holds the kernel snap file; snap_core and
//               snap_kernel set, snap_mode, snap_try_core and snap_try_kernel
//               cleared; image/boot/lk/boot.img.
//   core 20+    boot/lk/snaprecoverysel.bin on the seed (v2 recovery):
//               snapd_recovery_system and snapd_recovery_mode=install, the
//               first free boot partition holds the recovery system's label;
//               boot/lk/boot.img on the seed.
// ubuntu-image then gives these files to the gadget's raw structures whose
// content names them (the environment partition, the boot partition): the
// disk writer does the same (disk.ts).
import type { SquashfsReader } from '../snap/index.ts';
import { ImageError } from './errors.ts';
import type { SeedFile } from './layout.ts';
import { LkEnv } from './lk-env.ts';
import { readIfPresent } from './snap-tree.ts';

export interface LkBootInput {
  readonly uc20: boolean;
  readonly label: string;
  /** The gadget's lk.conf, or undefined when it has none. */
  readonly gadgetConf: Buffer | undefined;
  readonly kernel: { readonly name: string; readonly file: string; readonly reader: SquashfsReader };
  /** Core 16/18: the boot base's seed file name. */
  readonly baseFile?: string;
}

/** Where the files go, relative to the builder's output folder. */
export function lkBootDir(uc20: boolean, seedDir: string): string {
  return uc20 ? `${seedDir}/boot/lk` : 'image/boot/lk';
}

export async function lkBootFiles(o: LkBootInput, seedDir: string): Promise<SeedFile[]> {
  if (o.gadgetConf === undefined) throw new ImageError('image-gadget-invalid', 'an lk gadget must carry lk.conf, its boot environment (snapd reads the bootloader from it)');
  const dir = lkBootDir(o.uc20, seedDir);
  const env = LkEnv.parse(o.gadgetConf, o.uc20 ? 'v2-recovery' : 'v1', "the gadget's lk.conf");
  const bootImage = async () => {
    const name = env.bootImageName();
    const data = await readIfPresent(o.kernel.reader, name);
    // snapd's unpack of a missing file writes nothing and goes on; a disk without a boot image cannot boot.
    if (!data) throw new ImageError('image-snap-invalid', `kernel ${o.kernel.name} has no ${name}, the boot image an lk gadget boots`);
    return { path: `${dir}/${name}`, data };
  };
  if (o.uc20) {
    env.set('snapd_recovery_system', o.label);
    env.set('snapd_recovery_mode', 'install');
    const image = await bootImage();
    env.setPartitionValue(env.freePartition(env.rows().map(([, v]) => v).filter(Boolean), o.label), o.label);
    return [{ path: `${dir}/snaprecoverysel.bin`, data: env.toBuffer() }, image];
  }
  const installed = env.get('snap_kernel');
  const image = await bootImage();
  env.setPartitionValue(env.freePartition(installed ? [installed] : [], o.kernel.file), o.kernel.file);
  for (const k of ['snap_mode', 'snap_try_core', 'snap_try_kernel']) env.set(k, '');
  env.set('snap_core', o.baseFile ?? '');
  env.set('snap_kernel', o.kernel.file);
  return [{ path: `${dir}/snapbootsel.bin`, data: env.toBuffer() }, image];
}
