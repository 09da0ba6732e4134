// SHA3-384 of whole files on worker threads, so hashing (about 280 MB/s per
// core with OpenSSL) overlaps the downloads instead of sharing their thread.
// The worker is plain JavaScript evaluated in place, so it works the same
// from the sources and from the bundled CLI.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buf = Buffer.allocUnsafe(1 << 20);
const streams = new Map();
parentPort.on('message', ({ id, path, chunk, end }) => {
  if (chunk !== undefined || end) {
    let s = streams.get(id);
    if (!s) streams.set(id, (s = { h: createHash('sha3-384'), size: 0 }));
    if (chunk !== undefined) {
      s.h.update(chunk);
      s.size += chunk.byteLength;
    }
    if (end) {
      streams.delete(id);
      parentPort.postMessage({ id, hex: s.h.digest('hex'), size: s.size });
    }
    return;
  }
  let fd;
  try {
    const h = createHash('sha3-384');
    fd = openSync(path, 'r');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
    parentPort.postMessage({ id, hex: h.digest('hex'), size });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
`;

interface Pending {
  resolve: (r: { hex: string; size: number }) => void;
  reject: (e: Error) => void;
}

/** A small pool of hashing workers; close() when done. */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private id = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { id: number; hex?: string; size?: number; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve({ hex: m.hex!, size: m.size! });
      });
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Lowercase hex SHA3-384 and size of a file. */
  digest(path: string): Promise<{ hex: string; size: number }> {
    const id = ++this.id;
    const w = this.workers[this.next++ % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, path });
    });
  }

  /** A digest computed on a worker from chunks fed as they arrive; `end()` resolves it. */
  stream(): { update(chunk: Uint8Array): void; end(): Promise<{ hex: string; size: number }> } {
    const id = ++this.id;
    const w = this.workers[this.next++ % this.workers.length]!;
    const done = new Promise<{ hex: string; size: number }>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    done.catch(() => undefined);
    return {
      update: (chunk) => w.postMessage({ id, chunk }),
      end: () => {
        w.postMessage({ id, end: true });
        return done;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
