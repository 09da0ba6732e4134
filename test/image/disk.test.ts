// Disk images from the gadget's volumes: the partition table sfdisk reads back
// matches gadget.yaml, raw content sits at its offsets, and the seed read back
// out of the image (debugfs for ext4, mcopy for vfat) passes the seed loader.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../../src/image/build.ts';
import { loadSeed16, loadSeed20 } from './seed-checker.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { buildSnapdProgram, GOPATH, runProgram } from '../interop/helpers/snapd-go.ts';
import { diskToolsSkip, withTemp } from './helpers.ts';
import { core18Model, core20Model, LK18_GADGET_YAML, packBytes, startWorld, UC16_GADGET_YAML, type World } from './world.ts';
import { diskUsage } from '../../src/image/disk.ts';
import { rootfsSize } from '../../src/image/volumes.ts';

const skip = await diskToolsSkip();
if (skip) console.log(`# disk image tests skipped: ${skip}`);

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});

const NOW = () => new Date('2026-02-03T04:05:06Z');
const PATH = `${process.env['PATH'] ?? ''}:/usr/sbin:/sbin`;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PATH, MTOOLS_SKIP_CHECK: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** snapd's own seed loader on the seed read back from the image, when it can be built here. */
async function snapdAccepts(dir: string, label?: string): Promise<void> {
  if (!existsSync(join(GOPATH, 'src/github.com/godbus/dbus'))) return;
  const b = buildSnapdProgram('seedload');
  if ('skip' in b) return;
  const r = await runProgram(b.bin, [join(VECTORS_DIR, 'trusted-root.assert'), dir, ...(label ? [label] : [])]);
  assert.equal(r.code, 0, `snapd's seed loader refused the seed read back from the image: ${r.out}`);
}

interface Dumped {
  label: string;
  parts: { start: number; size: number; type: string; name?: string }[];
}

function sfdiskDump(img: string): Dumped {
  const out = sh('sfdisk', ['--dump', img]);
  const label = /^label: (\S+)/m.exec(out)![1]!;
  const parts = out
    .split('\n')
    .filter((l) => l.includes(' : start='))
    .map((l) => ({
      start: Number(/start=\s*(\d+)/.exec(l)![1]),
      size: Number(/size=\s*(\d+)/.exec(l)![1]),
      type: /type=([^,\s]+)/.exec(l)![1]!,
      ...(/name="([^"]*)"/.exec(l) ? { name: /name="([^"]*)"/.exec(l)![1]! } : {}),
    }));
  return { label, parts };
}

/** Copies one partition out of the image into its own file. */
async function extractPartition(img: string, start: number, size: number, dest: string): Promise<void> {
  sh('dd', [`if=${img}`, `of=${dest}`, 'bs=512', `skip=${start}`, `count=${size}`, 'status=none']);
}

test('core18 disk image: gpt as the gadget says, raw content in place, seed in the writable ext4', { skip }, async () => {
  await withTemp(async (tmp) => {
    const img = join(tmp, 'disk.img');
    const res = await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW });
    assert.equal(res.image!.path, img);
    const d = sfdiskDump(img);
    assert.equal(d.label, 'gpt');
    assert.deepEqual(d.parts, [
      { start: 2048, size: 2048, type: '21686148-6E6F-7449-6E6F-744E65656449', name: 'BIOS Boot' },
      { start: 4096, size: 8192, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', name: 'system-boot' },
      { start: 12288, size: 32768, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'writable' },
    ]);
    const bytes = await readFile(img);
    const mbr = Buffer.alloc(440, 0xeb);
    mbr.writeUInt32LE(2048, 92); // offset-write: mbr+92, the BIOS Boot structure's start in sectors
    assert.ok(bytes.subarray(0, 440).equals(mbr), 'MBR boot code from pc-boot.img, with the offset-write pointer');
    assert.ok(bytes.subarray(1 << 20, (1 << 20) + 8192).equals(Buffer.alloc(8192, 0x5a)), 'BIOS Boot content from pc-core.img');
    // vfat content, read with mcopy at the partition's offset.
    assert.equal(sh('mcopy', ['-i', `${img}@@${4096 * 512}`, '::/EFI/boot/grubx64.efi', '-']), 'GRUB-EFI-18\n');
    // ext4: label and the seed, dumped back with debugfs and loaded.
    const part = join(tmp, 'writable.img');
    await extractPartition(img, 12288, 32768, part);
    assert.match(sh('debugfs', ['-R', 'stats', part]), /Filesystem volume name:\s+writable/);
    const back = join(tmp, 'back');
    sh('mkdir', [back]);
    sh('debugfs', ['-R', `rdump /system-data/var/lib/snapd/seed ${back}`, part]);
    const loaded = await loadSeed16(join(back, 'seed'), world.trusted);
    assert.deepEqual(loaded.snaps.map((s) => s.name), ['snapd', 'pc-kernel', 'core18', 'pc', 'hello18']);
    await snapdAccepts(join(back, 'seed'));
  });
});

