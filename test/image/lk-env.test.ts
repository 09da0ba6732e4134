// The lk boot environment (lk-env.ts): its structure as snapd's lkenv reads
// and writes it (sizes, checks on reading, strings written as copyString
// writes them, the boot image partition matrix), and the lk boot files
// (lk-boot.ts) refusing a gadget or kernel they cannot use. That snapd reads
// what it writes and writes the same bytes is checked against snapd itself
// in test/interop/prepare-image-lk.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImageError } from '../../src/image/errors.ts';
import { lkBootFiles } from '../../src/image/lk-boot.ts';
import { LkEnv, lkEnvSize } from '../../src/image/lk-env.ts';

const refused = (pattern: RegExp) => (err: unknown) => err instanceof ImageError && pattern.test(err.message);

test('sizes, signature, version and checksum, as snapd checks them on reading', () => {
  // 2 u32, 256-byte fields (v1: 58, v2 recovery: 63), a u32 checksum.
  assert.equal(lkEnvSize('v1'), 14860);
  assert.equal(lkEnvSize('v2-recovery'), 16140);
  const v1 = LkEnv.create('v1', ['boot_a', 'boot_b']).toBuffer();
  assert.equal(v1.readUInt32LE(0), 0x65734253); // "SBse"
  assert.equal(v1.readUInt32LE(4), 0x00010001);
  assert.equal(LkEnv.create('v2-recovery', ['boot_ra']).toBuffer().readUInt32LE(0), 0x65735253); // "SRse"
  assert.throws(() => LkEnv.parse(Buffer.concat([v1, Buffer.alloc(2000)]), 'v2-recovery', 'x'), refused(/not an lk v2-recovery environment: version 0x10001, expected 0x10010/));
  assert.throws(() => LkEnv.parse(v1.subarray(0, 100), 'v1', 'x'), refused(/100 bytes, shorter than an lk v1 environment/));
  const flipped = Buffer.from(v1);
  flipped[300]! ^= 1;
  assert.throws(() => LkEnv.parse(flipped, 'v1', 'lk.conf'), refused(/lk.conf: bad checksum/));
  // Bytes after the structure (a padded file) are kept.
  const padded = Buffer.concat([v1, Buffer.from('TAIL')]);
  assert.deepEqual(LkEnv.parse(padded, 'v1', 'x').toBuffer(), padded);
});

test('strings are written as snapd writes them: the bytes and a NUL, the rest of the field left as it was', () => {
  const env = LkEnv.create('v1', ['boot_a', 'boot_b']);
  env.set('snap_kernel', 'pc-kernel_123.snap');
  env.set('snap_kernel', 'k_1.snap');
  const b = env.toBuffer();
  const field = b.subarray(8 + 3 * 256, 8 + 4 * 256);
  assert.equal(field.subarray(0, 18).toString('latin1'), 'k_1.snap\0_123.snap');
  assert.equal(LkEnv.parse(b, 'v1', 'x').get('snap_kernel'), 'k_1.snap');
  // At most 255 bytes and the NUL; unknown variables are ignored.
  env.set('snap_core', 'c'.repeat(300));
  assert.equal(env.get('snap_core'), 'c'.repeat(255));
  env.set('snap_menuentry', 'ignored');
  assert.equal(env.get('snap_menuentry'), '');
});

test('the boot image partition matrix: the first free partition, the one already holding the value', () => {
  const env = LkEnv.create('v1', ['boot_a', 'boot_b']);
  assert.equal(env.freePartition([], 'k_1.snap'), 'boot_a');
  env.setPartitionValue('boot_a', 'k_1.snap');
  assert.equal(env.freePartition(['k_1.snap'], 'k_2.snap'), 'boot_b');
  assert.equal(env.freePartition(['k_1.snap'], 'k_1.snap'), 'boot_a');
  env.setPartitionValue('boot_b', 'k_2.snap');
  assert.throws(() => env.freePartition(['k_1.snap', 'k_2.snap'], 'k_3.snap'), refused(/no free boot image partition/));
  assert.throws(() => env.setPartitionValue('boot_c', 'x'), refused(/no boot image partition boot_c/));
  assert.throws(() => LkEnv.create('v1', ['a', 'b', 'c']), refused(/1 to 2 boot image partitions/));
});

test('lk boot files refuse a gadget without lk.conf, a broken lk.conf and a kernel without its boot image', async () => {
  const reader = { readFile: async () => Promise.reject(new (await import('../../src/snap/index.ts')).SquashfsPathError('boot.img', 'no such file')) } as never;
  const kernel = { name: 'pc-kernel', file: 'pc-kernel_1.snap', reader };
  await assert.rejects(lkBootFiles({ uc20: false, label: '', gadgetConf: undefined, kernel }, 'image/var/lib/snapd/seed'), refused(/must carry lk.conf/));
  await assert.rejects(lkBootFiles({ uc20: false, label: '', gadgetConf: Buffer.from('not an environment'), kernel }, 'image/var/lib/snapd/seed'), refused(/lk.conf: .* shorter than an lk v1 environment/));
  const conf = LkEnv.create('v1', ['boot_a', 'boot_b']).toBuffer();
  await assert.rejects(lkBootFiles({ uc20: false, label: '', gadgetConf: conf, kernel }, 'image/var/lib/snapd/seed'), refused(/kernel pc-kernel has no boot.img/));
});
