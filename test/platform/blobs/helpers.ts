import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export function sha3(data: Buffer): Buffer {
  return createHash('sha3-384').update(data).digest();
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A stream that sends some bytes, then is destroyed (with `error`, or silently as a dropped connection). */
export function cutShort(error?: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent++ < 3) this.push(Buffer.alloc(16_384, sent));
      else setImmediate(() => this.destroy(error));
    },
  });
}
