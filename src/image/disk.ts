// Writing a disk image from the gadget's volumes with the system's tools:
// sfdisk for the partition table, mkfs.vfat + mcopy and mkfs.ext4 -d for
// filesystems (content from the gadget, plus the seed in the seed's
// structure), raw content written at its offsets. Only used when a disk image
// is asked for; missingTools() tells what is not installed. The folders the
// tools are looked for in are the caller's (the CLI passes PATH), then the
// system's own.
import { spawn } from 'node:child_process';
import { access, constants, copyFile, link, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { GadgetStructure, GadgetVolume, GadgetYaml, SquashfsReader } from '../snap/index.ts';
import { SquashfsPathError } from '../snap/index.ts';
import { ImageError } from './errors.ts';
import { parseKernelYaml, resolveKernelRef, type KernelAssets } from './kernel-assets.ts';
import { layoutVolume, offsetWritesWithin, seedStructure, sfdiskScript, withImplicitSystemData, withRootfsRoom, SECTOR } from './volumes.ts';

export const DISK_TOOLS = ['sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'mcopy'] as const;

/** Where the tools are looked for after the caller's folders (sfdisk and mkfs live in sbin, often not on a user's PATH). */
const SYSTEM_TOOL_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** A PATH-style value as folders to look for tools in. */
export function toolDirs(path: string | undefined): string[] {
  return (path ?? '').split(delimiter).filter(Boolean);
}

async function which(tool: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of [...dirs, ...SYSTEM_TOOL_DIRS]) {
    const p = join(dir, tool);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The disk tools that are neither in `dirs` nor in the system's folders, in the order given. */
export async function missingTools(tools: readonly string[] = DISK_TOOLS, dirs: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const t of tools) if (!(await which(t, dirs))) out.push(t);
  return out;
}

export async function runTool(dirs: readonly string[], tool: string, args: readonly string[], input?: string): Promise<void> {
  const path = await which(tool, dirs);
  if (!path) throw new ImageError('image-tools-missing', `${tool} is not installed`);
  await new Promise<void>((resolve, reject) => {
    const p = spawn(path, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new ImageError('image-output', `${tool} ${args.join(' ')} failed (exit ${code}): ${err.trim().slice(0, 500)}`))));
    if (p.stdin) {
      // A tool that exits early must not turn into an uncaught EPIPE.
      p.stdin.on('error', () => undefined);
      p.stdin.end(input);
    }
  });
}

export interface DiskPartition {
  readonly number: number;
  readonly name?: string;
  readonly role?: string;
  readonly label?: string;
  readonly filesystem?: string;
  readonly start: number;
  readonly size: number;
}

export interface DiskImageResult {
  readonly path: string;
  readonly volume: string;
  readonly size: number;
  readonly partitions: readonly DiskPartition[];
  /** The gadget's other volumes, each in its own file. */
  readonly otherVolumes?: readonly DiskImageResult[];
}

export interface DiskImageOptions {
  readonly gadget: GadgetYaml;
  readonly gadgetReader: SquashfsReader;
  /** The seed folder (UC20: the system-seed content; UC16/18: image/var/lib/snapd/seed). */
  readonly seedRoot: string;
  /**
   * UC16/18: the image's root folder (`image/`): all of it but `boot/` becomes
   * the writable partition's `system-data/`, and `boot/grub` (`boot/uboot`,
   * `boot/piboot`) goes to the system-boot partition, as ubuntu-image does.
   * Without it only the seed goes into system-data.
   */
  readonly imageRoot?: string;
  readonly uc20: boolean;
  readonly dest: string;
  readonly step?: (s: string) => void;
  /** Where the gadget's other volumes go; without it only the seed's volume is written. */
  readonly otherVolumeDest?: (volume: string) => string;
  /** The kernel snap, for `$kernel:` content. */
  readonly kernel?: KernelSnap;
  /** Folders to look for the tools in before the system's own (the CLI passes PATH's). */
  readonly toolDirs?: readonly string[];
}

/** A kernel snap opened for its assets. */
export interface KernelSnap {
  readonly name: string;
  readonly reader: SquashfsReader;
  readonly assets: KernelAssets;
}

/** Opens a kernel snap's assets: meta/kernel.yaml, which is optional. */
export async function kernelSnap(name: string, reader: SquashfsReader): Promise<KernelSnap> {
  let text = '';
  try {
    text = (await reader.readFile('meta/kernel.yaml')).toString('utf8');
  } catch (err) {
    if (!(err instanceof SquashfsPathError)) throw err;
  }
  return { name, reader, assets: parseKernelYaml(text, name) };
}

