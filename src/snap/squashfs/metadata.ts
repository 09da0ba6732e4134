// Reading metadata blocks and byte streams that span them, with bounds:
// every block must lie inside its table's region, decode to 1..8192 bytes,
// and reads never run past the region. Decoded blocks are kept in a small LRU.
import { SquashfsCorruptError } from '../errors.ts';
import type { Decoder } from './compression.ts';
import type { RandomAccessSource } from './source.ts';
import { METADATA_SIZE, METADATA_UNCOMPRESSED } from './format.ts';

/** A decoded metadata block and where the next one starts. */
export interface MetadataBlock {
  readonly data: Buffer;
  readonly next: number;
}

/** Reads and caches metadata blocks of one image. */
export class MetadataReader {
  private readonly cache = new Map<number, MetadataBlock>();

  constructor(
    private readonly source: RandomAccessSource,
    private readonly decoder: Decoder,
    private readonly cacheSize = 256,
  ) {}

  /** Reads the metadata block at absolute position `pos`, which must end by `end`. */
  async block(pos: number, end: number, what: string): Promise<MetadataBlock> {
    const hit = this.cache.get(pos);
    if (hit && hit.next <= end) {
      // Refresh LRU position.
      this.cache.delete(pos);
      this.cache.set(pos, hit);
      return hit;
    }
    if (!Number.isSafeInteger(pos) || pos < 0 || pos + 2 > end) throw new SquashfsCorruptError(`${what}: metadata block at ${pos} is outside its table`);
    const header = (await this.source.read(pos, 2)).readUInt16LE(0);
    const size = header & ~METADATA_UNCOMPRESSED;
    if (size === 0 || size > METADATA_SIZE) throw new SquashfsCorruptError(`${what}: metadata block at ${pos} has bad size ${size}`);
    if (pos + 2 + size > end) throw new SquashfsCorruptError(`${what}: metadata block at ${pos} runs past its table`);
    const raw = await this.source.read(pos + 2, size);
    const data = header & METADATA_UNCOMPRESSED ? raw : await this.decoder.decompress(raw, METADATA_SIZE);
    if (data.length === 0) throw new SquashfsCorruptError(`${what}: metadata block at ${pos} is empty`);
    const blk = { data, next: pos + 2 + size };
    this.cache.set(pos, blk);
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return blk;
  }

  /** A cursor reading consecutive bytes from (block at `pos`, `offset`), bounded by `end`. */
  cursor(pos: number, offset: number, end: number, what: string): MetadataCursor {
    return new MetadataCursor(this, pos, offset, end, what);
  }
}

/** Sequential reads over a chain of metadata blocks. */
export class MetadataCursor {
  constructor(
    private readonly reader: MetadataReader,
    private pos: number,
    private offset: number,
    private readonly end: number,
    private readonly what: string,
  ) {}

  /** Absolute position of the current block. */
  get block(): number {
    return this.pos;
  }

  /** Offset in the current (decoded) block. */
  get blockOffset(): number {
    return this.offset;
  }

  /** Reads exactly `n` bytes (n is small: callers bound it). */
  async read(n: number): Promise<Buffer> {
    let blk = await this.reader.block(this.pos, this.end, this.what);
    if (this.offset < blk.data.length && this.offset + n <= blk.data.length) {
      const out = blk.data.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === blk.data.length) {
        this.pos = blk.next;
        this.offset = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      if (this.offset > blk.data.length) throw new SquashfsCorruptError(`${this.what}: offset ${this.offset} is past the end of its metadata block`);
      if (this.offset === blk.data.length) {
        this.pos = blk.next;
        this.offset = 0;
        blk = await this.reader.block(this.pos, this.end, this.what);
      }
      const take = Math.min(n - done, blk.data.length - this.offset);
      blk.data.copy(out, done, this.offset, this.offset + take);
      done += take;
      this.offset += take;
    }
    if (this.offset === blk.data.length) {
      this.pos = blk.next;
      this.offset = 0;
    }
    return out;
  }
}
