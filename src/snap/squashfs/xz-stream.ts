// Structural checks on .xz streams as squashfs stores them (one stream per
// block: stream header, one block with a single LZMA2 filter, index, footer),
// done before handing the bytes to a decoder. Walking the LZMA2 chunk headers
// gives the exact uncompressed size without decompressing, so a hostile block
// that would inflate to gigabytes is refused up front; it also lets the writer
// lower the dictionary size recorded in a block header (see setDictSize).
import { crc32 } from 'node:zlib';
import { SquashfsCorruptError, SquashfsUnsupportedCompressionError } from '../errors.ts';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FILTER_LZMA2 = 0x21;
/** Size of the integrity check for each check type (xz format 2.1.1.2). */
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const FILTER_NAMES: Record<number, string> = {
  0x03: 'delta',
  0x04: 'x86 (bcj)',
  0x05: 'powerpc (bcj)',
  0x06: 'ia64 (bcj)',
  0x07: 'arm (bcj)',
  0x08: 'armthumb (bcj)',
  0x09: 'sparc (bcj)',
  0x0a: 'arm64 (bcj)',
};

/** Where the single LZMA2 block of a stream starts and what it declares. */
interface XzLayout {
  /** Offset of the block header. */
  readonly blockHeader: number;
  /** Size of the block header in bytes (including its CRC32). */
  readonly blockHeaderSize: number;
  /** Offset of the LZMA2 dictionary-size property byte. */
  readonly dictPropOffset: number;
  /** Sum of the uncompressed sizes declared by the LZMA2 chunks. */
  readonly uncompressedSize: number;
}

function corrupt(what: string): never {
  throw new SquashfsCorruptError(`xz block: ${what}`);
}

function readVli(buf: Buffer, pos: number, end: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (pos >= end) corrupt('truncated variable-length integer');
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) corrupt('integer out of range');
      return [value, pos];
    }
  }
  return corrupt('variable-length integer too long');
}

/**
 * Checks the stream header, the first block header (exactly one filter,
 * LZMA2) and walks every LZMA2 chunk header of that block, refusing as soon
 * as the declared uncompressed size exceeds `maxOut`.
 */