/** Copies a gadget path (file or folder) into `dest` on disk. */
async function extract(reader: SquashfsReader, src: string, dest: string, depth = 0): Promise<void> {
  if (depth > 64) throw new ImageError('image-gadget-invalid', `gadget content ${src} is nested too deep`);
  const st = await reader.stat(src, { follow: true });
  if (st.type === 'directory') {
    await mkdir(dest, { recursive: true });
    for (const e of await reader.list(src)) await extract(reader, `${src}/${e.name}`, join(dest, e.name), depth + 1);
  } else if (st.type === 'file') {
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, await reader.readFile(src));
  }
}

/** Hard-links (or copies) a folder tree; symbolic links stay links. `skip`: top-level names left out. */
async function linkTree(src: string, dest: string, skip: readonly string[] = []): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const e of await readdir(src, { withFileTypes: true })) {
    if (skip.includes(e.name)) continue;
    const s = join(src, e.name);
    const d = join(dest, e.name);
    if (e.isDirectory()) await linkTree(s, d);
    else if (e.isSymbolicLink()) await symlink(await readlink(s), d);
    else await link(s, d).catch(() => copyFile(s, d));
  }
}

/** The block size `du` counts in on ext4. */
const BLOCK = 4096;

/** What `du -s -B1` reports for a tree on ext4 (ubuntu-image sizes the rootfs with it): 4 KiB blocks, hard links once, short links none. */
export async function diskUsage(dir: string, seen = new Set<number>()): Promise<number> {
  let total = BLOCK;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await diskUsage(p, seen);
    else if (e.isFile()) {
      const st = await stat(p);
      if (seen.has(st.ino)) continue;
      seen.add(st.ino);
      total += Math.ceil(st.size / BLOCK) * BLOCK;
    }
  }
  return total;
}

/** Where a UC16/18 bootloader's files (image/boot/<dir>) go on the system-boot partition (ubuntu-image's handleSecureBoot). */
const BOOT_FILES: Readonly<Record<string, { from: string; to: string }>> = {
  grub: { from: 'boot/grub', to: 'EFI/ubuntu' },
  'u-boot': { from: 'boot/uboot', to: '' },
  piboot: { from: 'boot/piboot', to: '' },
};