test('core20 disk image: ubuntu-seed vfat holds the seed, ext4 boot/save/data with implicit labels', { skip }, async () => {
  await withTemp(async (tmp) => {
    // The image may sit inside --out: it is published with the seed.
    const img = join(tmp, 'out', 'disk.img');
    const res = await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW, label: 'l20' });
    assert.deepEqual(await readdir(tmp), ['out']);
    assert.deepEqual((await readdir(join(tmp, 'out'))).sort(), ['disk.img', 'system-seed']);
    assert.deepEqual(res.image!.partitions.map((p) => [p.name, p.role, p.label, p.filesystem]), [
      ['ubuntu-seed', 'system-seed', 'ubuntu-seed', 'vfat'],
      ['ubuntu-boot', 'system-boot', 'ubuntu-boot', 'ext4'],
      ['ubuntu-save', 'system-save', 'ubuntu-save', 'ext4'],
      ['ubuntu-data', 'system-data', 'ubuntu-data', 'ext4'],
    ]);
    const d = sfdiskDump(img);
    // ubuntu-data is declared 4 MiB; as ubuntu-image does, it is grown to hold the rootfs (on core 20+ the seed).
    const dataSectors = rootfsSize(await diskUsage(join(tmp, 'out/system-seed'))) / 512;
    assert.ok(dataSectors > 8192);
    assert.deepEqual(d.parts.map((p) => [p.start, p.size, p.name]), [
      [4096, 24576, 'ubuntu-seed'],
      [28672, 8192, 'ubuntu-boot'],
      [36864, 4096, 'ubuntu-save'],
      [40960, dataSectors, 'ubuntu-data'],
    ]);
    const back = join(tmp, 'back');
    sh('mkdir', [back]);
    sh('mcopy', ['-s', '-n', '-i', `${img}@@${4096 * 512}`, '::/snaps', '::/systems', back]);
    const loaded = await loadSeed20(back, 'l20', world.trusted);
    assert.equal(loaded.snaps.length, 5);
    await snapdAccepts(back, 'l20');
    assert.equal(sh('mcopy', ['-i', `${img}@@${4096 * 512}`, '::/EFI/boot/grubx64.efi', '-']), 'GRUB-EFI-20\n');
    const data = join(tmp, 'data.img');
    await extractPartition(img, 40960, dataSectors, data);
    assert.match(sh('debugfs', ['-R', 'stats', data]), /Filesystem volume name:\s+ubuntu-data/);
    // ubuntu-boot: the kernel's dtbs asset, through the gadget's `$kernel:dtbs/dtbs/`.
    const boot = join(tmp, 'boot.img');
    await extractPartition(img, 28672, 8192, boot);
    assert.equal(sh('debugfs', ['-R', 'cat /dtbs/board.dtb', boot]), 'DTB-BOARD\n');
    assert.equal(sh('debugfs', ['-R', 'cat /dtbs/overlays/extra.dtbo', boot]), 'DTBO-EXTRA\n');
  });
});

