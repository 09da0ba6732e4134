// The seed read back out of a disk image (device boot --image, fleet run
// --image): the partition table read by hand, the filesystems with mtools and
// debugfs; the seed that comes out is the one the builder put in, file by
// file. Broken images are refused with image-disk-unreadable, naming why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { isImageError } from '../../src/image/errors.ts';
import { filesystemOf, readPartitionTable } from '../../src/image/partition-table.ts';
import { extractSeedFromDisk } from '../../src/image/seed-from-disk.ts';
import { loadSeed } from '../../src/device/seed.ts';
import { diskToolsSkip, withTemp } from './helpers.ts';
import { core18Model, core20Model, startWorld, type World } from './world.ts';

const skip = await diskToolsSkip();

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});
const NOW = () => new Date('2026-02-03T04:05:06Z');

/** Every file under `dir` with its SHA-256, by relative path. */
async function tree(dir: string, root = dir, out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await tree(p, root, out);
    else out[relative(root, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
  }
  return out;
}

async function refusal(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isImageError(err), String(err));
    assert.equal(err.code, 'image-disk-unreadable');
    assert.match(err.message, pattern);
    return true;
  });
}

test('core18 disk image: the seed comes back from the writable ext4, equal to the built one, and loads', { skip }, async () => {
  await withTemp(async (tmp) => {
    const img = join(tmp, 'disk.img');
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW });
    const got = await extractSeedFromDisk(img, join(tmp, 'back'));
    assert.equal(got.filesystem, 'ext4');
    assert.equal(got.partition.name, 'writable');
    assert.deepEqual(await tree(got.seed), await tree(join(tmp, 'out', 'image/var/lib/snapd/seed')));
    const seed = await loadSeed(got.seed, { trusted: world.trusted, now: NOW });
    assert.equal(seed.form, 'uc16');
    assert.ok(seed.snaps.some((s) => s.name === 'core18'));
  });
});

test('core20 disk image: the seed comes back from ubuntu-seed (vfat), equal to the built one, and loads', { skip }, async () => {
  await withTemp(async (tmp) => {
    const img = join(tmp, 'disk.img');
    await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW, label: 'l20' });
    const got = await extractSeedFromDisk(img, join(tmp, 'back'));
    assert.equal(got.filesystem, 'vfat');
    assert.equal(got.partition.name, 'ubuntu-seed');
    const built = await tree(join(tmp, 'out', 'system-seed'));
    const back = await tree(got.seed);
    // The gadget's own content (EFI/...) shares the partition; everything of the seed must be there, equal.
    for (const [path, digest] of Object.entries(built)) assert.equal(back[path], digest, path);
    const seed = await loadSeed(got.seed, { trusted: world.trusted, label: 'l20', now: NOW });
    assert.equal(seed.form, 'uc20');
    // A second extraction into a folder that is not empty is refused, never merged.
    await assert.rejects(extractSeedFromDisk(img, join(tmp, 'back')), /not empty/);
  });
});

test('an image that is not a disk, or whose table points outside it, is refused with the reason', async () => {
  await withTemp(async (tmp) => {
    const junk = join(tmp, 'junk.img');
    await writeFile(junk, Buffer.alloc(64 * 1024, 7));
    await refusal(extractSeedFromDisk(junk, join(tmp, 'a')), /no MBR signature/);
    await refusal(extractSeedFromDisk(join(tmp, 'absent.img'), join(tmp, 'b')), /cannot read the disk image/);
    await refusal(extractSeedFromDisk(tmp, join(tmp, 'c')), /is not a file/);

    // An MBR whose only partition runs past the end of a 1 MiB file.
    const mbr = Buffer.alloc(1 << 20);
    mbr.writeUInt16LE(0xaa55, 510);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(2048, 446 + 8);
    mbr.writeUInt32LE(8192, 446 + 12);
    await writeFile(join(tmp, 'mbr.img'), mbr);
    await refusal(extractSeedFromDisk(join(tmp, 'mbr.img'), join(tmp, 'd')), /beyond the end of the disk/);

    // A protective MBR with no GPT header behind it.
    const prot = Buffer.alloc(1 << 20);
    prot.writeUInt16LE(0xaa55, 510);
    prot[446 + 4] = 0xee;
    await writeFile(join(tmp, 'prot.img'), prot);
    await refusal(extractSeedFromDisk(join(tmp, 'prot.img'), join(tmp, 'e')), /no GPT header/);

    // A valid MBR partition holding no filesystem: nothing to read a seed from.
    mbr.writeUInt32LE(1024, 446 + 8);
    mbr.writeUInt32LE(512, 446 + 12);
    await writeFile(join(tmp, 'empty.img'), mbr);
    await refusal(extractSeedFromDisk(join(tmp, 'empty.img'), join(tmp, 'f')), /no vfat or ext4 partition/);
    assert.equal((await stat(tmp)).isDirectory(), true);
  });
});

test('the partition table reader: MBR entries in sectors, filesystems by their marks', async () => {
  const head = Buffer.alloc(34 * 512);
  head.writeUInt16LE(0xaa55, 510);
  head[446 + 16 + 4] = 0x0c;
  head.writeUInt32LE(4, 446 + 16 + 8);
  head.writeUInt32LE(10, 446 + 16 + 12);
  const t = await readPartitionTable(head, 1 << 20, async () => Buffer.alloc(0));
  assert.deepEqual(t, { schema: 'mbr', partitions: [{ number: 2, start: 2048, size: 5120, type: '0C' }] });
  const ext = Buffer.alloc(2048);
  ext.writeUInt16LE(0xef53, 1080);
  assert.equal(filesystemOf(ext), 'ext4');
  const fat = Buffer.alloc(2048);
  fat.writeUInt16LE(0xaa55, 510);
  fat.write('FAT32   ', 82, 'latin1');
  assert.equal(filesystemOf(fat), 'vfat');
  assert.equal(filesystemOf(Buffer.alloc(2048)), 'unknown');
});
