// Sending a file range to a socket through reused buffers: every byte once,
// in order, over an HTTP response; a client that goes away ends it and
// releases the file; a file shorter than promised is an error, not a hang.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { open, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { sendFileRange } from '../../../src/platform/blobs/send-file.ts';

async function withFile(bytes: Buffer, body: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-sendfile-'));
  try {
    await writeFile(join(dir, 'f'), bytes);
    await body(join(dir, 'f'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A server answering each request with sendFileRange(start, end) of the file; outcomes recorded. */
async function serveRange(path: string, start: number, end: number, outcomes: (string | undefined)[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (_req, res) => {
    const file = await open(path);
    res.writeHead(200, { 'content-length': String(Math.max(0, end - start + 1)) });
    try {
      await sendFileRange(file, start, end, res);
      res.end();
      outcomes.push(undefined);
    } catch (err) {
      res.destroy();
      outcomes.push((err as Error).message);
    } finally {
      await file.close();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  return Buffer.from(await res.arrayBuffer());
}

test('every byte of a range, in order, across many reused buffers (and ranges smaller than one)', () => {
  const bytes = randomBytes(3 * 256 * 1024 + 12345);
  return withFile(bytes, async (path) => {
    for (const [start, end] of [
      [0, bytes.length - 1],
      [1000, bytes.length - 7],
      [256 * 1024 - 1, 256 * 1024],
      [5, 5],
    ] as const) {
      const outcomes: (string | undefined)[] = [];
      const s = await serveRange(path, start, end, outcomes);
      try {
        assert.deepEqual(await download(s.url), bytes.subarray(start, end + 1));
        assert.deepEqual(outcomes, [undefined]);
      } finally {
        await s.close();
      }
    }
  });
});

test('a client that goes away mid-file ends the send with an error, and the file is released', () =>
  withFile(randomBytes(64 * 1024 * 1024), async (path) => {
    const outcomes: (string | undefined)[] = [];
    const s = await serveRange(path, 0, 64 * 1024 * 1024 - 1, outcomes);
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(s.url, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', () => undefined);
        setTimeout(() => reject(new Error('no data')), 10_000);
      });
      const end = Date.now() + 10_000;
      while (outcomes.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(outcomes.length, 1);
      assert.match(outcomes[0]!, /closed the connection|EPIPE|ECONNRESET|destroyed/);
    } finally {
      await s.close();
    }
  }));

test('a file shorter than the range is an error, not a hang', () =>
  withFile(randomBytes(1000), async (path) => {
    const outcomes: (string | undefined)[] = [];
    const s = await serveRange(path, 0, 1999, outcomes);
    try {
      await download(s.url).catch(() => undefined);
      assert.deepEqual(outcomes, ['the file ended at byte 1000, before byte 1999']);
    } finally {
      await s.close();
    }
  }));