function clean(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Stages a filesystem structure's content: gadget content entries, then the seed (or the UC16/18 rootfs, or boot files) if they go here. */
async function stage(opts: DiskImageOptions, volume: GadgetVolume, s: GadgetStructure, dir: string, holdsSeed: boolean): Promise<void> {
  await writeStructureContent(opts.gadgetReader, s, dir, opts.kernel ? { kernel: opts.kernel } : {});
  if (holdsSeed) {
    if (opts.uc20) await linkTree(opts.seedRoot, dir);
    else if (opts.imageRoot) {
      // ubuntu-image's populateSnapRootfsContents: image/* but boot/ under system-data/, and an empty system-data/boot.
      await linkTree(opts.imageRoot, join(dir, 'system-data'), ['boot']);
      await mkdir(join(dir, 'system-data/boot'), { recursive: true });
    } else await linkTree(opts.seedRoot, join(dir, 'system-data/var/lib/snapd/seed'));
  }
  const boot = volume.bootloader ? BOOT_FILES[volume.bootloader] : undefined;
  if (!opts.uc20 && opts.imageRoot && boot && (s.role === 'system-boot' || s.label === 'system-boot')) {
    const from = join(opts.imageRoot, boot.from);
    if (await stat(from).then(() => true, () => false)) await linkTree(from, join(dir, boot.to));
  }
}

/**
 * Every content the gadget's structures name is in the gadget (snapd's
 * gadget.ValidateContent, as prepare-image runs it): sources of filesystem
 * structures and images of raw ones; `$kernel:` references are checked
 * against the kernel (kernel-assets.ts). Run before the seed is written, so a
 * bad gadget leaves nothing behind; the structure and file are named.
 */
export async function checkGadgetContent(gadget: GadgetYaml, reader: SquashfsReader): Promise<void> {
  for (const volume of Object.values(gadget.volumes)) {
    for (const s of volume.structure) {
      const where = `structure ${s.name ? JSON.stringify(s.name) : `#${s.index}`} of volume ${JSON.stringify(volume.name)}`;
      for (const c of s.content) {
        const path = c.image ?? c.source;
        if (path === undefined || path.startsWith('$kernel:')) continue;
        try {
          await reader.stat(clean(path), { follow: true });
        } catch (err) {
          if (err instanceof SquashfsPathError) throw new ImageError('image-gadget-invalid', `${where}: ${c.image !== undefined ? 'image' : 'content source'} ${JSON.stringify(path)} is not in the gadget`);
          throw err;
        }
      }
    }
  }
}

/**
 * Writes a filesystem structure's content (source/target pairs) under `dir`:
 * sources from the gadget, or from the kernel snap for `$kernel:` references
 * (skipped with skipKernelAssets, as prepare-image does for the seed). No
 * system tools needed.
 */
export async function writeStructureContent(reader: SquashfsReader, s: GadgetStructure, dir: string, opts: { skipKernelAssets?: boolean; kernel?: KernelSnap } = {}): Promise<void> {
  const where = `structure ${s.name ?? `#${s.index}`}`;
  await mkdir(dir, { recursive: true });
  for (const c of s.content) {
    let source = c.source!;
    let from = reader;
    let what = 'the gadget';
    if (source.startsWith('$kernel:')) {
      if (opts.skipKernelAssets) continue;
      if (!opts.kernel) throw new ImageError('image-gadget-invalid', `${where}: kernel asset content (${source}) needs the model's kernel snap`);
      source = resolveKernelRef(source, opts.kernel.assets, `kernel snap ${opts.kernel.name}`);
      from = opts.kernel.reader;
      what = `kernel snap ${opts.kernel.name}`;
    }
    let st;
    try {
      st = await from.stat(clean(source), { follow: true });
    } catch (err) {
      if (err instanceof SquashfsPathError) throw new ImageError('image-gadget-invalid', `${where}: content source ${JSON.stringify(c.source)} is not in ${what}`);
      throw err;
    }
    const target = c.target!;
    // "dir/" targets (and folder sources) copy into the target folder.
    let dest = join(dir, clean(target));
    if (st.type !== 'directory' && target.endsWith('/')) dest = join(dest, clean(source).split('/').pop()!);
    if (st.type === 'directory' && !source.endsWith('/')) dest = join(dest, clean(source).split('/').pop()!);
    await extract(from, clean(source), dest);
  }
}

async function copyInto(src: string, dest: string, at: number): Promise<void> {
  const input = await open(src, 'r');
  const output = await open(dest, 'r+');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      await output.write(buf, 0, bytesRead, at + pos);
      pos += bytesRead;
    }
  } finally {
    await input.close();
    await output.close();
  }
}

/** Writes the disk image of the volume that holds the seed. */
export async function writeDiskImage(opts: DiskImageOptions): Promise<DiskImageResult> {
  // The rootfs as ubuntu-image measures it: on UC16/18 rootfs/ holding system-data/ (image/ without
  // boot/, and an empty boot/), on core 20+ the seed. A UC16/18 gadget without system-data gets the
  // implicit writable partition sized for it; a declared system-data too small for it is grown.
  const boot = !opts.uc20 && opts.imageRoot ? await diskUsage(join(opts.imageRoot, 'boot')).catch(() => 0) : 0;
  const rootfs = !opts.uc20 && opts.imageRoot ? (await diskUsage(opts.imageRoot)) - boot + 2 * BLOCK : await diskUsage(opts.seedRoot);
  opts = { ...opts, gadget: withRootfsRoom(opts.uc20 ? opts.gadget : withImplicitSystemData(opts.gadget, rootfs), rootfs) };
  const { volume, structure: seedS } = seedStructure(opts.gadget, opts.uc20);
  const main = await writeVolume(opts, volume, seedS, opts.dest);
  const others: DiskImageResult[] = [];
  for (const v of Object.values(opts.gadget.volumes)) {
    if (v === volume) continue;
    if (!opts.otherVolumeDest) break;
    others.push(await writeVolume(opts, v, undefined, opts.otherVolumeDest(v.name)));
  }
  return others.length > 0 ? { ...main, otherVolumes: others } : main;
}

