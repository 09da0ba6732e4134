// A squashfs 4.0 writer: a tree description in, an image out, written to a
// positional sink in one pass (file data streams through; only the metadata
// tables are held in memory, about 100 bytes per entry).
//
// What it writes, matching what `snap pack` asks of mksquashfs
// (`-noappend -comp xz -no-fragments [-all-root -no-xattrs]`):
//   - data blocks of blockSize (128 KiB), each compressed on its own and stored
//     uncompressed when compression does not shrink it; all-zero blocks are
//     stored as sparse (size 0), as mksquashfs does; no fragments, so a file's
//     tail is a short block;
//   - inode table in post-order (children before their directory, the root
//     last), directory table, an export table (mksquashfs writes one unless
//     told -no-exports and snap pack does not say so), id table, no xattrs;
//   - the image padded with zeros to a multiple of 4096.
// The output is a pure function of the tree and options: entries are sorted
// by name bytes, inode numbers are assigned in post-order, and no clock is read
// (the caller passes mkfsTime).
import { SnapPackError } from '../errors.ts';
import { gzipEncoder, xzEncoder, type Encoder } from './compression.ts';
import {
  DATA_UNCOMPRESSED,
  Flags,
  InodeType,
  METADATA_SIZE,
  METADATA_UNCOMPRESSED,
  PAD_SIZE,
  SUPERBLOCK_SIZE,
  encodeSuperblock,
  makeRef,
} from './format.ts';

/** Attributes common to every node of the tree to write. */
export interface WriterAttrs {
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time in seconds since the epoch (0 .. 2^32-1). */
  readonly mtime: number;
}
export interface WriterDirectory extends WriterAttrs {
  readonly type: 'directory';
  /** Children by name; order does not matter (the writer sorts). */
  readonly entries: ReadonlyMap<string, WriterNode>;
}
export interface WriterFile extends WriterAttrs {
  readonly type: 'file';
  /** The exact size `content` yields. */
  readonly size: number;
  /** The file's bytes, in chunks of any size. */
  content(): AsyncIterable<Uint8Array>;
}
export interface WriterSymlink extends WriterAttrs {
  readonly type: 'symlink';
  readonly target: string;
}
export interface WriterSpecial extends WriterAttrs {
  readonly type: 'block-device' | 'char-device' | 'fifo' | 'socket';
  readonly rdev?: { readonly major: number; readonly minor: number };
}
export type WriterNode = WriterDirectory | WriterFile | WriterSymlink | WriterSpecial;

/** Where the image goes: positional writes (sequential, plus the superblock at 0 at the end). */
export interface ImageSink {
  write(buf: Buffer, position: number): Promise<void>;
}

/** Options of writeSquashfs. */
export interface WriteOptions {
  /** Filesystem creation time recorded in the superblock (seconds). */
  readonly mkfsTime: number;
  readonly compression?: 'xz' | 'gzip';
  /** Data block size, a power of two from 4 KiB to 1 MiB; default 128 KiB. */
  readonly blockSize?: number;
  /** liblzma preset for xz (default 0). */
  readonly xzPreset?: number;
  /** Data blocks compressed concurrently (default 8). */
  readonly concurrency?: number;
  /** Write the NFS export table (default true, as mksquashfs). */
  readonly exportTable?: boolean;
}

/** What writeSquashfs produced. */
export interface WriteResult {
  /** Bytes of filesystem (superblock .. end of the last table). */
  readonly bytesUsed: number;
  /** Size of the image written, padded to 4096. */
  readonly size: number;
  readonly inodes: number;
}

/** A sink collecting the image in memory (tests, small images). */
export class BufferSink implements ImageSink {
  private chunks: { pos: number; buf: Buffer }[] = [];
  async write(buf: Buffer, position: number): Promise<void> {
    this.chunks.push({ pos: position, buf: Buffer.from(buf) });
  }
  /** The assembled image. */
  toBuffer(): Buffer {
    const size = Math.max(0, ...this.chunks.map((c) => c.pos + c.buf.length));
    const out = Buffer.alloc(size);
    for (const c of this.chunks) c.buf.copy(out, c.pos);
    return out;
  }
}

