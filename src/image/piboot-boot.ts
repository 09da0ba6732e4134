// The boot files of a piboot gadget (the Raspberry Pi firmware loads the
// kernel itself, no U-Boot), core 20+ only, as snapd's image writer makes them
// (boot/makebootable.go with bootloader/piboot.go, snapd 2.57.6), on the seed
// after the seed structure's gadget content is in place:
//   piboot/ubuntu/piboot.conf  a new 4096-byte environment (U-Boot's format)
//              with snapd_recovery_mode=install and snapd_recovery_system;
//   config.txt the gadget's, with its os_prefix line set to
//              /systems/<label>/kernel/ (further ones commented out; one
//              appended when there is none): the firmware boots the recovery
//              system's kernel;
//   systems/<label>/kernel/cmdline.txt  the first line of the gadget's
//              cmdline.txt, then snapd_recovery_mode=install
//              snapd_recovery_system=<label>;
//   systems/<label>/kernel/  the kernel's kernel.img, initrd.img and dtbs/,
//              the device trees moved up beside them (dtbs/broadcom/* on
//              arm64, dtbs/* on armhf), the overlays in overlays/ with an empty
//              README (the firmware honours os_prefix for overlays only then);
//              the emptied dtbs/ folders stay, as snapd leaves them.
// Pure: the caller reads the gadget's files and the kernel.
import type { SquashfsReader } from '../snap/index.ts';
import { ImageError } from './errors.ts';
import type { SeedFile } from './layout.ts';
import { readIfPresent, treeFiles } from './snap-tree.ts';
import { DEFAULT_UBOOT_ENV_SIZE, writeUbootEnv } from './uboot-env.ts';

export interface PibootInput {
  readonly label: string;
  /** The seed's config.txt and cmdline.txt, from the seed structure's gadget content (undefined: absent). */
  readonly configTxt: Buffer | undefined;
  readonly cmdlineTxt: Buffer | undefined;
  readonly kernel: { readonly name: string; readonly reader: SquashfsReader };
}

/** config.txt with os_prefix set, line for line as snapd rewrites it. */
export function withOsPrefix(config: string, prefix: string): string {
  const lines = config.split('\n');
  const line = `os_prefix=${prefix}/`;
  let replaced = false;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('os_prefix=')) continue;
    lines[i] = replaced ? `# ${lines[i]}` : line;
    replaced = true;
  }
  if (!replaced) lines.push(line, '');
  return lines.join('\n');
}

/** The kernel command line file of the recovery system. */
export function recoveryCmdline(gadgetCmdline: string, label: string): string {
  return `${gadgetCmdline.split('\n')[0]} snapd_recovery_mode=install snapd_recovery_system=${label}\n`;
}

/** The files to write, paths relative to the builder's output folder (`seedDir`: the seed's folder there). */
export async function pibootBootFiles(o: PibootInput, seedDir: string): Promise<SeedFile[]> {
  if (o.configTxt === undefined || o.cmdlineTxt === undefined) {
    throw new ImageError('image-gadget-invalid', `a piboot gadget must put config.txt and cmdline.txt on the seed (its system-seed structure's content): ${o.configTxt === undefined ? 'config.txt' : 'cmdline.txt'} is missing`);
  }
  const prefix = `/systems/${o.label}/kernel`;
  const kernelDir = `${seedDir}${prefix}`;
  return [
    { path: `${seedDir}/piboot/ubuntu/piboot.conf`, data: writeUbootEnv(new Map([['snapd_recovery_mode', 'install'], ['snapd_recovery_system', o.label]]), DEFAULT_UBOOT_ENV_SIZE) },
    { path: `${seedDir}/config.txt`, data: Buffer.from(withOsPrefix(o.configTxt.toString('utf8'), prefix)) },
    { path: `${kernelDir}/cmdline.txt`, data: Buffer.from(recoveryCmdline(o.cmdlineTxt.toString('utf8'), o.label)) },
    ...(await kernelLayout(o.kernel.reader, o.kernel.name, kernelDir)),
  ];
}

/** kernel.img, initrd.img and the device trees laid out for the firmware (see the top of the file). */
async function kernelLayout(reader: SquashfsReader, kernel: string, dir: string): Promise<SeedFile[]> {
  const read = (path: string) => readIfPresent(reader, path);
  const isDir = async (path: string) => (await reader.stat(path, { follow: true }).catch(() => undefined))?.type === 'directory';
  const out: SeedFile[] = [];
  const image = await read('kernel.img');
  if (!image) throw new ImageError('image-snap-invalid', `kernel ${kernel} has no kernel.img, which a piboot gadget boots`);
  out.push({ path: `${dir}/kernel.img`, data: image });
  const initrd = await read('initrd.img');
  if (initrd) out.push({ path: `${dir}/initrd.img`, data: initrd });
  if (!(await isDir('dtbs'))) throw new ImageError('image-snap-invalid', `kernel ${kernel} has no dtbs/, whose device trees a piboot gadget boots with`);
  // Folders too: an emptied one stays, as after snapd's mv.
  const copy = async (from: string, to: string, skip?: (name: string) => boolean) => out.push(...(await treeFiles(reader, from, to, { directories: true, ...(skip ? { skip } : {}) })));
  const arm64 = await isDir('dtbs/broadcom');
  if (!(await isDir('dtbs/overlays'))) throw new ImageError('image-snap-invalid', `kernel ${kernel} has no dtbs/overlays/, which snapd moves beside a piboot kernel`);
  const dtbDir = arm64 ? 'dtbs/broadcom' : 'dtbs';
  const moved = await reader.list(dtbDir);
  if (moved.length === 0) throw new ImageError('image-snap-invalid', `kernel ${kernel} has no device trees in ${dtbDir}/`);
  // What stays in dtbs/: on arm64 everything but broadcom's content and overlays; on armhf nothing.
  out.push({ path: `${dir}/dtbs`, data: Buffer.alloc(0), directory: true });
  if (arm64) {
    await copy('dtbs', `${dir}/dtbs`, (name) => name === 'overlays' || name === 'broadcom');
    out.push({ path: `${dir}/dtbs/broadcom`, data: Buffer.alloc(0), directory: true });
    out.push({ path: `${dir}/overlays`, data: Buffer.alloc(0), directory: true });
    await copy('dtbs/overlays', `${dir}/overlays`);
  }
  await copy(dtbDir, dir);
  out.push({ path: `${dir}/overlays/README`, data: Buffer.alloc(0) });
  return out;
}