test('--image with tools missing fails before anything is fetched, naming each missing one', async () => {
  await withTemp(async (tmp) => {
    // A folder holding a stand-in sfdisk, searched first: the outcome depends on no tool installed here.
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'sfdisk'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    world.store.requests.length = 0;
    await assert.rejects(
      buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: join(tmp, 'x.img'), trusted: world.trusted, now: NOW, diskTools: ['no-such-mkfs', 'sfdisk', 'no-such-mcopy'], toolDirs: [bin] }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'image-tools-missing');
        assert.match(err.message, /^building a disk image needs no-such-mkfs, no-such-mcopy: install them /);
        return true;
      },
    );
    assert.equal(world.store.requests.length, 0);
    assert.deepEqual(await readdir(tmp), ['bin']);
  });
});

test('a gadget with two volumes: the seed volume in FILE.img, the other in FILE.<volume>.img', { skip }, async () => {
  const { FakeStore } = await import('./fake-store.ts');
  const { declaration, revision, packBytes, UC16_GADGET_YAML, STORE_ID } = await import('./world.ts');
  await withTemp(async (tmp) => {
    const yaml = `${UC16_GADGET_YAML}  firmware:\n    schema: mbr\n    structure:\n      - name: fw\n        type: "0C"\n        filesystem: vfat\n        filesystem-label: firmware\n        size: 2M\n        content:\n          - source: grubx64.efi\n            target: fw.bin\n`;
    const bytes = await packBytes(join(tmp, 'src'), 'pc2', 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', {
      'meta/gadget.yaml': yaml,
      'pc-boot.img': Buffer.alloc(440, 0xeb),
      'pc-core.img': Buffer.alloc(8192, 0x5a),
      'grubx64.efi': 'FIRMWARE\n',
    });
    const snaps = world.store.snaps.map((s) => (s.name === 'pc' ? { ...s, bytes, revision: 77 } : s));
    const store = new FakeStore(STORE_ID, snaps, []);
    for (const a of world.store['assertions'].values()) store.addAssertion(a);
    store.addAssertion(declaration('pc'));
    store.addAssertion(revision(bytes, snaps.find((s) => s.name === 'pc')!.snapId, 77));
    await store.start();
    try {
      const img = join(tmp, 'img', 'disk.img');
      const res = await buildImage({ model: core18Model().encode(), storeUrl: store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW });
      assert.equal(res.image!.otherVolumes![0]!.path, join(tmp, 'img', 'disk.firmware.img'));
      assert.deepEqual((await readdir(join(tmp, 'img'))).sort(), ['disk.firmware.img', 'disk.img']);
      const d = sfdiskDump(join(tmp, 'img', 'disk.firmware.img'));
      assert.equal(d.label, 'dos');
      assert.deepEqual(d.parts.map((p) => [p.start, p.size, p.type]), [[2048, 4096, 'c']]);
      assert.equal(sh('mcopy', ['-i', `${join(tmp, 'img', 'disk.firmware.img')}@@${2048 * 512}`, '::/fw.bin', '-']), 'FIRMWARE\n');
    } finally {
      await store.close();
    }
  });
});