/** Accumulates a metadata table: 8 KiB blocks, each compressed as it fills. */
class MetadataWriter {
  private readonly out: Buffer[] = [];
  private outSize = 0;
  private pending: Buffer[] = [];
  private pendingSize = 0;

  constructor(private readonly encoder: Encoder) {}

  /** Position of the next byte: (start of the current block in the table, offset in it). */
  get block(): number {
    return this.outSize;
  }
  get offset(): number {
    return this.pendingSize;
  }

  async write(bytes: Buffer): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      const take = Math.min(bytes.length - at, METADATA_SIZE - this.pendingSize);
      this.pending.push(bytes.subarray(at, at + take));
      this.pendingSize += take;
      at += take;
      if (this.pendingSize === METADATA_SIZE) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.pendingSize === 0) return;
    const raw = Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    const comp = await this.encoder.compress(raw);
    const header = Buffer.alloc(2);
    let body: Buffer;
    if (comp.length < raw.length) {
      header.writeUInt16LE(comp.length, 0);
      body = comp;
    } else {
      header.writeUInt16LE(raw.length | METADATA_UNCOMPRESSED, 0);
      body = raw;
    }
    this.out.push(header, body);
    this.outSize += 2 + body.length;
  }

  /** Flushes the last partial block and returns the table bytes and each block's start. */
  async finish(): Promise<Buffer> {
    await this.flush();
    return Buffer.concat(this.out, this.outSize);
  }
}

interface FileData {
  start: number;
  blocks: number[];
  sparse: number;
}

interface Job {
  file: FileData;
  first: boolean;
  result: Promise<{ entry: number; bytes: Buffer | undefined }>;
}

const NAME_MAX = 256;

function checkName(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  if (b.length === 0 || b.length > NAME_MAX || name === '.' || name === '..' || b.includes(0x2f) || b.includes(0)) {
    throw new SnapPackError(`cannot store file name ${JSON.stringify(name)} in squashfs`);
  }
  return b;
}

