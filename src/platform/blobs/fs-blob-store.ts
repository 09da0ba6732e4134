// BlobStore on a local (or shared) filesystem. Blobs live at
// ROOT/sha3-384/<first two hex digits>/<hex digest>. An upload is written to
// ROOT/tmp (same filesystem, so rename is atomic), fsynced, then renamed into
// place and the directory fsynced: readers see either no blob or all of it.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo, BlobRead, BlobStore, ByteRange, PutOptions } from './blob-store.contract.ts';
import { BlobMeter, isSourceFailure, parseBlobDigest, resolveRange } from './blob-digest.ts';
import { sendFileRange } from './send-file.ts';
import { BlobError } from './errors.ts';

const TMP_SUFFIX = '.part';

/** Filesystem BlobStore; create with `FsBlobStore.open(dir)`. */
export class FsBlobStore implements BlobStore {
  private constructor(
    readonly root: string,
    private readonly tmpDir: string,
    private readonly blobDir: string,
  ) {}

  /** Opens (creating if needed) a blob store rooted at `root`. */
  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(root, join(root, 'tmp'), join(root, 'sha3-384'));
    await mkdir(store.tmpDir, { recursive: true });
    await mkdir(store.blobDir, { recursive: true });
    return store;
  }

  private pathOf(hex: string): string {
    return join(this.blobDir, hex.slice(0, 2), hex);
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions): Promise<BlobInfo> {
    const tmp = join(this.tmpDir, `${randomUUID()}${TMP_SUFFIX}`);
    const meter = new BlobMeter(options.maxSize);
    const metering = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        try {
          meter.update(chunk);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
    // flush: the stream fsyncs before it closes, and pipeline waits for the close.
    const file = createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true });
    let digest;
    try {
      try {
        await pipeline(source, metering, file, options.signal ? { signal: options.signal } : {});
      } catch (err) {
        if (err instanceof BlobError || !isSourceFailure(err)) throw err;
        throw new BlobError('blob-aborted', `upload cut short: ${(err as Error).message}`, { cause: err });
      }
      digest = meter.finish(options.expectedSha3_384);
    } catch (err) {
      // A failure can come before the file is even open; wait for the stream
      // to finish opening and closing, or the file would appear after the rm.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await rm(tmp, { force: true });
      throw err;
    }
    const final = this.pathOf(digest.hex);
    try {
      await mkdir(join(final, '..'), { recursive: true });
      // Renaming over an existing blob is fine: same name, same bytes.
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await syncDirectory(join(final, '..'));
    return { sha3_384: digest, size: meter.size };
  }

  async get(name: string, range?: ByteRange): Promise<BlobRead> {
    const { hex } = parseBlobDigest(name);
    let file: FileHandle;
    try {
      file = await open(this.pathOf(hex), 'r');
    } catch (err) {
      throw notFoundOr(err, name);
    }
    // Size and bytes come from the same open file, so a concurrent delete cannot split them.
    try {
      const { size } = await file.stat();
      const { start, end } = resolveRange(size, range);
      if (end < start) {
        await file.close();
        return { stream: Readable.from([]), sendTo: async () => undefined, size, start, end };
      }
      const handle = file;
      let stream: Readable | undefined;
      return {
        get stream() {
          return (stream ??= handle.createReadStream({ start, end }));
        },
        sendTo: (sink) => sendFileRange(handle, start, end, sink).finally(() => handle.close()),
        size,
        start,
        end,
      };
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async stat(name: string): Promise<BlobInfo | undefined> {
    const digest = parseBlobDigest(name);
    try {
      const { size } = await stat(this.pathOf(digest.hex));
      return { sha3_384: digest, size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async delete(name: string): Promise<boolean> {
    const { hex } = parseBlobDigest(name);
    try {
      await unlink(this.pathOf(hex));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Removes upload files older than `olderThanMs` left by a crashed process.
   * Age-based because another process may be writing its upload right now.
   */
  async removeStaleUploads(olderThanMs: number, now: Date = new Date()): Promise<number> {
    let removed = 0;
    for (const entry of await readdir(this.tmpDir)) {
      if (!entry.endsWith(TMP_SUFFIX)) continue;
      const path = join(this.tmpDir, entry);
      try {
        if (now.getTime() - (await stat(path)).mtimeMs > olderThanMs) {
          await unlink(path);
          removed++;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }
}

function notFoundOr(err: unknown, name: string): unknown {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' ? new BlobError('blob-not-found', `no blob ${name}`) : err;
}

// Makes the rename itself durable. Some platforms cannot fsync a directory;
// there the rename is as durable as that filesystem makes it.
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close();
  }
}
