// Small helpers of the image tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools } from '../../src/image/disk.ts';

export async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-image-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Entries of a folder (to check that a failed build left nothing behind). */
export async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A pass-through HTTP proxy whose URL is known before its target (a store's public URL must be set before it starts). */
export function proxy(): Promise<{ url: string; target: (t: string) => void; close: () => Promise<void> }> {
  let target = '';
  const server = http.createServer((req, res) => {
    const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => res.writeHead(502).end(String(e)));
    req.pipe(up);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        target: (t) => (target = t),
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

/** Why the disk image tests cannot run here (a tool is missing, with its Debian package), or false. */
export async function diskToolsSkip(): Promise<string | false> {
  const missing = await missingTools(['sfdisk', 'mkfs.vfat', 'mkfs.ext4', 'mcopy', 'debugfs']);
  return missing.length > 0 ? `missing ${missing.join(', ')} (Debian: fdisk, dosfstools, e2fsprogs, mtools)` : false;
}
