// Squashfs 4.0 on-disk layout: constants, the superblock, and inode/directory
// record sizes. The layout follows the Linux kernel's fs/squashfs/squashfs_fs.h;
// everything is little-endian.
//
// Image layout as mksquashfs writes it (and as our writer does):
//   superblock (96 bytes) · [compressor options, one metadata block] ·
//   data blocks and fragment blocks · inode table · directory table ·
//   fragment table · export (lookup) table · id table · [xattr table] ·
//   zero padding to a multiple of 4096 (not counted in bytes_used).
// Tables are sequences of "metadata blocks": a u16 header (bit 15 set = stored
// uncompressed, low 15 bits = stored size) followed by at most 8192 bytes once
// decompressed. An inode or directory position is a reference
// (block start relative to the table start) << 16 | (offset in the block).
// The fragment, export and id tables are a u64 array of metadata block
// positions ("index") pointed to by the superblock, after their blocks.
import { SquashfsCorruptError, SquashfsUnsupportedError } from '../errors.ts';

export const SQUASHFS_MAGIC = 0x73717368; // "hsqs"
export const SUPERBLOCK_SIZE = 96;
export const METADATA_SIZE = 8192;
export const INVALID_BLOCK = 0xffffffffffffffffn;
export const INVALID_FRAGMENT = 0xffffffff;
/** Bit set in a data block or fragment size when the block is stored uncompressed. */
export const DATA_UNCOMPRESSED = 1 << 24;
/** Bit set in a metadata block header when the block is stored uncompressed. */
export const METADATA_UNCOMPRESSED = 0x8000;
export const MIN_BLOCK_LOG = 12;
export const MAX_BLOCK_LOG = 20;
/** Images are padded to a multiple of this (mksquashfs and snap pack default). */
export const PAD_SIZE = 4096;

/** Compressor ids (superblock `compression`). */
export const Compression = {
  gzip: 1,
  lzma: 2,
  lzo: 3,
  xz: 4,
  lz4: 5,
  zstd: 6,
} as const;
export type CompressionName = keyof typeof Compression;

/** Name of a compressor id, for messages ("unknown-7" for ids we don't know). */
export function compressionName(id: number): string {
  for (const [name, value] of Object.entries(Compression)) if (value === id) return name;
  return `unknown-${id}`;
}

/** Superblock flags. */
export const Flags = {
  NOI: 0x0001, // inodes stored uncompressed
  NOD: 0x0002, // data stored uncompressed
  CHECK: 0x0004,
  NOF: 0x0008, // fragments stored uncompressed
  NO_FRAG: 0x0010, // no fragments
  ALWAYS_FRAG: 0x0020,
  DUPLICATES: 0x0040, // duplicate files were removed
  EXPORT: 0x0080, // export (NFS) table present
  NOX: 0x0100, // xattrs stored uncompressed
  NO_XATTR: 0x0200, // no xattrs
  COMP_OPT: 0x0400, // compressor options follow the superblock
  NOID: 0x0800, // id table stored uncompressed
} as const;

/** Inode types. Extended ("L") types carry 32/64-bit sizes, xattr indexes and directory indexes. */
export const InodeType = {
  DIR: 1,
  REG: 2,
  SYMLINK: 3,
  BLKDEV: 4,
  CHRDEV: 5,
  FIFO: 6,
  SOCKET: 7,
  LDIR: 8,
  LREG: 9,
  LSYMLINK: 10,
  LBLKDEV: 11,
  LCHRDEV: 12,
  LFIFO: 13,
  LSOCKET: 14,
} as const;

/** The decoded superblock. 64-bit positions are plain numbers (checked to be safe integers). */
export interface Superblock {
  readonly inodes: number;
  readonly mkfsTime: number;
  readonly blockSize: number;
  readonly fragments: number;
  readonly compression: number;
  readonly blockLog: number;
  readonly flags: number;
  readonly noIds: number;
  readonly rootInode: bigint;
  readonly bytesUsed: number;
  readonly idTableStart: number;
  /** Position of the xattr id table, or undefined when the image has none. */
  readonly xattrIdTableStart: number | undefined;
  readonly inodeTableStart: number;
  readonly directoryTableStart: number;
  /** Position of the fragment index, or undefined when the image has no fragment table. */
  readonly fragmentTableStart: number | undefined;
  /** Position of the export index, or undefined when the image is not exportable. */
  readonly lookupTableStart: number | undefined;
}

function position(buf: Buffer, at: number, what: string, sourceSize: number, optional: true): number | undefined;
function position(buf: Buffer, at: number, what: string, sourceSize: number, optional: false): number;
function position(buf: Buffer, at: number, what: string, sourceSize: number, optional: boolean): number | undefined {
  const v = buf.readBigUInt64LE(at);
  if (v === INVALID_BLOCK && optional) return undefined;
  if (v > BigInt(sourceSize)) throw new SquashfsCorruptError(`superblock ${what} ${v} is beyond the end of the image (${sourceSize} bytes)`);
  return Number(v);
}

