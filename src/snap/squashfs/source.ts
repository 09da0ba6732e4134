// Random-access byte sources the squashfs reader reads from: a file (positional
// reads on a file handle, nothing extracted, no temp files) or an in-memory
// Buffer (tests, fuzzing, uploads already in memory).
import { open, type FileHandle } from 'node:fs/promises';

/** A read-only, random-access byte source of known size. */
export interface RandomAccessSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads exactly `length` bytes at `offset`. Callers check bounds against `size`
   * first; a short read (the file shrank) rejects.
   */
  read(offset: number, length: number): Promise<Buffer>;
  /** Releases the underlying resource; further reads reject. */
  close(): Promise<void>;
}

/** A source over a Buffer. */
export class BufferSource implements RandomAccessSource {
  constructor(private readonly buf: Buffer) {}

  get size(): number {
    return this.buf.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.buf.length) {
      throw new RangeError(`read of ${length} bytes at ${offset} is outside the source`);
    }
    return this.buf.subarray(offset, offset + length);
  }

  async close(): Promise<void> {}
}

/** A source over a file, read with positional reads. */
export class FileSource implements RandomAccessSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** Opens `path` for reading. */
  static async open(path: string): Promise<FileSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${path} is not a regular file`);
      return new FileSource(fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`read of ${length} bytes at ${offset} is outside the file`);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new RangeError(`file ended at ${offset + done} while reading`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
