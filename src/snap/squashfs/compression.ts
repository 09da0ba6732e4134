// Block codecs. Reading: xz (via @napi-rs/lzma after a structural check that
// bounds the output), gzip (node:zlib, zlib format, output capped), zstd
// (fzstd, pure JS, into a buffer sized from the frame header). lzo, lz4 and
// lzma are refused with a typed error naming the compressor: no maintained npm
// package decodes them without a native build step.
// Writing: xz via liblzma (node-liblzma; @napi-rs/lzma 1.4 only emits stored,
// uncompressed LZMA2 chunks) and gzip via node:zlib.
import { promisify } from 'node:util';
import { inflate, deflate, constants as zc } from 'node:zlib';
import { decompress as xzDecompress, decompressSync as xzDecompressSync } from '@napi-rs/lzma/xz';
import { decompress as zstdDecompress } from 'fzstd';
import type * as LiblzmaModule from 'node-liblzma';
import { SquashfsCorruptError, SquashfsUnsupportedCompressionError } from '../errors.ts';
import { Compression, compressionName } from './format.ts';
import { inspectXz, setDictSize } from './xz-stream.ts';

const inflateAsync = promisify(inflate);
const deflateAsync = promisify(deflate);

/** Decodes the blocks of one image. */
export interface Decoder {
  readonly name: string;
  /**
   * Decompresses one block that must expand to at most `max` bytes (and to
   * exactly `exact` bytes when given). Never allocates more than `max` for
   * the output; throws SquashfsCorruptError on bad data.
   */
  decompress(data: Buffer, max: number, exact?: number): Promise<Buffer>;
}

/** Compresses blocks for the writer. */
export interface Encoder {
  readonly name: 'xz' | 'gzip';
  readonly id: number;
  /** Compresses one block (a complete, standalone stream). */
  compress(data: Buffer): Promise<Buffer>;
}

function checkSize(out: Buffer, max: number, exact: number | undefined, name: string): Buffer {
  if (out.length > max) throw new SquashfsCorruptError(`${name} block expands to ${out.length} bytes, more than ${max}`);
  if (exact !== undefined && out.length !== exact) {
    throw new SquashfsCorruptError(`${name} block expands to ${out.length} bytes, expected ${exact}`);
  }
  return out;
}

function wrap(name: string, err: unknown): never {
  if (err instanceof SquashfsCorruptError || err instanceof SquashfsUnsupportedCompressionError) throw err;
  const msg = err instanceof Error ? err.message : String(err);
  throw new SquashfsCorruptError(`${name} block does not decompress: ${msg.toLowerCase()}`);
}

const xzDecoder: Decoder = {
  name: 'xz',
  async decompress(data, max, exact) {
    const layout = inspectXz(data, max);
    if (exact !== undefined && layout.uncompressedSize !== exact) {
      throw new SquashfsCorruptError(`xz block declares ${layout.uncompressedSize} bytes, expected ${exact}`);
    }
    let out: Buffer;
    try {
      // Small (metadata) blocks decode faster inline than via the thread pool.
      out = data.length < 16384 ? xzDecompressSync(data) : await xzDecompress(data);
    } catch (err) {
      wrap('xz', err);
    }
    return checkSize(out, max, exact, 'xz');
  },
};

const gzipDecoder: Decoder = {
  name: 'gzip',
  async decompress(data, max, exact) {
    let out: Buffer;
    try {
      out = await inflateAsync(data, { maxOutputLength: Math.max(1, max) });
    } catch (err) {
      wrap('gzip', err);
    }
    return checkSize(out, max, exact, 'gzip');
  },
};

/**
 * Checks that a zstd block is exactly one frame (header, blocks, optional
 * checksum, nothing after) and returns the content size its header declares
 * (squashfs' one-shot frames always carry it). fzstd decodes every frame it
 * is given, so a block of many tiny frames must be refused here.
 */
