// Sends a byte range of an open file to a writable (an HTTP response) through
// two reused 256 KiB buffers: one is read into while the other is being
// written, and a buffer is refilled only once the socket has taken all of its
// previous bytes. fs.createReadStream makes a new buffer per 64 KiB read
// instead; on a server whose heap holds routes, schemas and caches, collecting
// those buffers cost about a third of a download's time, and this sends the
// same file about twice as fast (bench/store-download.ts, docs/store.md).
import type { FileHandle } from 'node:fs/promises';

const CHUNK = 256 * 1024;

/**
 * What the pump needs of the destination: node's http.ServerResponse and
 * net.Socket qualify. A write's callback must mean the bytes have left (to the
 * kernel); a PassThrough does not qualify, its callback comes while the chunk
 * still sits in its buffer, which the next read would overwrite.
 */
export interface ByteSink {
  write(chunk: Uint8Array, callback: (err?: Error | null) => void): boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
}

/** Writes one chunk; resolves when the sink has taken it (see ByteSink). */
export function writeChunk(sink: ByteSink, chunk: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => sink.write(chunk, (err) => (err ? reject(err) : resolve())));
}

/**
 * Writes bytes [start, end] (inclusive) of `file` to `sink`. Resolves when the
 * last byte has been handed to the socket; rejects if reading fails, if the
 * file ends early, or if the sink closes first (the client went away). The
 * caller closes the file and ends or destroys the sink.
 */
export async function sendFileRange(file: FileHandle, start: number, end: number, sink: ByteSink): Promise<void> {
  if (end < start) return;
  const total = end - start + 1;
  const buffers = [Buffer.allocUnsafeSlow(Math.min(CHUNK, total)), Buffer.allocUnsafeSlow(Math.min(CHUNK, Math.max(0, total - CHUNK)))];
  const written: (Promise<void> | undefined)[] = [undefined, undefined];
  let closed!: () => void;
  const gone = new Promise<never>((_, reject) => {
    closed = () => reject(new Error('the client closed the connection'));
    sink.once('close', closed);
  });
  gone.catch(() => undefined);
  try {
    let position = start;
    for (let i = 0; position <= end; i ^= 1) {
      const buffer = buffers[i]!;
      if (written[i]) await Promise.race([written[i], gone]);
      if (sink.destroyed) throw new Error('the client closed the connection');
      const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, end - position + 1), position);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${position}, before byte ${end}`);
      position += bytesRead;
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      written[i] = writeChunk(sink, chunk);
      written[i]!.catch(() => undefined);
    }
    await Promise.race([Promise.all(written), gone]);
  } finally {
    sink.off('close', closed);
  }
}