async function writeVolume(opts: DiskImageOptions, volume: GadgetVolume, seedS: GadgetStructure | undefined, dest: string): Promise<DiskImageResult> {
  const layout = layoutVolume(volume);
  const work = await mkdtemp(`${dest}.work-`);
  try {
    const fh = await open(dest, 'w');
    await fh.truncate(layout.size);
    await fh.close();
    opts.step?.(`partitions: volume ${volume.name}, ${volume.schema}, ${layout.partitions.length} partitions, ${layout.size} bytes`);
    await runTool(opts.toolDirs ?? [], 'sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', dest], sfdiskScript(layout));
    // Raw content (bare structures, the MBR boot code, raw partitions). An lk volume's images come
    // first from the boot files the builder made (the filled-in environment, the kernel's boot image),
    // as ubuntu-image copies them over the gadget's (handleLkBootloader).
    const lkDir = volume.bootloader === 'lk' ? (opts.uc20 ? join(opts.seedRoot, 'boot/lk') : opts.imageRoot ? join(opts.imageRoot, 'boot/lk') : undefined) : undefined;
    for (const s of [...layout.raw, ...layout.partitions.map((p) => p.structure).filter((x) => x.filesystem === undefined || x.filesystem === 'none')]) {
      let at = s.startOffset;
      for (const c of s.content) {
        if (c.image === undefined) continue;
        let data: Buffer;
        try {
          const prepared = lkDir ? await readFile(join(lkDir, clean(c.image))).catch(() => undefined) : undefined;
          data = prepared ?? (await opts.gadgetReader.readFile(clean(c.image)));
        } catch (err) {
          if (err instanceof SquashfsPathError) throw new ImageError('image-gadget-invalid', `structure ${s.name ?? `#${s.index}`}: image ${JSON.stringify(c.image)} is not in the gadget`);
          throw err;
        }
        const off = s.startOffset + (c.offset ?? at - s.startOffset);
        const max = c.size ?? s.size - (off - s.startOffset);
        if (data.length > max || off + data.length > s.startOffset + s.size) throw new ImageError('image-gadget-invalid', `structure ${s.name ?? `#${s.index}`}: image ${c.image} does not fit`);
        const out = await open(dest, 'r+');
        await out.write(data, 0, data.length, off);
        await out.close();
        at = off + data.length;
      }
    }
    // Filesystems.
    for (const p of layout.partitions) {
      const s = p.structure;
      if (s.filesystem !== 'ext4' && s.filesystem !== 'vfat') continue;
      const holdsSeed = s === seedS;
      opts.step?.(`filesystems: ${s.filesystem} ${s.label ?? s.name ?? `#${s.index}`}${holdsSeed ? ' with the seed' : ''}`);
      const dir = join(work, `p${p.number}`);
      await stage(opts, volume, s, dir, holdsSeed);
      const fsImg = join(work, `p${p.number}.img`);
      const f = await open(fsImg, 'w');
      await f.truncate(s.size);
      await f.close();
      if (s.filesystem === 'ext4') {
        await runTool(opts.toolDirs ?? [], 'mkfs.ext4', ['-F', '-q', '-E', 'root_owner=0:0', ...(s.label ? ['-L', s.label] : []), '-d', dir, fsImg]);
      } else {
        await runTool(opts.toolDirs ?? [], 'mkfs.vfat', [...(s.label ? ['-n', s.label.slice(0, 11)] : []), fsImg]);
        const entries = await readdir(dir);
        if (entries.length > 0) await runTool(opts.toolDirs ?? [], 'mcopy', ['-s', '-p', '-Q', '-m', '-i', fsImg, ...entries.map((e) => join(dir, e)), '::/'], undefined);
      }
      await copyInto(fsImg, dest, p.start);
      await rm(fsImg, { force: true });
      await rm(dir, { recursive: true, force: true });
    }
    // offset-write pointers last, so no content overwrites them.
    const writes = offsetWritesWithin(volume, layout.size);
    if (writes.length > 0) {
      const out = await open(dest, 'r+');
      try {
        for (const w of writes) {
          const b = Buffer.alloc(4);
          b.writeUInt32LE(w.sector);
          await out.write(b, 0, 4, w.at);
        }
      } finally {
        await out.close();
      }
    }
    const size = (await stat(dest)).size;
    return {
      path: dest,
      volume: volume.name,
      size,
      partitions: layout.partitions.map((p) => ({
        number: p.number,
        ...(p.structure.name !== undefined ? { name: p.structure.name } : {}),
        ...(p.structure.role !== undefined ? { role: p.structure.role } : {}),
        ...(p.structure.label !== undefined ? { label: p.structure.label } : {}),
        ...(p.structure.filesystem !== undefined ? { filesystem: p.structure.filesystem } : {}),
        start: p.start,
        size: p.size,
      })),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export { SECTOR };