function sortedEntries(dir: WriterDirectory): { name: string; bytes: Buffer; node: WriterNode }[] {
  return [...dir.entries]
    .map(([name, node]) => ({ name, bytes: checkName(name), node }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
}

function isZero(buf: Buffer): boolean {
  // Compare 8 bytes at a time where aligned.
  let i = 0;
  if (buf.byteOffset % 8 === 0) {
    const words = new BigUint64Array(buf.buffer, buf.byteOffset, buf.length >>> 3);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0n) return false;
    i = words.length * 8;
  }
  for (; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

function encodeDev(rdev: { major: number; minor: number } | undefined): number {
  if (!rdev) return 0;
  // Linux new_encode_dev.
  return ((rdev.minor & 0xff) | ((rdev.major & 0xfff) << 8) | ((rdev.minor & ~0xff) << 12)) >>> 0;
}

/** Writes `root` as a squashfs 4.0 image to `sink`. */
export async function writeSquashfs(root: WriterDirectory, sink: ImageSink, opts: WriteOptions): Promise<WriteResult> {
  const blockSize = opts.blockSize ?? 131072;
  const blockLog = Math.log2(blockSize);
  if (!Number.isInteger(blockLog) || blockLog < 12 || blockLog > 20) throw new RangeError(`block size ${blockSize} is not a power of two from 4096 to 1048576`);
  const encoder = (opts.compression ?? 'xz') === 'xz' ? xzEncoder({ blockSize, preset: opts.xzPreset ?? 0 }) : gzipEncoder();
  const concurrency = Math.max(1, opts.concurrency ?? 8);
  const exportTable = opts.exportTable ?? true;

  // ---- pass 1: inode numbers (post-order) and ids -------------------------
  const numbers = new Map<WriterNode, number>();
  const ids: number[] = [];
  const idIndex = new Map<number, number>();
  const idOf = (v: number): number => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SnapPackError(`bad uid/gid ${v}`);
    let i = idIndex.get(v);
    if (i === undefined) {
      i = ids.length;
      if (i >= 65536) throw new SnapPackError('more than 65536 distinct uids and gids');
      ids.push(v);
      idIndex.set(v, i);
    }
    return i;
  };
  let count = 0;
  const number = (node: WriterNode, depth: number): void => {
    if (depth > 1024) throw new SnapPackError('directories are nested more than 1024 deep');
    if (numbers.has(node)) throw new SnapPackError('the same node appears twice in the tree');
    if (node.type === 'directory') for (const e of sortedEntries(node)) number(e.node, depth + 1);
    idOf(node.uid);
    idOf(node.gid);
    numbers.set(node, ++count);
  };
  number(root, 0);
  if (count > 0xfffffffe) throw new SnapPackError('too many files');

  // ---- pass 2: file data --------------------------------------------------
  let pos = SUPERBLOCK_SIZE;
  const files = new Map<WriterFile, FileData>();
  const queue: Job[] = [];
  const drainOne = async (): Promise<void> => {
    const job = queue.shift()!;
    const { entry, bytes } = await job.result;
    if (job.first) job.file.start = pos;
    job.file.blocks.push(entry);
    if (bytes) {
      await sink.write(bytes, pos);
      pos += bytes.length;
    }
  };
  const submit = async (file: FileData, first: boolean, block: Buffer): Promise<void> => {
    let result: Job['result'];
    if (isZero(block)) {
      file.sparse += block.length;
      result = Promise.resolve({ entry: 0, bytes: undefined });
    } else {
      result = encoder.compress(block).then((c) =>
        c.length < block.length ? { entry: c.length, bytes: c } : { entry: block.length | DATA_UNCOMPRESSED, bytes: block },
      );
    }
    result.catch(() => undefined); // handled when drained
    queue.push({ file, first, result });
    while (queue.length >= concurrency) await drainOne();
  };
  const writeData = async (node: WriterFile): Promise<void> => {
    const fd: FileData = { start: 0, blocks: [], sparse: 0 };
    files.set(node, fd);
    if (!Number.isSafeInteger(node.size) || node.size < 0) throw new SnapPackError(`bad file size ${node.size}`);
    let first = true;
    let total = 0;
    let buf = Buffer.allocUnsafe(blockSize);
    let fill = 0;
    for await (const chunk of node.content()) {
      let at = 0;
      total += chunk.length;
      if (total > node.size) throw new SnapPackError(`file content is longer than its size ${node.size}`);
      while (at < chunk.length) {
        const take = Math.min(blockSize - fill, chunk.length - at);
        buf.set(chunk.subarray(at, at + take), fill);
        fill += take;
        at += take;
        if (fill === blockSize) {
          await submit(fd, first, buf);
          first = false;
          buf = Buffer.allocUnsafe(blockSize);
          fill = 0;
        }
      }
    }
    if (total !== node.size) throw new SnapPackError(`file content is ${total} bytes, expected ${node.size}`);
    if (fill > 0) await submit(fd, first, buf.subarray(0, fill));
  };
  const walkData = async (dir: WriterDirectory): Promise<void> => {
    for (const { node } of sortedEntries(dir)) {
      if (node.type === 'directory') await walkData(node);
      else if (node.type === 'file') await writeData(node);
    }
  };
  await walkData(root);
  while (queue.length > 0) await drainOne();
  const inodeTableStart = pos;

  // ---- pass 3: inode and directory tables ---------------------------------
  const inodes = new MetadataWriter(encoder);
  const dirs = new MetadataWriter(encoder);
  const refs: bigint[] = new Array<bigint>(count);

  const header = (type: number, node: WriterNode): Buffer => {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(type, 0);
    b.writeUInt16LE(node.mode & 0o7777, 2);
    b.writeUInt16LE(idOf(node.uid), 4);
    b.writeUInt16LE(idOf(node.gid), 6);
    if (!Number.isInteger(node.mtime) || node.mtime < 0 || node.mtime > 0xffffffff) throw new SnapPackError(`bad mtime ${node.mtime}`);
    b.writeUInt32LE(node.mtime, 8);
    b.writeUInt32LE(numbers.get(node)!, 12);
    return b;
  };
  const emit = async (node: WriterNode, body: Buffer, type: number): Promise<{ ref: bigint; block: number; offset: number; type: number }> => {
    const block = inodes.block;
    const offset = inodes.offset;
    const ref = makeRef(block, offset);
    refs[numbers.get(node)! - 1] = ref;
    await inodes.write(Buffer.concat([header(type, node), body]));
    return { ref, block, offset, type };
  };
  const basicType = (t: WriterNode['type']): number =>
    ({ directory: 1, file: 2, symlink: 3, 'block-device': 4, 'char-device': 5, fifo: 6, socket: 7 })[t];

  const writeNode = async (node: WriterNode, parentNumber: number): Promise<{ block: number; offset: number }> => {
    switch (node.type) {
      case 'directory':
        return writeDir(node, parentNumber);
      case 'file': {
        const fd = files.get(node)!;
        const big = fd.start > 0xffffffff || node.size > 0xffffffff || fd.sparse > 0;
        const list = Buffer.alloc(fd.blocks.length * 4);
        fd.blocks.forEach((e, i) => list.writeUInt32LE(e, i * 4));
        if (!big) {
          const b = Buffer.alloc(16);
          b.writeUInt32LE(fd.start, 0);
          b.writeUInt32LE(0xffffffff, 4); // no fragment
          b.writeUInt32LE(0, 8);
          b.writeUInt32LE(node.size, 12);
          return emit(node, Buffer.concat([b, list]), InodeType.REG);
        }
        const b = Buffer.alloc(40);
        b.writeBigUInt64LE(BigInt(fd.start), 0);
        b.writeBigUInt64LE(BigInt(node.size), 8);
        b.writeBigUInt64LE(BigInt(fd.sparse), 16);
        b.writeUInt32LE(1, 24);
        b.writeUInt32LE(0xffffffff, 28);
        b.writeUInt32LE(0, 32);
        b.writeUInt32LE(0xffffffff, 36); // no xattr
        return emit(node, Buffer.concat([b, list]), InodeType.LREG);
      }
      case 'symlink': {
        const target = Buffer.from(node.target, 'utf8');
        if (target.length === 0 || target.length > 4095 || target.includes(0)) throw new SnapPackError(`bad symlink target ${JSON.stringify(node.target)}`);
        const b = Buffer.alloc(8);
        b.writeUInt32LE(1, 0);
        b.writeUInt32LE(target.length, 4);
        return emit(node, Buffer.concat([b, target]), InodeType.SYMLINK);
      }
      case 'block-device':
      case 'char-device': {
        const b = Buffer.alloc(8);
        b.writeUInt32LE(1, 0);
        b.writeUInt32LE(encodeDev(node.rdev), 4);
        return emit(node, b, node.type === 'block-device' ? InodeType.BLKDEV : InodeType.CHRDEV);
      }
      case 'fifo':
      case 'socket': {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(1, 0);
        return emit(node, b, node.type === 'fifo' ? InodeType.FIFO : InodeType.SOCKET);
      }
    }
  };

  const writeDir = async (dir: WriterDirectory, parentNumber: number): Promise<{ block: number; offset: number }> => {
    const myNumber = numbers.get(dir)!;
    const children: { bytes: Buffer; number: number; block: number; offset: number; type: number }[] = [];
    let subdirs = 0;
    for (const e of sortedEntries(dir)) {
      const at = await writeNode(e.node, myNumber);
      if (e.node.type === 'directory') subdirs++;
      children.push({ bytes: e.bytes, number: numbers.get(e.node)!, block: at.block, offset: at.offset, type: basicType(e.node.type) });
    }
    // The listing: runs of at most 256 entries sharing one inode block and an
    // inode number base the int16 deltas can reach.
    const parts: Buffer[] = [];
    let i = 0;
    while (i < children.length) {
      const first = children[i]!;
      let j = i;
      while (
        j < children.length &&
        j - i < 256 &&
        children[j]!.block === first.block &&
        children[j]!.number - first.number <= 32767 &&
        children[j]!.number - first.number >= -32768
      )
        j++;
      const h = Buffer.alloc(12);
      h.writeUInt32LE(j - i - 1, 0);
      h.writeUInt32LE(first.block, 4);
      h.writeUInt32LE(first.number, 8);
      parts.push(h);
      for (let k = i; k < j; k++) {
        const c = children[k]!;
        const e = Buffer.alloc(8);
        e.writeUInt16LE(c.offset, 0);
        e.writeInt16LE(c.number - first.number, 2);
        e.writeUInt16LE(c.type, 4);
        e.writeUInt16LE(c.bytes.length - 1, 6);
        parts.push(e, c.bytes);
      }
      i = j;
    }
    const listing = Buffer.concat(parts);
    const listBlock = dirs.block;
    const listOffset = dirs.offset;
    await dirs.write(listing);
    const fileSize = listing.length + 3;
    const nlink = 2 + subdirs;
    if (fileSize <= 0xffff) {
      const b = Buffer.alloc(16);
      b.writeUInt32LE(listBlock, 0);
      b.writeUInt32LE(nlink, 4);
      b.writeUInt16LE(fileSize, 8);
      b.writeUInt16LE(listOffset, 10);
      b.writeUInt32LE(parentNumber, 12);
      return emit(dir, b, InodeType.DIR);
    }
    const b = Buffer.alloc(24);
    b.writeUInt32LE(nlink, 0);
    b.writeUInt32LE(fileSize, 4);
    b.writeUInt32LE(listBlock, 8);
    b.writeUInt32LE(parentNumber, 12);
    b.writeUInt16LE(0, 16); // no directory index: lookups scan the listing
    b.writeUInt16LE(listOffset, 18);
    b.writeUInt32LE(0xffffffff, 20);
    return emit(dir, b, InodeType.LDIR);
  };

  // mksquashfs gives the root's parent the number one past the last inode.
  const rootAt = await writeDir(root, count + 1);
  const rootRef = makeRef(rootAt.block, rootAt.offset);
  const inodeTable = await inodes.finish();
  const dirTable = await dirs.finish();
  const directoryTableStart = inodeTableStart + inodeTable.length;
  await sink.write(inodeTable, inodeTableStart);
  await sink.write(dirTable, directoryTableStart);
  pos = directoryTableStart + dirTable.length;

  // ---- pass 4: fragment (empty), export and id tables ---------------------
  const fragmentTableStart = pos;
  const writeIndexed = async (data: Buffer): Promise<number> => {
    const mw = new MetadataWriter(encoder);
    const starts: number[] = [];
    for (let at = 0; at < data.length; at += METADATA_SIZE) {
      starts.push(mw.block);
      await mw.write(data.subarray(at, at + METADATA_SIZE));
    }
    const table = await mw.finish();
    const tableStart = pos;
    await sink.write(table, tableStart);
    pos += table.length;
    const index = Buffer.alloc(starts.length * 8);
    starts.forEach((s, k) => index.writeBigUInt64LE(BigInt(tableStart + s), k * 8));
    const indexStart = pos;
    await sink.write(index, indexStart);
    pos += index.length;
    return indexStart;
  };
  let lookupTableStart: number | undefined;
  if (exportTable) {
    const data = Buffer.alloc(count * 8);
    refs.forEach((r, k) => data.writeBigUInt64LE(r, k * 8));
    lookupTableStart = await writeIndexed(data);
  }
  const idData = Buffer.alloc(ids.length * 4);
  ids.forEach((v, k) => idData.writeUInt32LE(v, k * 4));
  const idTableStart = await writeIndexed(idData);
  const bytesUsed = pos;

  const padded = Math.ceil(bytesUsed / PAD_SIZE) * PAD_SIZE;
  if (padded > bytesUsed) await sink.write(Buffer.alloc(padded - bytesUsed), bytesUsed);
  const flags = Flags.NO_FRAG | Flags.NO_XATTR | (exportTable ? Flags.EXPORT : 0);
  await sink.write(
    encodeSuperblock({
      inodes: count,
      mkfsTime: opts.mkfsTime,
      blockSize,
      fragments: 0,
      compression: encoder.id,
      blockLog,
      flags,
      noIds: ids.length,
      rootInode: rootRef,
      bytesUsed,
      idTableStart,
      xattrIdTableStart: undefined,
      inodeTableStart,
      directoryTableStart,
      fragmentTableStart,
      lookupTableStart,
    }),
    0,
  );
  return { bytesUsed, size: padded, inodes: count };
}
