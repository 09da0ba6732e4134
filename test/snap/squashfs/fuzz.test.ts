// Fuzzing the reader with fast-check mutations of real images: every outcome
// is a successful read or a typed SnapError; never another exception, a hang
// or runaway memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { SquashfsReader } from '../../../src/snap/squashfs/reader.ts';
import { BufferSource } from '../../../src/snap/squashfs/source.ts';
import { SnapError } from '../../../src/snap/errors.ts';
import { decodeSuperblock } from '../../../src/snap/squashfs/format.ts';
import { bytes, dir, file, image, symlink } from '../helpers.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const RUNS = Number(process.env['SNAP_FUZZ_RUNS'] ?? 150);

/** Reads everything an image offers, as a store would: metadata, listing, every file, every link. */
async function exercise(img: Buffer): Promise<void> {
  let r: SquashfsReader;
  try {
    r = await SquashfsReader.open(new BufferSource(img), { maxReadFileSize: 8 << 20 });
  } catch (err) {
    if (err instanceof SnapError) return;
    throw err;
  }
  const tryIt = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof SnapError)) throw err;
    }
  };
  await tryIt(() => r.readFile('meta/snap.yaml'));
  await tryIt(() => r.list('meta/hooks'));
  await tryIt(async () => {
    let n = 0;
    for await (const e of r.walk()) {
      if (++n > 5000) break;
      if (e.stat.type === 'file') await tryIt(() => r.readFile(e.path));
      if (e.stat.type === 'symlink') await tryIt(() => r.readFile(e.path));
      if (e.stat.type === 'directory') await tryIt(() => r.list(e.path));
    }
  });
}

async function withDeadline(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`reader did not finish within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function bases(): Promise<[string, Buffer][]> {
  const ours = await image(
    dir({
      meta: dir({ 'snap.yaml': file('name: x\nversion: 1\n'), hooks: dir({ install: file('#!/bin/sh\n', 0o755) }) }),
      bin: dir({ a: symlink('../meta/snap.yaml'), b: file(bytes(300_000, 2, true)) }),
      ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, file(`file ${i}`)])),
    }),
  );
  const out: [string, Buffer][] = [['ours-xz', ours]];
  for (const n of ['raw-4k', 'xz-frag', 'gzip-frag', 'zstd-frag', 'xattr']) out.push([n, readFileSync(new URL(`${n}.sqfs`, FIXTURES))]);
  return out;
}

/** Positions worth mutating: the superblock and the metadata tables (data blocks are opaque). */
function hotRange(img: Buffer): [number, number] {
  const sb = decodeSuperblock(img, img.length);
  return [sb.inodeTableStart, sb.bytesUsed];
}

const INTERESTING = [0, 1, 2, 3, 0x7f, 0x80, 0xff, 0xfe];
const INTERESTING32 = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x10000, 0xffff, 8192, 8193, 131072];

test('fuzz: byte mutations of superblock and tables give typed errors only', async () => {
  for (const [name, base] of await bases()) {
    const [lo, hi] = hotRange(base);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            where: fc.oneof(fc.integer({ min: 0, max: 95 }), fc.integer({ min: lo, max: hi - 1 }), fc.integer({ min: 0, max: base.length - 1 })),
            value: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (muts) => {
          const img = Buffer.from(base);
          for (const m of muts) img[m.where] = m.value;
          await withDeadline(exercise(img), 10_000);
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(name);
  }
});

test('fuzz: 32-bit field overwrites in tables give typed errors only', async () => {
  for (const [, base] of await bases()) {
    const [lo, hi] = hotRange(base);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ where: fc.integer({ min: lo, max: hi - 4 }), value: fc.constantFrom(...INTERESTING32) }), { minLength: 1, maxLength: 3 }),
        async (muts) => {
          const img = Buffer.from(base);
          for (const m of muts) img.writeUInt32LE(m.value >>> 0, m.where);
          await withDeadline(exercise(img), 10_000);
        },
      ),
      { numRuns: RUNS },
    );
  }
});

test('fuzz: superblock field overwrites and truncations give typed errors only', async () => {
  for (const [, base] of await bases()) {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 23 }),
        fc.constantFrom(...INTERESTING32),
        fc.integer({ min: 0, max: base.length }),
        async (field, value, cut) => {
          const img = Buffer.from(base);
          img.writeUInt32LE(value >>> 0, field * 4);
          await withDeadline(exercise(img), 10_000);
          await withDeadline(exercise(base.subarray(0, cut)), 10_000);
        },
      ),
      { numRuns: RUNS },
    );
  }
});

test('fuzz: memory stays bounded', async () => {
  const before = process.memoryUsage().rss;
  const [, base] = (await bases())[1]!;
  for (let i = 0; i < 200; i++) {
    const img = Buffer.from(base);
    img.writeUInt32LE(0xffffffff, 96 + ((i * 37) % (img.length - 100)));
    await exercise(img);
  }
  assert.ok(process.memoryUsage().rss - before < 512 << 20);
});