/**
 * Decodes and checks a superblock read from the first 96 bytes of an image of
 * `sourceSize` bytes: magic, version, block size, and that every table
 * position lies inside the image and in the order mksquashfs writes them.
 */
export function decodeSuperblock(buf: Buffer, sourceSize: number): Superblock {
  if (buf.length < SUPERBLOCK_SIZE) throw new SquashfsCorruptError('image is shorter than a squashfs superblock');
  const magic = buf.readUInt32LE(0);
  if (magic !== SQUASHFS_MAGIC) throw new SquashfsCorruptError('bad squashfs magic: not a squashfs image');
  const major = buf.readUInt16LE(28);
  const minor = buf.readUInt16LE(30);
  if (major !== 4 || minor !== 0) throw new SquashfsUnsupportedError(`squashfs version ${major}.${minor} is not supported (only 4.0)`);
  const blockSize = buf.readUInt32LE(12);
  const blockLog = buf.readUInt16LE(22);
  if (blockLog < MIN_BLOCK_LOG || blockLog > MAX_BLOCK_LOG || blockSize !== 2 ** blockLog) {
    throw new SquashfsCorruptError(`bad block size ${blockSize} (block log ${blockLog})`);
  }
  const bytesUsed = position(buf, 40, 'bytes used', sourceSize, false);
  if (bytesUsed < SUPERBLOCK_SIZE) throw new SquashfsCorruptError(`superblock bytes used ${bytesUsed} is too small`);
  const sb: Superblock = {
    inodes: buf.readUInt32LE(4),
    mkfsTime: buf.readUInt32LE(8),
    blockSize,
    fragments: buf.readUInt32LE(16),
    compression: buf.readUInt16LE(20),
    blockLog,
    flags: buf.readUInt16LE(24),
    noIds: buf.readUInt16LE(26),
    rootInode: buf.readBigUInt64LE(32),
    bytesUsed,
    idTableStart: position(buf, 48, 'id table start', bytesUsed, false),
    xattrIdTableStart: position(buf, 56, 'xattr table start', bytesUsed, true),
    inodeTableStart: position(buf, 64, 'inode table start', bytesUsed, false),
    directoryTableStart: position(buf, 72, 'directory table start', bytesUsed, false),
    fragmentTableStart: position(buf, 80, 'fragment table start', bytesUsed, true),
    lookupTableStart: position(buf, 88, 'lookup table start', bytesUsed, true),
  };
  if (sb.inodeTableStart < SUPERBLOCK_SIZE || sb.directoryTableStart <= sb.inodeTableStart) {
    throw new SquashfsCorruptError('inode and directory tables are out of order');
  }
  if (sb.idTableStart < sb.directoryTableStart) throw new SquashfsCorruptError('id table starts before the directory table');
  if (sb.noIds === 0) throw new SquashfsCorruptError('image has no uid/gid ids');
  if (sb.inodes === 0) throw new SquashfsCorruptError('image has no inodes');
  return sb;
}

/** Encodes a superblock (the writer's counterpart of decodeSuperblock). */
export function encodeSuperblock(sb: Superblock): Buffer {
  const buf = Buffer.alloc(SUPERBLOCK_SIZE);
  const pos = (v: number | undefined): bigint => (v === undefined ? INVALID_BLOCK : BigInt(v));
  buf.writeUInt32LE(SQUASHFS_MAGIC, 0);
  buf.writeUInt32LE(sb.inodes, 4);
  buf.writeUInt32LE(sb.mkfsTime, 8);
  buf.writeUInt32LE(sb.blockSize, 12);
  buf.writeUInt32LE(sb.fragments, 16);
  buf.writeUInt16LE(sb.compression, 20);
  buf.writeUInt16LE(sb.blockLog, 22);
  buf.writeUInt16LE(sb.flags, 24);
  buf.writeUInt16LE(sb.noIds, 26);
  buf.writeUInt16LE(4, 28);
  buf.writeUInt16LE(0, 30);
  buf.writeBigUInt64LE(sb.rootInode, 32);
  buf.writeBigUInt64LE(BigInt(sb.bytesUsed), 40);
  buf.writeBigUInt64LE(BigInt(sb.idTableStart), 48);
  buf.writeBigUInt64LE(pos(sb.xattrIdTableStart), 56);
  buf.writeBigUInt64LE(BigInt(sb.inodeTableStart), 64);
  buf.writeBigUInt64LE(BigInt(sb.directoryTableStart), 72);
  buf.writeBigUInt64LE(pos(sb.fragmentTableStart), 80);
  buf.writeBigUInt64LE(pos(sb.lookupTableStart), 88);
  return buf;
}

/** Splits an inode or directory reference into (block start relative to its table, offset in block). */
export function splitRef(ref: bigint): { block: number; offset: number } {
  return { block: Number((ref >> 16n) & 0xffffffffn), offset: Number(ref & 0xffffn) };
}

/** Builds an inode reference from a block start (relative to the inode table) and an offset. */
export function makeRef(block: number, offset: number): bigint {
  return (BigInt(block) << 16n) | BigInt(offset);
}
