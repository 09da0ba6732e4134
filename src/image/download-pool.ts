// Snap downloads on this thread and on worker threads (downloader.ts does
// one): each is received and written on one thread, so only the job and its
// result cross threads. (Posting each chunk to a hashing thread cost more CPU
// than the hashing itself, and a fresh buffer per read costs an allocation
// and first-touch page faults.) The files are hashed as they grow by the
// native file hasher (file-hasher.ts), or, without it, on the download thread
// on the way. Policy (redirects, retries, status errors, digest checks) stays
// with the caller.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { makeDownloader, type JobMessage, type ResultMessage } from './downloader.ts';
import { FileHasher, loadSha3Files, newSha3Files, type HashedFile } from './file-hasher.ts';

// The worker runs makeDownloader's own source text. __name: tsx (development)
// compiles with esbuild's keepNames, which wraps inner functions in calls to a
// module-level __name helper that the text does not carry.
const workerSource = (hashHere: boolean): string => `
const __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const download = (${makeDownloader.toString()})({
  createHash: ${hashHere ? "require('node:crypto').createHash" : 'undefined'},
  net: require('node:net'),
  tls: () => require('node:tls'),
  ...require('node:fs'),
  post: (m) => parentPort.postMessage(m),
});
parentPort.on('message', download);
`;

export interface DownloadJob {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The file to write (created or truncated once a 200 answer arrives). */
  readonly dest: string;
  /** Reading stops after more than this many bytes (the announced size). */
  readonly limit: number;
  /** Idle time after which the download fails. */
  readonly timeoutMs: number;
}

/** A 200 answer read to its end (or past `limit`), or another status, not followed. */
export type DownloadResult = { readonly kind: 'body'; readonly size: number; readonly hex: string } | { readonly kind: 'status'; readonly status: number; readonly location?: string };

/** A thread that runs downloads: this one, or a worker. */
interface Lane {
  readonly start: (job: JobMessage) => void;
  readonly worker?: Worker;
  busy: number;
}

interface Pending {
  readonly lane: Lane;
  readonly onProgress: ((bytes: number) => void) | undefined;
  readonly file: HashedFile | undefined;
  readonly resolve: (r: DownloadResult) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Runs downloads on this thread and on `workers` worker threads, each job on
 * the least busy one. Workers take a few tens of ms to boot: create the pool
 * early, and close() it when done.
 */
export class DownloadPool {
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly hasher: FileHasher | undefined;
  private id = 0;

  constructor(workers: number) {
    const sha3 = loadSha3Files();
    this.hasher = sha3 ? new FileHasher(newSha3Files(sha3)) : undefined;
    const hashHere = this.hasher === undefined;
    // The same code as the workers': this thread has no boot cost and mostly waits while snaps download.
    const download = makeDownloader({ createHash: hashHere ? createHash : undefined, net, tls: () => tls, openSync, writeSync, closeSync, post: (m) => this.settle(m) });
    this.lanes.push({ start: download, busy: 0 });
    for (let i = 0; i < workers; i++) {
      // No execArgv: plain JavaScript needs none of the parent's loaders (tsx in development).
      const worker = new Worker(workerSource(hashHere), { eval: true, execArgv: [] });
      const lane: Lane = { start: (job) => worker.postMessage(job), worker, busy: 0 };
      worker.on('message', (m: ResultMessage) => this.settle(m));
      worker.on('error', (err) => this.failAll(lane, err));
      worker.on('exit', (code) => {
        this.lanes.splice(this.lanes.indexOf(lane), 1);
        this.failAll(lane, new Error(`download worker exited (${code})`));
      });
      worker.unref();
      this.lanes.push(lane);
    }
  }

  /** GETs `job.url` into `job.dest`; transport errors reject. `onProgress` gets the bytes so far, now and then. */
  fetch(job: DownloadJob, onProgress?: (bytes: number) => void): Promise<DownloadResult> {
    const id = ++this.id;
    const lane = this.lanes.reduce((a, b) => (b.busy < a.busy ? b : a));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { lane, onProgress, file: this.hasher?.track(job.dest), resolve, reject });
      lane.busy++;
      // A worker with work keeps the process alive; an idle one does not.
      lane.worker?.ref();
      lane.start({ id, url: job.url.href, headers: job.headers, dest: job.dest, limit: job.limit, timeoutMs: job.timeoutMs });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.worker?.terminate()));
  }

  private settle(m: ResultMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.progress !== undefined) {
      p.file?.written(m.progress);
      p.onProgress?.(m.progress);
      return;
    }
    this.done(m.id, p);
    if (m.written !== undefined && p.file) {
      const size = m.size!;
      p.file.end(m.written).then((hex) => p.resolve({ kind: 'body', size, hex }), p.reject);
      return;
    }
    p.file?.abandon();
    if (m.error !== undefined) p.reject(new Error(m.error));
    else if (m.status !== undefined) p.resolve({ kind: 'status', status: m.status, ...(m.location !== undefined ? { location: m.location } : {}) });
    else p.resolve({ kind: 'body', size: m.size!, hex: m.hex! });
  }

  private done(id: number, p: Pending): void {
    this.pending.delete(id);
    if (--p.lane.busy === 0) p.lane.worker?.unref();
  }

  private failAll(lane: Lane, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.lane !== lane) continue;
      this.done(id, p);
      p.file?.abandon();
      p.reject(err);
    }
  }
}
