import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSuperblock, encodeSuperblock, makeRef, splitRef, type Superblock } from '../../../src/snap/squashfs/format.ts';
import { SquashfsCorruptError, SquashfsUnsupportedError } from '../../../src/snap/errors.ts';

const sb: Superblock = {
  inodes: 5,
  mkfsTime: 1700000000,
  blockSize: 131072,
  fragments: 0,
  compression: 4,
  blockLog: 17,
  flags: 0x290,
  noIds: 1,
  rootInode: makeRef(0, 0x8d),
  bytesUsed: 412,
  idTableStart: 404,
  xattrIdTableStart: undefined,
  inodeTableStart: 104,
  directoryTableStart: 258,
  fragmentTableStart: 348,
  lookupTableStart: 390,
};

test('superblock encodes and decodes', () => {
  const buf = encodeSuperblock(sb);
  assert.equal(buf.length, 96);
  assert.equal(buf.subarray(0, 4).toString('latin1'), 'hsqs');
  assert.deepEqual(decodeSuperblock(buf, 4096), sb);
  assert.deepEqual(splitRef(makeRef(1234, 567)), { block: 1234, offset: 567 });
});

test('bad superblocks give typed errors naming the problem', () => {
  const cases: [(b: Buffer) => void, RegExp, typeof SquashfsCorruptError | typeof SquashfsUnsupportedError][] = [
    [(b) => b.write('hsqt', 0, 'latin1'), /bad squashfs magic/, SquashfsCorruptError],
    [(b) => b.writeUInt16LE(3, 28), /version 3\.0 is not supported/, SquashfsUnsupportedError],
    [(b) => b.writeUInt32LE(100000, 12), /bad block size/, SquashfsCorruptError],
    [(b) => b.writeBigUInt64LE(99999n, 40), /beyond the end of the image/, SquashfsCorruptError],
    [(b) => b.writeBigUInt64LE(50n, 64), /out of order/, SquashfsCorruptError],
    [(b) => b.writeUInt16LE(0, 26), /no uid\/gid ids/, SquashfsCorruptError],
  ];
  for (const [mutate, re, cls] of cases) {
    const b = encodeSuperblock(sb);
    mutate(b);
    assert.throws(() => decodeSuperblock(b, 4096), (e: unknown) => e instanceof cls && re.test((e as Error).message));
  }
  assert.throws(() => decodeSuperblock(Buffer.alloc(10), 10), /shorter than a squashfs superblock/);
});