test("core18 gadget without system-data (like Canonical's pc): the implicit writable partition and the boot files, as ubuntu-image places them", { skip }, async () => {
  await withTemp(async (tmp) => {
    // The world's core18 gadget, its writable structure left out, and a grub.conf of its own.
    const yaml = UC16_GADGET_YAML.slice(0, UC16_GADGET_YAML.indexOf('      - name: writable'));
    const gadget = join(tmp, 'pc.snap');
    await writeFile(gadget, await packBytes(tmp, 'pc-implicit', 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', { 'meta/gadget.yaml': yaml, 'pc-boot.img': Buffer.alloc(440, 0xeb), 'pc-core.img': Buffer.alloc(8192, 0x5a), 'grubx64.efi': 'GRUB-EFI-18\n', 'grub.conf': 'set timeout=0\n' }));
    const img = join(tmp, 'disk.img');
    const res = await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW, localSnaps: new Map([['pc', gadget]]) });
    // ubuntu-image: right after the farthest structure (system-boot ends at 2M + 4M), ext4, "writable",
    // content × 1.5 + 8 MiB where the content is image/ without boot/, plus system-data/ and system-data/boot/.
    const content = (await diskUsage(join(tmp, 'out/image'))) - (await diskUsage(join(tmp, 'out/image/boot'))) + 2 * 4096;
    const w = res.image!.partitions.find((p) => p.role === 'system-data')!;
    assert.deepEqual([w.label, w.filesystem, w.start], ['writable', 'ext4', 6 * 1024 * 1024]);
    const d = sfdiskDump(img);
    assert.deepEqual(d.parts.at(-1), { start: 12288, size: rootfsSize(content) / 512, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', name: 'writable' });
    // system-boot holds the gadget's content and, in EFI/ubuntu, the image's boot/grub (grubenv, the gadget's grub.conf as grub.cfg).
    const espAt = `${img}@@${4096 * 512}`;
    assert.equal(sh('mcopy', ['-i', espAt, '::/EFI/ubuntu/grub.cfg', '-']), 'set timeout=0\n');
    assert.match(sh('mcopy', ['-i', espAt, '::/EFI/ubuntu/grubenv', '-']), /snap_kernel=pc-kernel_13\.snap\n/);
    // writable: system-data/ holds the image but boot/, and the first boot's kernel and base links.
    const part = join(tmp, 'writable.img');
    await extractPartition(img, 12288, rootfsSize(content) / 512, part);
    const ls = (p: string) => sh('debugfs', ['-R', `ls -p ${p}`, part]);
    assert.match(ls('/system-data'), /\/boot\//);
    assert.doesNotMatch(ls('/system-data/boot'), /grub/);
    assert.match(sh('debugfs', ['-R', 'stat /system-data/var/lib/snapd/snaps/pc-kernel_13.snap', part]), /Fast link dest: "..\/seed\/snaps\/pc-kernel_13.snap"/);
    const back = join(tmp, 'back');
    await mkdir(back);
    sh('debugfs', ['-R', `rdump /system-data/var/lib/snapd/seed ${back}`, part]);
    assert.ok((await loadSeed16(join(back, 'seed'), world.trusted)).snaps.some((x) => x.name === 'pc'));
  });
});

test('lk (core18) disk image: the environment partition holds the filled-in snapbootsel.bin, boot_a the kernel boot image', { skip }, async () => {
  const { LkEnv } = await import('../../src/image/lk-env.ts');
  await withTemp(async (tmp) => {
    const yaml = LK18_GADGET_YAML;
    const env = LkEnv.create('v1', ['boot_a', 'boot_b']).toBuffer();
    const g = join(tmp, 'pc.snap');
    await writeFile(g, await packBytes(join(tmp, 'src-g'), 'g', 'name: pc\nversion: "18"\ntype: gadget\nbase: core18\n', { 'meta/gadget.yaml': yaml, 'lk.conf': env, 'snapbootsel.bin': env, 'boot.img': 'PLACEHOLDER\n' }));
    const k = join(tmp, 'pc-kernel.snap');
    await writeFile(k, await packBytes(join(tmp, 'src-k'), 'k', 'name: pc-kernel\nversion: "4.4"\ntype: kernel\n', { 'boot.img': 'ANDROID!BOOT\n' }));
    const img = join(tmp, 'lk.img');
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), image: img, trusted: world.trusted, now: NOW, localSnaps: new Map([['pc', g], ['pc-kernel', k]]) });
    const d = sfdiskDump(img);
    const part = (name: string) => d.parts.find((p) => p.name === name)!;
    const bytes = await readFile(img);
    const sel = bytes.subarray(part('snapbootsel').start * 512, part('snapbootsel').start * 512 + 131072);
    const written = LkEnv.parse(sel, 'v1', 'the snapbootsel partition');
    assert.deepEqual([written.get('snap_kernel'), written.rows()[0]], ['pc-kernel_x1.snap', ['boot_a', 'pc-kernel_x1.snap']]);
    assert.deepEqual(sel, await readFile(join(tmp, 'out/image/boot/lk/snapbootsel.bin')).then((b) => Buffer.concat([b, Buffer.alloc(131072 - b.length)])));
    assert.equal(bytes.subarray(part('boot_a').start * 512, part('boot_a').start * 512 + 13).toString(), 'ANDROID!BOOT\n');
  });
});
