// Taking the seed back out of a disk image the image builder (or
// ubuntu-image) wrote: `snapline device boot --image` and `fleet run --image`
// boot from what would be flashed, not from the build folder. The partition
// table is read here (partition-table.ts); the filesystems with the same
// tools that wrote them (mtools for vfat, e2fsprogs' debugfs for ext4), so
// no partition is mounted and no root is needed.
//   UC20+:   the system-seed partition (vfat, `ubuntu-seed`): systems/, snaps/
//   UC16/18: the system-data partition (ext4, `writable`): system-data/var/lib/snapd/seed
import { access, mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { missingTools, runTool } from './disk.ts';
import { ImageError } from './errors.ts';
import { filesystemOf, readPartitionTable, TABLE_BYTES, type DiskPartition } from './partition-table.ts';

const UC16_SEED_PATH = '/system-data/var/lib/snapd/seed';
/** Tried first: the names snapd's roles get in Canonical's gadgets. */
const SEED_NAMES = ['ubuntu-seed', 'writable'];

export interface SeedFromDisk {
  /** The folder holding the seed (`seed.yaml` or `systems/`). */
  readonly seed: string;
  readonly partition: DiskPartition;
  readonly filesystem: 'vfat' | 'ext4';
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Copies the seed out of the disk image `image` into `dest` (created; must
 * be empty) and returns where it is. Refuses an image with no partition
 * table or no partition holding a seed, naming what it looked at.
 */
export async function extractSeedFromDisk(image: string, dest: string, opts: { toolDirs?: readonly string[] } = {}): Promise<SeedFromDisk> {
  const dirs = opts.toolDirs ?? [];
  let size: number;
  try {
    const st = await stat(image);
    if (!st.isFile()) throw new ImageError('image-disk-unreadable', `${image} is not a file`);
    size = st.size;
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError('image-disk-unreadable', `cannot read the disk image ${image}: ${(err as Error).message}`);
  }
  const fh = await open(image, 'r');
  const readAt = async (offset: number, length: number): Promise<Buffer> => {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  };
  let candidates: { partition: DiskPartition; filesystem: 'vfat' | 'ext4' }[];
  try {
    const table = await readPartitionTable(await readAt(0, Math.min(TABLE_BYTES, size)), size, readAt);
    const withFs = await Promise.all(table.partitions.map(async (partition) => ({ partition, filesystem: filesystemOf(await readAt(partition.start, 2048)) })));
    const named = (p: DiskPartition) => (p.name !== undefined && SEED_NAMES.includes(p.name) ? 0 : 1);
    candidates = withFs
      .filter((c): c is { partition: DiskPartition; filesystem: 'vfat' | 'ext4' } => c.filesystem !== 'unknown')
      .sort((a, b) => named(a.partition) - named(b.partition) || a.partition.number - b.partition.number);
  } finally {
    await fh.close();
  }
  if (candidates.length === 0) throw new ImageError('image-disk-unreadable', `${image}: no vfat or ext4 partition, so no seed`);
  const needed = [...new Set(candidates.map((c) => (c.filesystem === 'vfat' ? 'mcopy' : 'debugfs')))];
  const missing = await missingTools(needed, dirs);
  if (missing.length > 0) throw new ImageError('image-tools-missing', `reading the seed from a disk image needs ${missing.join(' and ')} (Debian: ${missing.map((t) => (t === 'mcopy' ? 'mtools' : 'e2fsprogs')).join(', ')})`);

  await mkdir(dest, { recursive: true });
  if ((await readdir(dest)).length > 0) throw new ImageError('image-output', `${dest} is not empty`);
  const looked: string[] = [];
  for (const { partition, filesystem } of candidates) {
    const what = `partition ${partition.number}${partition.name ? ` (${partition.name})` : ''}, ${filesystem}`;
    looked.push(what);
    const into = join(dest, `p${partition.number}`);
    await mkdir(into);
    if (filesystem === 'vfat') {
      // mtools addresses a filesystem inside a disk as FILE@@OFFSET.
      await runTool(dirs, 'mcopy', ['-s', '-p', '-n', '-m', '-i', `${image}@@${partition.start}`, '::*', `${into}/`]).catch(() => undefined);
      if (await exists(join(into, 'systems'))) return { seed: into, partition, filesystem };
    } else {
      // e2fsprogs opens a filesystem inside a disk as FILE?offset=N.
      await runTool(dirs, 'debugfs', ['-R', `rdump ${UC16_SEED_PATH} ${into}`, `${image}?offset=${partition.start}`]);
      if (await exists(join(into, 'seed', 'seed.yaml'))) return { seed: join(into, 'seed'), partition, filesystem };
    }
  }
  throw new ImageError('image-disk-unreadable', `${image}: no seed found (looked for systems/ on vfat and ${UC16_SEED_PATH}/seed.yaml on ext4 in ${looked.join('; ')})`);
}