export function inspectXz(buf: Buffer, maxOut: number): XzLayout {
  if (buf.length < 12 + 12 || !buf.subarray(0, 6).equals(XZ_MAGIC)) corrupt('bad stream header');
  if (buf[6] !== 0 || (buf[7]! & 0xf0) !== 0) corrupt('bad stream flags');
  if (crc32(buf.subarray(6, 8)) !== buf.readUInt32LE(8)) corrupt('stream header checksum mismatch');
  const blockHeader = 12;
  const sizeByte = buf[blockHeader]!;
  if (sizeByte === 0) corrupt('stream has no block');
  const blockHeaderSize = (sizeByte + 1) * 4;
  const hEnd = blockHeader + blockHeaderSize;
  if (hEnd > buf.length) corrupt('truncated block header');
  if (crc32(buf.subarray(blockHeader, hEnd - 4)) !== buf.readUInt32LE(hEnd - 4)) corrupt('block header checksum mismatch');
  const flags = buf[blockHeader + 1]!;
  if ((flags & 0x3c) !== 0) corrupt('reserved block flags set');
  let pos = blockHeader + 2;
  let declaredUncompressed: number | undefined;
  if (flags & 0x40) [, pos] = readVli(buf, pos, hEnd - 4);
  if (flags & 0x80) [declaredUncompressed, pos] = readVli(buf, pos, hEnd - 4);
  const filters = (flags & 3) + 1;
  let dictPropOffset = -1;
  for (let i = 0; i < filters; i++) {
    let id: number;
    let propSize: number;
    [id, pos] = readVli(buf, pos, hEnd - 4);
    [propSize, pos] = readVli(buf, pos, hEnd - 4);
    if (id !== FILTER_LZMA2) {
      const name = FILTER_NAMES[id];
      if (name) throw new SquashfsUnsupportedCompressionError('xz', `squashfs compression xz with the ${name} filter is not supported`);
      corrupt(`unknown filter 0x${id.toString(16)}`);
    }
    if (i !== filters - 1 || propSize !== 1) corrupt('bad lzma2 filter properties');
    dictPropOffset = pos;
    if (buf[pos]! > 40) corrupt('bad lzma2 dictionary size');
    pos += propSize;
    if (pos > hEnd - 4) corrupt('truncated filter properties');
  }
  if (declaredUncompressed !== undefined && declaredUncompressed > maxOut) {
    corrupt(`declares ${declaredUncompressed} bytes, more than the ${maxOut} allowed`);
  }
  // LZMA2 chunks: control byte 0x00 ends; 0x01/0x02 uncompressed chunk with a
  // 16-bit size; 0x80..0xff LZMA chunk with 21-bit unpacked and 16-bit packed sizes.
  let total = 0;
  pos = hEnd;
  for (;;) {
    if (pos >= buf.length) corrupt('truncated lzma2 data');
    const control = buf[pos]!;
    if (control === 0) break;
    let unpacked: number;
    let skip: number;
    if (control === 1 || control === 2) {
      if (pos + 3 > buf.length) corrupt('truncated lzma2 chunk header');
      unpacked = buf.readUInt16BE(pos + 1) + 1;
      skip = 3 + unpacked;
    } else if (control >= 0x80) {
      if (pos + 5 > buf.length) corrupt('truncated lzma2 chunk header');
      unpacked = (control & 0x1f) * 65536 + buf.readUInt16BE(pos + 1) + 1;
      const packed = buf.readUInt16BE(pos + 3) + 1;
      skip = 5 + (control >= 0xc0 ? 1 : 0) + packed;
    } else {
      return corrupt(`bad lzma2 control byte 0x${control.toString(16)}`);
    }
    total += unpacked;
    if (total > maxOut) corrupt(`lzma2 chunks declare more than the ${maxOut} bytes allowed`);
    pos += skip;
  }
  // After the end marker: block padding (to a multiple of 4 from the block
  // start, zero bytes), the check, then the index indicator. Exactly one
  // block and one stream, ending at the footer: a second block or stream
  // would add output the chunk walk above did not count.
  pos += 1;
  while ((pos - blockHeader) % 4 !== 0) {
    if (pos >= buf.length || buf[pos] !== 0) corrupt('bad block padding');
    pos++;
  }
  pos += CHECK_SIZES[buf[7]! & 0x0f]!;
  if (pos >= buf.length) corrupt('truncated block');
  if (buf[pos] !== 0) corrupt('stream has more than one block');
  const footer = buf.length - 12;
  if (footer < pos || buf[buf.length - 2] !== 0x59 || buf[buf.length - 1] !== 0x5a) corrupt('bad stream footer');
  if (buf[footer + 8] !== buf[6] || buf[footer + 9] !== buf[7]) corrupt('stream footer flags differ from the header');
  const indexSize = (buf.readUInt32LE(footer + 4) + 1) * 4;
  if (pos + indexSize !== footer) corrupt('stream has trailing data or a bad index size');
  return { blockHeader, blockHeaderSize, dictPropOffset, uncompressedSize: total };
}

/** The LZMA2 dictionary-size property byte for a power-of-two size of at least 4 KiB. */
export function dictSizeProp(size: number): number {
  const log = Math.log2(size);
  if (!Number.isInteger(log) || log < 12 || log > 31) throw new RangeError(`dictionary size ${size} is not a power of two >= 4096`);
  return 2 * log - 24;
}

/**
 * Rewrites, in place, the dictionary size a single-block xz stream declares
 * and fixes the block header CRC32. The squashfs kernel decoder refuses
 * streams whose declared dictionary exceeds the image's (the block size), and
 * liblzma's presets declare at least 256 KiB; the real data never reaches
 * back further than its own length (one block), so a smaller declared
 * dictionary decodes identically.
 */
export function setDictSize(stream: Buffer, size: number, maxOut: number): void {
  const layout = inspectXz(stream, maxOut);
  stream[layout.dictPropOffset] = dictSizeProp(size);
  const end = layout.blockHeader + layout.blockHeaderSize;
  stream.writeUInt32LE(crc32(stream.subarray(layout.blockHeader, end - 4)), end - 4);
}
