// A process uploading into a blob folder until it is killed: opens the store
// at argv[2] (no periodic sweep), puts a stream that never ends, and prints
// "writing <temp file>" once its temporary file has bytes.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBlobStore } from '../../../src/platform/blobs/index.ts';

const dir = process.argv[2]!;
const heartbeatMs = Number(process.argv[3] ?? 5000);
const store = await FsBlobStore.open(dir, { sweepIntervalMs: 0, heartbeatMs });
const before = new Set(await readdir(join(dir, 'tmp')));
const chunk = Buffer.alloc(64 * 1024, 7);
let sent = 0;
const source = new Readable({
  read() {
    // 1 MiB, then a trickle: the upload stays alive without filling the disk.
    if (sent < 1 << 20) {
      sent += chunk.length;
      this.push(chunk);
    } else setTimeout(() => this.push(chunk.subarray(0, 1)), 200);
  },
});
void store.put(source, { maxSize: 1 << 30 });
for (;;) {
  const mine = (await readdir(join(dir, 'tmp'))).filter((f) => !before.has(f) && f.endsWith('.part'));
  if (mine.length === 1 && (await stat(join(dir, 'tmp', mine[0]!))).size > 0) {
    process.stdout.write(`writing ${mine[0]}\n`);
    break;
  }
  await new Promise((r) => setTimeout(r, 20));
}
setInterval(() => undefined, 1 << 30);
