// Reading a disk image's partition table, GPT or MBR, to find the partition
// that holds the seed (`snapline device boot --image`, `fleet run --image`). Pure: the caller reads
// the bytes. Written by hand because it is ~80 lines of fixed offsets (UEFI
// spec 2.10 §5.3 for GPT, the classic MBR layout) and no maintained npm
// package reads a GPT without also wanting to own the file.
import { ImageError } from './errors.ts';

export const SECTOR = 512;
/** Enough of the disk's start for the MBR, the GPT header and a standard table (128 entries of 128 bytes). */
export const TABLE_BYTES = 34 * SECTOR;

export interface DiskPartition {
  /** 1-based, in table order. */
  readonly number: number;
  /** Byte offset and size. */
  readonly start: number;
  readonly size: number;
  /** GPT: the partition name (snapd and the image builder write the structure's name). */
  readonly name?: string;
  /** GPT: the type GUID, upper case; MBR: the type byte, two hex digits. */
  readonly type: string;
}

export interface PartitionTable {
  readonly schema: 'gpt' | 'mbr';
  readonly partitions: readonly DiskPartition[];
}

function invalid(message: string): never {
  throw new ImageError('image-disk-unreadable', message);
}

/** A GUID as written in a GPT (mixed endian) to its text form. */
function guid(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex');
  const le = (x: Buffer) => hex(Buffer.from(x).reverse());
  return `${le(b.subarray(0, 4))}-${le(b.subarray(4, 6))}-${le(b.subarray(6, 8))}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`.toUpperCase();
}

/**
 * The partition table of a disk whose first bytes are `head`. For a GPT,
 * `readAt(offset, length)` reads the entries when they lie beyond `head`.
 */
export async function readPartitionTable(head: Buffer, diskSize: number, readAt: (offset: number, length: number) => Promise<Buffer>): Promise<PartitionTable> {
  if (head.length < 2 * SECTOR || head.readUInt16LE(510) !== 0xaa55) invalid('no partition table: the first sector has no MBR signature');
  const mbr = [0, 1, 2, 3].map((i) => head.subarray(446 + i * 16, 446 + (i + 1) * 16));
  if (mbr.some((e) => e[4] === 0xee)) return readGpt(head, diskSize, readAt);
  const partitions: DiskPartition[] = [];
  mbr.forEach((e, i) => {
    const type = e[4]!;
    const start = e.readUInt32LE(8) * SECTOR;
    const size = e.readUInt32LE(12) * SECTOR;
    if (type === 0 || size === 0) return;
    if (start + size > diskSize) invalid(`MBR partition ${i + 1} ends at byte ${start + size}, beyond the end of the disk (${diskSize} bytes)`);
    partitions.push({ number: i + 1, start, size, type: type.toString(16).padStart(2, '0').toUpperCase() });
  });
  return { schema: 'mbr', partitions };
}

async function readGpt(head: Buffer, diskSize: number, readAt: (offset: number, length: number) => Promise<Buffer>): Promise<PartitionTable> {
  const h = head.subarray(SECTOR, 2 * SECTOR);
  if (h.toString('latin1', 0, 8) !== 'EFI PART') invalid('a protective MBR but no GPT header ("EFI PART") in sector 1');
  const entriesAt = Number(h.readBigUInt64LE(72)) * SECTOR;
  const count = h.readUInt32LE(80);
  const entrySize = h.readUInt32LE(84);
  if (entrySize < 128 || entrySize % 8 !== 0 || count > 1024) invalid(`a GPT header with an unusual table: ${count} entries of ${entrySize} bytes`);
  const length = count * entrySize;
  if (entriesAt + length > diskSize) invalid('the GPT partition entries lie beyond the end of the disk');
  const table = entriesAt + length <= head.length ? head.subarray(entriesAt, entriesAt + length) : await readAt(entriesAt, length);
  const partitions: DiskPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue; // unused entry
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first || (last + 1) * SECTOR > diskSize) invalid(`GPT partition ${i + 1} spans sectors ${first}-${last}, beyond the end of the disk (${diskSize} bytes)`);
    const name = e.subarray(56, 128).toString('utf16le').replace(/\0.*$/s, '');
    partitions.push({ number: i + 1, start: first * SECTOR, size: (last - first + 1) * SECTOR, type: guid(e.subarray(0, 16)), ...(name ? { name } : {}) });
  }
  return { schema: 'gpt', partitions };
}

export type FilesystemKind = 'vfat' | 'ext4' | 'unknown';

/** The filesystem of a partition from its first 2 KiB: the FAT boot sector's marks, or ext2/3/4's superblock magic at 1080. */
export function filesystemOf(start: Buffer): FilesystemKind {
  if (start.length >= 1082 && start.readUInt16LE(1080) === 0xef53) return 'ext4';
  if (start.length >= 512 && start.readUInt16LE(510) === 0xaa55) {
    const fat16 = start.toString('latin1', 54, 57);
    const fat32 = start.toString('latin1', 82, 85);
    if (fat16 === 'FAT' || fat32 === 'FAT') return 'vfat';
  }
  return 'unknown';
}
