// Block codecs: round trips, bounded output (decompression bombs are refused
// before inflating), the xz header rewrite the kernel needs, and typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { xzSync, check } from 'node-liblzma';
import { decoderFor, gzipEncoder, xzEncoder } from '../../../src/snap/squashfs/compression.ts';
import { dictSizeProp, inspectXz, setDictSize } from '../../../src/snap/squashfs/xz-stream.ts';
import { Compression } from '../../../src/snap/squashfs/format.ts';
import { SquashfsCorruptError, SquashfsUnsupportedCompressionError } from '../../../src/snap/errors.ts';
import { bytes } from '../helpers.ts';

const block = bytes(131072, 9, true);

test('xz and gzip encoders round trip through the decoders', async () => {
  for (const [enc, id] of [
    [xzEncoder({ blockSize: 131072 }), Compression.xz],
    [gzipEncoder(), Compression.gzip],
  ] as const) {
    const c = await enc.compress(block);
    assert.ok(c.length < block.length / 2, `${enc.name} compresses`);
    const d = await decoderFor(id).decompress(c, 131072, 131072);
    assert.ok(d.equals(block));
  }
});

test('xz streams declare the image block size as dictionary, with a valid header checksum', async () => {
  const c = await xzEncoder({ blockSize: 131072 }).compress(block);
  const layout = inspectXz(c, 131072);
  assert.equal(c[layout.dictPropOffset], dictSizeProp(131072));
  assert.equal(dictSizeProp(4096), 0);
  assert.equal(dictSizeProp(1 << 20), 16);
  assert.equal(layout.uncompressedSize, 131072);
  // liblzma's own decoder accepts the rewritten header.
  const { unxzSync } = await import('node-liblzma');
  assert.ok(unxzSync(c).equals(block));
});

test('decompression bombs are refused without inflating', async () => {
  const zeros = Buffer.alloc(16 << 20);
  const xzBomb = xzSync(zeros, { preset: 0, check: check.CRC32 });
  assert.ok(xzBomb.length < 64 * 1024);
  await assert.rejects(decoderFor(Compression.xz).decompress(xzBomb, 131072), (e: unknown) => e instanceof SquashfsCorruptError && /more than/.test(e.message));
  const gzBomb = deflateSync(zeros);
  await assert.rejects(decoderFor(Compression.gzip).decompress(gzBomb, 131072), SquashfsCorruptError);
  // Right size declared but wrong for the slot.
  const small = xzSync(Buffer.alloc(1000, 1), { check: check.CRC32 });
  await assert.rejects(decoderFor(Compression.xz).decompress(small, 131072, 2000), /declares 1000 bytes, expected 2000/);
});

test('corrupt xz, gzip and zstd blocks give typed errors', async () => {
  const c = Buffer.from(xzSync(block, { check: check.CRC32 }));
  const mid = c.length >> 1;
  c[mid] = c[mid]! ^ 0x55;
  await assert.rejects(decoderFor(Compression.xz).decompress(c, 131072), SquashfsCorruptError);
  await assert.rejects(decoderFor(Compression.gzip).decompress(Buffer.from('not zlib'), 131072), SquashfsCorruptError);
  await assert.rejects(decoderFor(Compression.zstd).decompress(Buffer.from('not zstd'), 131072), SquashfsCorruptError);
  await assert.rejects(decoderFor(Compression.xz).decompress(Buffer.alloc(40), 131072), /bad stream header/);
});

test('xz with a bcj filter is refused as unsupported compression', () => {
  const x86 = xzSync(block, { check: check.CRC32, filters: [4, 0x21] } as never);
  assert.throws(() => inspectXz(x86, 131072), (e: unknown) => e instanceof SquashfsUnsupportedCompressionError && /x86/.test(e.message));
});

test('unsupported and unknown compressors', () => {
  for (const id of [Compression.lzo, Compression.lz4, Compression.lzma]) {
    assert.throws(() => decoderFor(id), (e: unknown) => e instanceof SquashfsUnsupportedCompressionError && e.code === 'squashfs-unsupported-compression');
  }
  assert.throws(() => decoderFor(42), /unknown squashfs compression id 42/);
  assert.throws(() => setDictSize(Buffer.alloc(10), 131072, 10), SquashfsCorruptError);
});

test('xz streams must hold exactly one block and nothing after the footer', () => {
  const s = xzSync(Buffer.alloc(5000, 7), { check: check.CRC32 });
  assert.equal(inspectXz(s, 131072).uncompressedSize, 5000);
  const indexStart = s.length - 12 - (s.readUInt32LE(s.length - 8) + 1) * 4;
  const block = s.subarray(12, indexStart);
  const twoBlocks = Buffer.concat([s.subarray(0, 12), block, block, s.subarray(indexStart)]);
  assert.throws(() => inspectXz(twoBlocks, 131072), /more than one block/);
  assert.throws(() => inspectXz(Buffer.concat([s, s]), 131072), /trailing data/);
  assert.throws(() => inspectXz(Buffer.concat([s, Buffer.alloc(4)]), 131072), /bad stream footer|trailing data/);
});

test('zstd blocks are exactly one frame declaring its size', async () => {
  // Magic, single-segment header with a 1-byte content size, one last raw block.
  const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 0x29, 0, 0]), Buffer.from('hello')]);
  const zstd = decoderFor(Compression.zstd);
  assert.equal((await zstd.decompress(frame, 131072, 5)).toString(), 'hello');
  await assert.rejects(zstd.decompress(Buffer.concat([frame, frame]), 131072), /data after the frame/);
  await assert.rejects(zstd.decompress(frame, 4), /declares 5 bytes, more than 4/);
  await assert.rejects(zstd.decompress(frame.subarray(0, 12), 131072), /truncated frame/);
});
