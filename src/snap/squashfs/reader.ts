// A squashfs 4.0 reader over a random-access source: nothing is extracted and
// only the metadata and data blocks a call needs are read and decoded.
//
// Images are treated as hostile (a store reads every upload): each position is
// checked against the region it must lie in, each count and size is bounded
// before anything is allocated from it, decoded sizes must match what the
// image declares, directory walks refuse cycles and repeated directories,
// path resolution and symlink following have depth limits. Every failure is
// a SquashfsCorruptError (or a more specific SnapError), never a crash or hang.
import { Readable } from 'node:stream';
import { SquashfsCorruptError, SquashfsPathError } from '../errors.ts';
import { decoderFor, type Decoder } from './compression.ts';
import {
  DATA_UNCOMPRESSED,
  Flags,
  INVALID_FRAGMENT,
  InodeType,
  SUPERBLOCK_SIZE,
  decodeSuperblock,
  makeRef,
  splitRef,
  type Superblock,
} from './format.ts';
import { MetadataReader, type MetadataCursor } from './metadata.ts';
import { FileSource, type RandomAccessSource } from './source.ts';

/** Kinds of inode, by name. */
export type EntryType = 'file' | 'directory' | 'symlink' | 'block-device' | 'char-device' | 'fifo' | 'socket';

/** What stat returns for one inode. */
export interface SquashfsStat {
  readonly type: EntryType;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
  /** File size; symlink target length; directory listing size as squashfs records it (bytes + 3). */
  readonly size: number;
  readonly nlink: number;
  readonly inodeNumber: number;
  /** Symlink target (symlinks only). */
  readonly target?: string;
  /** Device number (block and character devices only). */
  readonly rdev?: { readonly major: number; readonly minor: number };
}

/** One entry of a directory listing. */
export interface SquashfsDirEntry {
  readonly name: string;
  readonly type: EntryType;
  /** Reference of the entry's inode (opaque). */
  readonly inode: bigint;
}

/** Safety limits of the reader; the defaults suit snaps and are far above what snapcraft produces. */
export interface ReaderLimits {
  /** Entries in one directory. */
  readonly maxDirectoryEntries: number;
  /** Directory nesting depth for walks and path components per lookup. */
  readonly maxDepth: number;
  /** Symlinks followed while resolving one path (Linux: 40). */
  readonly maxSymlinkFollows: number;
  /** Symlink target length (PATH_MAX). */
  readonly maxSymlinkSize: number;
  /** Bytes readFile returns before refusing (streams have no cap). */
  readonly maxReadFileSize: number;
  /** Data blocks decoded ahead of a streaming reader. */
  readonly readAhead: number;
}

export const DEFAULT_LIMITS: ReaderLimits = {
  maxDirectoryEntries: 1_000_000,
  maxDepth: 256,
  maxSymlinkFollows: 40,
  maxSymlinkSize: 4096,
  maxReadFileSize: 256 * 1024 * 1024,
  readAhead: 4,
};

interface InodeBase {
  readonly ref: bigint;
  readonly inodeType: number;
  readonly stat: SquashfsStat;
}
interface DirInode extends InodeBase {
  readonly kind: 'directory';
  /** Absolute position of the first metadata block of the listing. */
  readonly listingBlock: number;
  readonly listingOffset: number;
  /** Listing size in bytes (file_size - 3). */
  readonly listingSize: number;
  readonly parentInode: number;
}
interface FileInode extends InodeBase {
  readonly kind: 'file';
  readonly startBlock: number;
  readonly fileSize: number;
  readonly fragment: number;
  readonly fragmentOffset: number;
  readonly blockCount: number;
  /** Where the block size list starts in the inode table. */
  readonly blockListPos: number;
  readonly blockListOffset: number;
}
interface OtherInode extends InodeBase {
  readonly kind: 'other';
}
type Inode = DirInode | FileInode | OtherInode;

/** Directory entries kept parsed across calls (an LRU over whole listings). */
const DIR_CACHE_ENTRIES = 100_000;

const BASIC_TYPES: Record<number, EntryType> = {
  1: 'directory',
  2: 'file',
  3: 'symlink',
  4: 'block-device',
  5: 'char-device',
  6: 'fifo',
  7: 'socket',
};