function inspectZstd(data: Buffer): number {
  if (data.length < 6 || data.readUInt32LE(0) !== 0xfd2fb528) throw new SquashfsCorruptError('zstd block: bad frame magic');
  const fhd = data[4]!;
  const fcsFlag = fhd >> 6;
  const singleSegment = (fhd >> 5) & 1;
  const hasChecksum = (fhd >> 2) & 1;
  if (fhd & 0x08) throw new SquashfsCorruptError('zstd block: reserved frame flag set');
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  if (fcsBytes === 0) throw new SquashfsCorruptError('zstd block: frame does not declare its content size');
  if (dictBytes !== 0) throw new SquashfsCorruptError('zstd block: frames with dictionaries are not used by squashfs');
  const at = 5 + (singleSegment ? 0 : 1);
  if (at + fcsBytes > data.length) throw new SquashfsCorruptError('zstd block: truncated frame header');
  let size: number;
  switch (fcsBytes) {
    case 1:
      size = data[at]!;
      break;
    case 2:
      size = data.readUInt16LE(at) + 256;
      break;
    case 4:
      size = data.readUInt32LE(at);
      break;
    default: {
      const v = data.readBigUInt64LE(at);
      size = v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    }
  }
  // Blocks: 3-byte header (last flag, type, size); raw and compressed blocks
  // carry `size` bytes, RLE blocks one byte.
  let pos = at + fcsBytes;
  for (;;) {
    if (pos + 3 > data.length) throw new SquashfsCorruptError('zstd block: truncated block header');
    const h = data.readUIntLE(pos, 3);
    pos += 3;
    const type = (h >> 1) & 3;
    const bsize = h >>> 3;
    if (type === 3) throw new SquashfsCorruptError('zstd block: reserved block type');
    if (bsize > 131072) throw new SquashfsCorruptError('zstd block: block larger than 128 KiB');
    pos += type === 1 ? 1 : bsize;
    if (h & 1) break;
  }
  pos += hasChecksum ? 4 : 0;
  if (pos !== data.length) throw new SquashfsCorruptError('zstd block: data after the frame, or a truncated frame');
  return size;
}

const zstdDecoder: Decoder = {
  name: 'zstd',
  async decompress(data, max, exact) {
    const size = inspectZstd(data);
    if (size > max) throw new SquashfsCorruptError(`zstd block declares ${size} bytes, more than ${max}`);
    if (exact !== undefined && size !== exact) throw new SquashfsCorruptError(`zstd block declares ${size} bytes, expected ${exact}`);
    const out = new Uint8Array(size);
    let res: Uint8Array;
    try {
      res = zstdDecompress(data, out);
    } catch (err) {
      wrap('zstd', err);
    }
    if (res.length !== size) throw new SquashfsCorruptError('zstd block: decoded size differs from the frame header');
    return Buffer.from(res.buffer, res.byteOffset, res.length);
  },
};

/**
 * The decoder for a superblock compression id, or a typed error naming the
 * compressor when Snapline cannot decode it.
 */
export function decoderFor(id: number): Decoder {
  switch (id) {
    case Compression.xz:
      return xzDecoder;
    case Compression.gzip:
      return gzipDecoder;
    case Compression.zstd:
      return zstdDecoder;
    case Compression.lzo:
    case Compression.lz4:
    case Compression.lzma:
      throw new SquashfsUnsupportedCompressionError(
        compressionName(id),
        `squashfs compression ${compressionName(id)} is not supported (supported: xz, gzip, zstd)`,
      );
    default:
      throw new SquashfsCorruptError(`unknown squashfs compression id ${id}`);
  }
}

/** Options of the xz encoder. */
export interface XzEncoderOptions {
  /** liblzma preset 0..9; 0 keeps per-block setup cheap (see docs/snap-packages.md). */
  readonly preset?: number;
  /** The image block size: the dictionary size written in each stream's header. */
  readonly blockSize: number;
}

type Liblzma = typeof LiblzmaModule;
let liblzma: Promise<Liblzma> | undefined;

/**
 * node-liblzma is loaded on first use: its prebuilt binary exists for
 * linux-x64, darwin-arm64 and win32-x64 only, and reading snaps must not
 * depend on it.
 */
function loadLiblzma(): Promise<Liblzma> {
  liblzma ??= import('node-liblzma');
  return liblzma;
}

/** An xz encoder producing one standalone .xz stream per block, CRC32-checked, as mksquashfs does. */
export function xzEncoder(opts: XzEncoderOptions): Encoder {
  const preset = opts.preset ?? 0;
  return {
    name: 'xz',
    id: Compression.xz,
    async compress(data) {
      const { xzAsync, check } = await loadLiblzma();
      const out = await xzAsync(data, { preset, check: check.CRC32 });
      setDictSize(out, opts.blockSize, data.length);
      return out;
    },
  };
}

/** A gzip (zlib format) encoder, level 9 as mksquashfs' default. */
export function gzipEncoder(level = 9): Encoder {
  return {
    name: 'gzip',
    id: Compression.gzip,
    compress: (data) => deflateAsync(data, { level, windowBits: 15, strategy: zc.Z_DEFAULT_STRATEGY }),
  };
}
