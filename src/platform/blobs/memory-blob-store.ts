// BlobStore in memory, for tests and single-process experiments.
import { Readable } from 'node:stream';
import type { BlobInfo, BlobRead, BlobStore, ByteRange, DeleteOptions, PutOptions, StoredBlob } from './blob-store.contract.ts';
import { BlobMeter, parseBlobDigest, resolveRange } from './blob-digest.ts';
import { BlobError } from './errors.ts';
import { writeChunk } from './send-file.ts';

export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Buffer>();
  readonly #storedAt = new Map<string, Date>();

  /** `now`: the clock of stored times (tests of grace periods). */
  constructor(private readonly now: () => Date = () => new Date()) {}

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions): Promise<BlobInfo> {
    const meter = new BlobMeter(options.maxSize);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of source) {
        if (options.signal?.aborted) throw options.signal.reason;
        meter.update(chunk);
        chunks.push(Buffer.from(chunk));
      }
      if (options.signal?.aborted) throw options.signal.reason;
    } catch (err) {
      if (err instanceof BlobError) throw err;
      throw new BlobError('blob-aborted', `upload cut short: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    const digest = meter.finish(options.expectedSha3_384);
    this.#blobs.set(digest.hex, Buffer.concat(chunks));
    this.#storedAt.set(digest.hex, this.now());
    return { sha3_384: digest, size: meter.size };
  }

  async get(name: string, range?: ByteRange): Promise<BlobRead> {
    const { hex } = parseBlobDigest(name);
    const data = this.#blobs.get(hex);
    if (!data) throw new BlobError('blob-not-found', `no blob ${name}`);
    const { start, end } = resolveRange(data.length, range);
    const bytes = data.subarray(start, end + 1);
    return {
      get stream() {
        return Readable.from(bytes.length > 0 ? [bytes] : []);
      },
      sendTo: async (sink) => {
        if (bytes.length > 0) await writeChunk(sink, bytes);
      },
      size: data.length,
      start,
      end,
    };
  }

  async stat(name: string): Promise<BlobInfo | undefined> {
    const digest = parseBlobDigest(name);
    const data = this.#blobs.get(digest.hex);
    return data && { sha3_384: digest, size: data.length };
  }

  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    const { hex } = parseBlobDigest(name);
    const at = this.#storedAt.get(hex);
    if (options.storedBefore !== undefined && (at === undefined || at.getTime() >= options.storedBefore.getTime())) return false;
    this.#storedAt.delete(hex);
    return this.#blobs.delete(hex);
  }

  async *list(): AsyncIterable<StoredBlob> {
    for (const [hex, data] of [...this.#blobs]) yield { hex, size: data.length, storedAt: this.#storedAt.get(hex)! };
  }
}