function corrupt(msg: string): never {
  throw new SquashfsCorruptError(msg);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Opens and reads one squashfs 4.0 image. */
export class SquashfsReader {
  private readonly meta: MetadataReader;
  private readonly decoder: Decoder;
  private readonly inodeEnd: number;
  private readonly directoryEnd: number;
  private readonly fragmentCache = new Map<number, Promise<Buffer>>();
  private readonly dirCache = new Map<bigint, SquashfsDirEntry[]>();
  private dirCacheEntries = 0;
  private rootInode: DirInode | undefined;

  private constructor(
    private readonly source: RandomAccessSource,
    readonly superblock: Superblock,
    private readonly ids: readonly number[],
    readonly limits: ReaderLimits,
    decoder: Decoder,
    meta: MetadataReader,
  ) {
    this.decoder = decoder;
    this.meta = meta;
    const sb = superblock;
    this.inodeEnd = sb.directoryTableStart;
    // The directory table ends where the next structure starts; the fragment
    // and export tables' metadata blocks precede their indexes, so the nearest
    // index (or the id table) is an upper bound.
    const after = [sb.fragmentTableStart, sb.lookupTableStart, sb.idTableStart, sb.xattrIdTableStart, sb.bytesUsed].filter(
      (v): v is number => v !== undefined && v > sb.directoryTableStart,
    );
    this.directoryEnd = Math.min(...after);
  }

  /** Opens an image file. Close the reader to release the file. */
  static async openFile(path: string, limits: Partial<ReaderLimits> = {}): Promise<SquashfsReader> {
    const src = await FileSource.open(path);
    try {
      return await SquashfsReader.open(src, limits);
    } catch (err) {
      await src.close();
      throw err;
    }
  }

  /** Opens an image from a source; the reader takes ownership of it (close closes it). */
  static async open(source: RandomAccessSource, limits: Partial<ReaderLimits> = {}): Promise<SquashfsReader> {
    if (source.size < SUPERBLOCK_SIZE) corrupt('image is shorter than a squashfs superblock');
    const sb = decodeSuperblock(await source.read(0, SUPERBLOCK_SIZE), source.size);
    const decoder = decoderFor(sb.compression);
    const meta = new MetadataReader(source, decoder);
    if (sb.fragments > 0 && sb.fragmentTableStart === undefined) corrupt('image has fragments but no fragment table');
    if (sb.fragmentTableStart !== undefined) {
      const indexBytes = Math.ceil(sb.fragments / 512) * 8;
      if (sb.fragmentTableStart + indexBytes > sb.bytesUsed) corrupt('fragment table index runs past the end of the image');
    }
    if (sb.flags & Flags.COMP_OPT) {
      // Compressor options only tune encoding (xz dictionary / filters, gzip
      // level and window); decoding needs none of them, but the block must be sound.
      await meta.block(SUPERBLOCK_SIZE, sb.inodeTableStart, 'compressor options');
    }
    const ids = await readIds(source, meta, sb);
    return new SquashfsReader(source, sb, ids, { ...DEFAULT_LIMITS, ...limits }, decoder, meta);
  }

  /** Closes the underlying source. */
  async close(): Promise<void> {
    await this.source.close();
  }

  // ---- inodes -------------------------------------------------------------

  private async root(): Promise<DirInode> {
    if (!this.rootInode) {
      const ino = await this.inode(this.superblock.rootInode);
      if (ino.kind !== 'directory') corrupt('root inode is not a directory');
      this.rootInode = ino;
    }
    return this.rootInode;
  }

  private async inode(ref: bigint): Promise<Inode> {
    const { block, offset } = splitRef(ref);
    const sb = this.superblock;
    if (ref >> 48n !== 0n) corrupt(`bad inode reference ${ref}`);
    const pos = sb.inodeTableStart + block;
    const c = this.meta.cursor(pos, offset, this.inodeEnd, 'inode table');
    const h = await c.read(16);
    const inodeType = h.readUInt16LE(0);
    const perm = h.readUInt16LE(2);
    const uid = this.id(h.readUInt16LE(4));
    const gid = this.id(h.readUInt16LE(6));
    const mtime = h.readUInt32LE(8);
    const inodeNumber = h.readUInt32LE(12);
    if (inodeNumber === 0 || inodeNumber > sb.inodes) corrupt(`inode number ${inodeNumber} is out of range (1..${sb.inodes})`);
    const base = { mode: perm & 0o7777, uid, gid, mtime, inodeNumber };
    switch (inodeType) {
      case InodeType.DIR: {
        const b = await c.read(16);
        const startBlock = b.readUInt32LE(0);
        const nlink = b.readUInt32LE(4);
        const fileSize = b.readUInt16LE(8);
        const dirOffset = b.readUInt16LE(10);
        const parentInode = b.readUInt32LE(12);
        return this.dirInode(ref, inodeType, base, startBlock, nlink, fileSize, dirOffset, parentInode);
      }
      case InodeType.LDIR: {
        const b = await c.read(24);
        const nlink = b.readUInt32LE(0);
        const fileSize = b.readUInt32LE(4);
        const startBlock = b.readUInt32LE(8);
        const parentInode = b.readUInt32LE(12);
        // i_count directory index entries and the xattr index follow; lookups
        // scan the listing, so the index is not needed.
        const dirOffset = b.readUInt16LE(18);
        return this.dirInode(ref, inodeType, base, startBlock, nlink, fileSize, dirOffset, parentInode);
      }
      case InodeType.REG: {
        const b = await c.read(16);
        return this.fileInode(ref, inodeType, base, b.readUInt32LE(0), b.readUInt32LE(12), b.readUInt32LE(4), b.readUInt32LE(8), 1, c);
      }
      case InodeType.LREG: {
        const b = await c.read(40);
        const start = b.readBigUInt64LE(0);
        const size = b.readBigUInt64LE(8);
        if (start > BigInt(sb.bytesUsed)) corrupt(`file data start ${start} is beyond the image`);
        if (size > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(`file size ${size} is out of range`);
        return this.fileInode(ref, inodeType, base, Number(start), Number(size), b.readUInt32LE(28), b.readUInt32LE(32), b.readUInt32LE(24), c);
      }
      case InodeType.SYMLINK:
      case InodeType.LSYMLINK: {
        const b = await c.read(8);
        const nlink = b.readUInt32LE(0);
        const size = b.readUInt32LE(4);
        if (size === 0 || size > this.limits.maxSymlinkSize) corrupt(`symlink target size ${size} is out of range`);
        const target = utf8.decode(await c.read(size));
        if (target.includes('\0')) corrupt('symlink target contains a nul byte');
        return { kind: 'other', ref, inodeType, stat: { ...base, type: 'symlink', size, nlink, target } };
      }
      case InodeType.BLKDEV:
      case InodeType.CHRDEV:
      case InodeType.LBLKDEV:
      case InodeType.LCHRDEV: {
        const b = await c.read(8);
        const rdev = b.readUInt32LE(4);
        const type: EntryType = inodeType === InodeType.BLKDEV || inodeType === InodeType.LBLKDEV ? 'block-device' : 'char-device';
        // Linux new_decode_dev: major in bits 8..19, minor in bits 0..7 and 20..31.
        const major = (rdev & 0xfff00) >>> 8;
        const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
        return { kind: 'other', ref, inodeType, stat: { ...base, type, size: 0, nlink: b.readUInt32LE(0), rdev: { major, minor } } };
      }
      case InodeType.FIFO:
      case InodeType.SOCKET:
      case InodeType.LFIFO:
      case InodeType.LSOCKET: {
        const b = await c.read(4);
        const type: EntryType = inodeType === InodeType.FIFO || inodeType === InodeType.LFIFO ? 'fifo' : 'socket';
        return { kind: 'other', ref, inodeType, stat: { ...base, type, size: 0, nlink: b.readUInt32LE(0) } };
      }
      default:
        return corrupt(`unknown inode type ${inodeType}`);
    }
  }

  private dirInode(
    ref: bigint,
    inodeType: number,
    base: Pick<SquashfsStat, 'mode' | 'uid' | 'gid' | 'mtime' | 'inodeNumber'>,
    startBlock: number,
    nlink: number,
    fileSize: number,
    dirOffset: number,
    parentInode: number,
  ): DirInode {
    if (fileSize < 3) corrupt(`directory size ${fileSize} is too small`);
    const listingBlock = this.superblock.directoryTableStart + startBlock;
    if (listingBlock >= this.directoryEnd && fileSize > 3) corrupt(`directory listing at ${startBlock} is outside the directory table`);
    return {
      kind: 'directory',
      ref,
      inodeType,
      stat: { ...base, type: 'directory', size: fileSize, nlink },
      listingBlock,
      listingOffset: dirOffset,
      listingSize: fileSize - 3,
      parentInode,
    };
  }

  private fileInode(
    ref: bigint,
    inodeType: number,
    base: Pick<SquashfsStat, 'mode' | 'uid' | 'gid' | 'mtime' | 'inodeNumber'>,
    startBlock: number,
    fileSize: number,
    fragment: number,
    fragmentOffset: number,
    nlink: number,
    c: MetadataCursor,
  ): FileInode {
    const sb = this.superblock;
    const hasFragment = fragment !== INVALID_FRAGMENT;
    if (hasFragment && fragment >= sb.fragments) corrupt(`fragment index ${fragment} is out of range (${sb.fragments} fragments)`);
    if (hasFragment && fragmentOffset >= sb.blockSize) corrupt(`fragment offset ${fragmentOffset} is out of range`);
    if (hasFragment && fileSize % sb.blockSize === 0) corrupt('file with a fragment has no tail');
    const blockCount = hasFragment ? Math.floor(fileSize / sb.blockSize) : Math.ceil(fileSize / sb.blockSize);
    if (startBlock > sb.bytesUsed) corrupt(`file data start ${startBlock} is beyond the image`);
    return {
      kind: 'file',
      ref,
      inodeType,
      stat: { ...base, type: 'file', size: fileSize, nlink },
      startBlock,
      fileSize,
      fragment,
      fragmentOffset,
      blockCount,
      blockListPos: c.block,
      blockListOffset: c.blockOffset,
    };
  }

  private id(index: number): number {
    const v = this.ids[index];
    if (v === undefined) corrupt(`uid/gid index ${index} is out of range (${this.ids.length} ids)`);
    return v;
  }

  // ---- directories --------------------------------------------------------

  private async listing(dir: DirInode): Promise<SquashfsDirEntry[]> {
    const cached = this.dirCache.get(dir.ref);
    if (cached) {
      this.dirCache.delete(dir.ref);
      this.dirCache.set(dir.ref, cached);
      return cached;
    }
    const entries: SquashfsDirEntry[] = [];
    let remaining = dir.listingSize;
    if (remaining > 0) {
      const c = this.meta.cursor(dir.listingBlock, dir.listingOffset, this.directoryEnd, 'directory table');
      let prev: Buffer | undefined;
      while (remaining > 0) {
        if (remaining < 12) corrupt('directory listing ends inside a header');
        const h = await c.read(12);
        remaining -= 12;
        const count = h.readUInt32LE(0) + 1;
        const inodeBlock = h.readUInt32LE(4);
        const baseNumber = h.readUInt32LE(8);
        if (count > 256) corrupt(`directory header has ${count} entries (at most 256)`);
        for (let i = 0; i < count; i++) {
          if (remaining < 8) corrupt('directory listing ends inside an entry');
          const e = await c.read(8);
          remaining -= 8;
          const offset = e.readUInt16LE(0);
          const delta = e.readInt16LE(2);
          const type = e.readUInt16LE(4);
          const nameLen = e.readUInt16LE(6) + 1;
          if (nameLen > 256 || nameLen > remaining) corrupt(`directory entry name length ${nameLen} is out of range`);
          const nameBuf = await c.read(nameLen);
          remaining -= nameLen;
          const name = nameBuf.toString('latin1');
          if (nameBuf.includes(0x2f) || nameBuf.includes(0) || name === '.' || name === '..') corrupt(`bad directory entry name ${JSON.stringify(name)}`);
          if (prev && Buffer.compare(prev, nameBuf) >= 0) corrupt(`directory entries are not sorted or repeat (${JSON.stringify(name)})`);
          prev = Buffer.from(nameBuf);
          const entryType = BASIC_TYPES[type];
          if (!entryType) corrupt(`bad directory entry type ${type}`);
          const number = baseNumber + delta;
          if (number < 1 || number > this.superblock.inodes) corrupt(`directory entry inode number ${number} is out of range`);
          if (entries.length >= this.limits.maxDirectoryEntries) corrupt(`directory has more than ${this.limits.maxDirectoryEntries} entries`);
          entries.push({ name: utf8.decode(nameBuf), type: entryType, inode: makeRef(inodeBlock, offset) });
        }
      }
    }
    // The cache is bounded by entries, not directories, so a hostile image of
    // huge directories cannot pin a lot of memory; a listing over the budget is
    // simply not kept.
    if (entries.length <= DIR_CACHE_ENTRIES) {
      this.dirCache.set(dir.ref, entries);
      this.dirCacheEntries += entries.length;
      for (const [ref, cached] of this.dirCache) {
        if (this.dirCacheEntries <= DIR_CACHE_ENTRIES) break;
        this.dirCache.delete(ref);
        this.dirCacheEntries -= cached.length;
      }
    }
    return entries;
  }

  /** Resolves a path inside the image to an inode, following symlinks inside the image only. */
  private async resolve(path: string, follow: boolean): Promise<Inode> {
    const root = await this.root();
    let follows = 0;
    // Stack of directories from the root to the current one ('..' pops).
    const stack: DirInode[] = [root];
    const pending = splitPath(path, this.limits.maxDepth);
    let current: Inode = root;
    while (pending.length > 0) {
      const name = pending.shift()!;
      const dir = stack[stack.length - 1]!;
      if (name === '..') {
        if (stack.length === 1) throw new SquashfsPathError(path, `path ${JSON.stringify(path)} leaves the image`);
        stack.pop();
        current = stack[stack.length - 1]!;
        continue;
      }
      const entries = await this.listing(dir);
      const entry = entries.find((e) => e.name === name);
      if (!entry) throw new SquashfsPathError(path, `${JSON.stringify(path)} does not exist in the image`);
      const ino = await this.inode(entry.inode);
      if (ino.stat.type !== entry.type) corrupt(`directory entry ${JSON.stringify(name)} type differs from its inode`);
      if (ino.stat.type === 'symlink' && (pending.length > 0 || follow)) {
        if (++follows > this.limits.maxSymlinkFollows) throw new SquashfsPathError(path, `too many levels of symbolic links in ${JSON.stringify(path)}`);
        const target = ino.stat.target!;
        if (target.startsWith('/')) throw new SquashfsPathError(path, `symlink ${JSON.stringify(name)} points outside the image (${target})`);
        pending.unshift(...splitPath(target, this.limits.maxDepth));
        if (pending.length > this.limits.maxDepth * 4) throw new SquashfsPathError(path, `path ${JSON.stringify(path)} is too long`);
        current = dir;
        continue;
      }
      if (ino.kind === 'directory') {
        if (stack.length >= this.limits.maxDepth) throw new SquashfsPathError(path, `path ${JSON.stringify(path)} is nested too deeply`);
        stack.push(ino);
      } else if (pending.length > 0) {
        throw new SquashfsPathError(path, `${JSON.stringify(name)} in ${JSON.stringify(path)} is not a directory`);
      }
      current = ino;
    }
    return current;
  }

  // ---- public API ---------------------------------------------------------

  /** Stats a path; `follow` (default false) follows a final symlink. */
  async stat(path: string, opts: { follow?: boolean } = {}): Promise<SquashfsStat> {
    return (await this.resolve(path, opts.follow ?? false)).stat;
  }

  /** Whether a path exists (a dangling final symlink exists). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.resolve(path, false);
      return true;
    } catch (err) {
      if (err instanceof SquashfsPathError) return false;
      throw err;
    }
  }

  /** Lists a directory (following symlinks to it), in image order (sorted by name bytes). */
  async list(path: string): Promise<SquashfsDirEntry[]> {
    const ino = await this.resolve(path, true);
    if (ino.kind !== 'directory') throw new SquashfsPathError(path, `${JSON.stringify(path)} is not a directory`);
    return [...(await this.listing(ino))];
  }

  /** The target of a symlink. */
  async readlink(path: string): Promise<string> {
    const ino = await this.resolve(path, false);
    if (ino.stat.type !== 'symlink') throw new SquashfsPathError(path, `${JSON.stringify(path)} is not a symlink`);
    return ino.stat.target!;
  }

  /** Reads a whole regular file (following symlinks) into memory, refusing files over `maxBytes`. */
  async readFile(path: string, maxBytes = this.limits.maxReadFileSize): Promise<Buffer> {
    const ino = await this.fileAt(path);
    if (ino.fileSize > maxBytes) throw new SquashfsPathError(path, `${JSON.stringify(path)} is ${ino.fileSize} bytes, more than ${maxBytes}`);
    const out = Buffer.allocUnsafe(ino.fileSize);
    let at = 0;
    for await (const chunk of this.chunks(ino)) {
      chunk.copy(out, at);
      at += chunk.length;
    }
    return out;
  }

  /** Streams a regular file (following symlinks), block by block. */
  createReadStream(path: string): Readable {
    return Readable.from(this.readChunks(path), { objectMode: false });
  }

  /** Streams a regular file as an async iterable of Buffers. */
  async *readChunks(path: string): AsyncGenerator<Buffer> {
    yield* this.chunks(await this.fileAt(path));
  }

  /**
   * Walks the whole tree depth-first in image order, yielding every entry
   * with its path ("" for the root, then "a", "a/b", ...). A directory reached
   * twice (a cycle, or a hostile image sharing subtrees) is refused.
   */
  async *walk(): AsyncGenerator<{ path: string; stat: SquashfsStat }> {
    const root = await this.root();
    const seen = new Set<bigint>([root.ref]);
    yield { path: '', stat: root.stat };
    yield* this.visit(root, '', 1, seen);
  }

  private async *visit(dir: DirInode, prefix: string, depth: number, seen: Set<bigint>): AsyncGenerator<{ path: string; stat: SquashfsStat }> {
    if (depth > this.limits.maxDepth) corrupt(`directories are nested deeper than ${this.limits.maxDepth}`);
    for (const e of await this.listing(dir)) {
      const ino = await this.inode(e.inode);
      if (ino.stat.type !== e.type) corrupt(`directory entry ${JSON.stringify(e.name)} type differs from its inode`);
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      yield { path, stat: ino.stat };
      if (ino.kind === 'directory') {
        // Each directory once: refuses cycles, and shared subtrees that would
        // make a walk exponential in the image size.
        if (seen.has(ino.ref)) corrupt(`directory ${JSON.stringify(path)} appears more than once in the tree`);
        seen.add(ino.ref);
        yield* this.visit(ino, path, depth + 1, seen);
      }
    }
  }

  private async fileAt(path: string): Promise<FileInode> {
    const ino = await this.resolve(path, true);
    if (ino.kind !== 'file') throw new SquashfsPathError(path, `${JSON.stringify(path)} is not a regular file`);
    return ino;
  }

  // ---- file data ----------------------------------------------------------

  private async *chunks(ino: FileInode): AsyncGenerator<Buffer> {
    const sb = this.superblock;
    const bs = sb.blockSize;
    const list = this.meta.cursor(ino.blockListPos, ino.blockListOffset, this.inodeEnd, 'block list');
    let pos = ino.startBlock;
    const queue: Promise<Buffer>[] = [];
    let next = 0;
    const schedule = async (): Promise<void> => {
      const i = next++;
      const entry = (await list.read(4)).readUInt32LE(0);
      const expected = i === ino.blockCount - 1 && ino.fragment === INVALID_FRAGMENT && ino.fileSize % bs !== 0 ? ino.fileSize % bs : bs;
      if (entry >>> 25 !== 0) corrupt(`bad data block size entry 0x${entry.toString(16)}`);
      const size = entry & (DATA_UNCOMPRESSED - 1);
      if (size > bs) corrupt(`data block size ${size} is larger than the block size`);
      if (size === 0) {
        queue.push(Promise.resolve(Buffer.alloc(expected)));
        return;
      }
      const at = pos;
      if (at + size > sb.inodeTableStart || at < SUPERBLOCK_SIZE) corrupt(`data block at ${at} is outside the data area`);
      pos += size;
      const uncompressed = (entry & DATA_UNCOMPRESSED) !== 0;
      const p = this.read(at, size, 'data block').then((raw) => {
        if (uncompressed) {
          if (size !== expected) corrupt(`uncompressed data block of ${size} bytes, expected ${expected}`);
          return raw;
        }
        return this.decoder.decompress(raw, bs, expected);
      });
      // A read-ahead block may fail while an earlier one is awaited: the
      // failure surfaces when its turn comes, never as an unhandled rejection.
      p.catch(() => undefined);
      queue.push(p);
    };
    try {
      while (next < ino.blockCount || queue.length > 0) {
        while (next < ino.blockCount && queue.length < this.limits.readAhead) await schedule();
        const blk = await queue.shift()!;
        yield blk;
      }
    } finally {
      queue.length = 0;
    }
    if (ino.fragment !== INVALID_FRAGMENT) {
      const tail = ino.fileSize % bs;
      const frag = await this.fragmentBlock(ino.fragment);
      if (ino.fragmentOffset + tail > frag.length) corrupt(`file tail runs past the end of fragment ${ino.fragment}`);
      yield frag.subarray(ino.fragmentOffset, ino.fragmentOffset + tail);
    }
  }

  private fragmentBlock(index: number): Promise<Buffer> {
    let p = this.fragmentCache.get(index);
    if (!p) {
      p = this.loadFragment(index);
      this.fragmentCache.set(index, p);
      p.catch(() => this.fragmentCache.delete(index));
      if (this.fragmentCache.size > 8) {
        const oldest = this.fragmentCache.keys().next().value;
        if (oldest !== undefined) this.fragmentCache.delete(oldest);
      }
    }
    return p;
  }

  /** Reads from the source, refusing anything outside the filesystem. */
  private async read(at: number, length: number, what: string): Promise<Buffer> {
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(length) || at < 0 || length < 0 || at + length > this.superblock.bytesUsed) {
      corrupt(`${what} at ${at} (${length} bytes) is outside the image`);
    }
    return this.source.read(at, length);
  }

  private async loadFragment(index: number): Promise<Buffer> {
    const sb = this.superblock;
    const tableStart = sb.fragmentTableStart!;
    const indexPos = tableStart + Math.floor(index / 512) * 8;
    const blockPos = Number((await this.read(indexPos, 8, 'fragment index')).readBigUInt64LE(0));
    if (!Number.isSafeInteger(blockPos) || blockPos < sb.directoryTableStart || blockPos >= tableStart) corrupt('fragment table block is outside the image');
    const c = this.meta.cursor(blockPos, (index % 512) * 16, tableStart, 'fragment table');
    const e = await c.read(16);
    const start = e.readBigUInt64LE(0);
    const entry = e.readUInt32LE(8);
    if (entry >>> 25 !== 0) corrupt(`fragment ${index} has bad size entry 0x${entry.toString(16)}`);
    const size = entry & (DATA_UNCOMPRESSED - 1);
    if (size === 0 || size > sb.blockSize) corrupt(`fragment ${index} has bad size ${size}`);
    if (start + BigInt(size) > BigInt(sb.inodeTableStart) || start < BigInt(SUPERBLOCK_SIZE)) corrupt(`fragment ${index} is outside the data area`);
    const raw = await this.read(Number(start), size, `fragment ${index}`);
    return entry & DATA_UNCOMPRESSED ? raw : this.decoder.decompress(raw, sb.blockSize);
  }
}

/** Reads the uid/gid table (at most 65535 ids, so at most 32 metadata blocks). */
async function readIds(source: RandomAccessSource, meta: MetadataReader, sb: Superblock): Promise<number[]> {
  const blocks = Math.ceil(sb.noIds / 2048);
  if (sb.idTableStart + blocks * 8 > sb.bytesUsed) corrupt('id table index runs past the end of the image');
  const index = await source.read(sb.idTableStart, blocks * 8);
  const ids: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const pos = Number(index.readBigUInt64LE(b * 8));
    if (!Number.isSafeInteger(pos) || pos < sb.directoryTableStart || pos >= sb.idTableStart) corrupt('id table block is outside the image');
    const want = Math.min(2048, sb.noIds - b * 2048) * 4;
    const data = (await meta.block(pos, sb.idTableStart, 'id table')).data;
    if (data.length < want) corrupt('id table block is too short');
    for (let i = 0; i < want; i += 4) ids.push(data.readUInt32LE(i));
  }
  return ids;
}

/** Splits a path into components, dropping empty and "." parts. */
function splitPath(path: string, maxDepth: number): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length > maxDepth * 4) throw new SquashfsPathError(path, `path ${JSON.stringify(path)} is too long`);
  return parts;
}
