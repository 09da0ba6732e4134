// The boot files of a u-boot gadget, as snapd's image writer makes them
// (boot/makebootable.go with bootloader/uboot.go):
//   core 16/18  image/boot/uboot/uboot.env: the gadget's uboot.conf (an
//               environment file; empty means a new 4096-byte one), with
//               snap_core, snap_kernel and snap_menuentry set (empty values
//               are not written: ubootenv's Set deletes them); the kernel's
//               kernel.img, initrd.img and dtbs/ extracted to
//               image/boot/uboot/<kernel snap file>/ (ExtractKernelAssets).
//               ubuntu-image moves image/boot/uboot/* to system-boot.
//   core 20+    uboot/ubuntu/boot.sel on the seed: a new 4096-byte environment
//               with snapd_recovery_system and snapd_recovery_mode=install
//               (only an empty uboot.conf is supported, as in snapd); the
//               kernel assets in systems/<label>/kernel/
//               (ExtractRecoveryKernelAssets).
import type { SquashfsReader } from '../snap/index.ts';
import { ImageError } from './errors.ts';
import type { SeedFile } from './layout.ts';
import { readIfPresent, treeFiles } from './snap-tree.ts';
import { DEFAULT_UBOOT_ENV_SIZE, parseUbootEnv, writeUbootEnv } from './uboot-env.ts';

export interface UbootBootInput {
  readonly uc20: boolean;
  readonly label: string;
  /** The gadget's uboot.conf, or undefined when it has none. */
  readonly gadgetConf: Buffer | undefined;
  readonly kernel: { readonly name: string; readonly file: string; readonly reader: SquashfsReader };
  /** UC16/18: the seed file names of the boot base and the kernel; the model's menu entry. */
  readonly baseFile?: string;
  readonly menuEntry?: string;
}

/** kernel.img (required), initrd.img and dtbs/ of the kernel snap, under `dir`. */
async function kernelAssets(reader: SquashfsReader, kernel: string, dir: string): Promise<SeedFile[]> {
  const out: SeedFile[] = [];
  const read = (path: string) => readIfPresent(reader, path);
  const image = await read('kernel.img');
  if (!image) throw new ImageError('image-snap-invalid', `kernel ${kernel} has no kernel.img, which a u-boot gadget boots`);
  out.push({ path: `${dir}/kernel.img`, data: image });
  const initrd = await read('initrd.img');
  if (initrd) out.push({ path: `${dir}/initrd.img`, data: initrd });
  const dtbs = await reader.stat('dtbs', { follow: true }).catch(() => undefined);
  if (dtbs?.type === 'directory') out.push(...(await treeFiles(reader, 'dtbs', `${dir}/dtbs`)));
  return out;
}

/** The files to write (paths relative to the builder's output folder). */
export async function ubootBootFiles(o: UbootBootInput, seedDir: string): Promise<SeedFile[]> {
  if (o.gadgetConf === undefined) throw new ImageError('image-gadget-invalid', 'a u-boot gadget must carry uboot.conf (snapd reads the bootloader from it)');
  if (o.uc20) {
    if (o.gadgetConf.length > 0) throw new ImageError('image-gadget-invalid', 'a core 20+ u-boot gadget must have an empty uboot.conf (snapd does not support a uboot.env from the gadget there yet)');
    const sel = writeUbootEnv(new Map([['snapd_recovery_mode', 'install'], ['snapd_recovery_system', o.label]]), DEFAULT_UBOOT_ENV_SIZE);
    return [{ path: `${seedDir}/uboot/ubuntu/boot.sel`, data: sel }, ...(await kernelAssets(o.kernel.reader, o.kernel.name, `${seedDir}/systems/${o.label}/kernel`))];
  }
  const env = o.gadgetConf.length === 0 ? { size: DEFAULT_UBOOT_ENV_SIZE, vars: new Map<string, string>() } : parseUbootEnv(o.gadgetConf, 'the gadget\'s uboot.conf');
  const set = (k: string, v: string | undefined) => (v ? env.vars.set(k, v) : env.vars.delete(k));
  for (const k of ['snap_mode', 'snap_try_core', 'snap_try_kernel']) set(k, '');
  set('snap_menuentry', o.menuEntry);
  set('snap_core', o.baseFile);
  set('snap_kernel', o.kernel.file);
  return [{ path: 'image/boot/uboot/uboot.env', data: writeUbootEnv(env.vars, env.size) }, ...(await kernelAssets(o.kernel.reader, o.kernel.name, `image/boot/uboot/${o.kernel.file}`))];
}
