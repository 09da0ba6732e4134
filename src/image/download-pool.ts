// Snap downloads (downloader.ts) on this thread, hashed as the files grow by
// the native file hasher (file-hasher.ts) or, without it, on the way with
// node:crypto. No worker threads any more: with the native hasher, receiving
// and writing cost this thread little, and a worker's boot cost more CPU than
// it took off this thread (docs/image.md, Speed). Policy (redirects, retries,
// status errors, digest checks) stays with the caller.
import { download, type DownloadOutcome, type DownloadTask } from './downloader.ts';
import { FileHasher, loadSha3Files, newSha3Files } from './file-hasher.ts';

/** A download: the task with its URL as a URL. */
export type DownloadJob = Omit<DownloadTask, 'url'> & { readonly url: URL };

/** A 200 answer read to its end (or past `limit`), with its digest, or another status, not followed. */
export type DownloadResult = { readonly kind: 'body'; readonly size: number; readonly hex: string } | { readonly kind: 'status'; readonly status: number; readonly location?: string };

export interface DownloadPoolOptions {
  /** `node`: hash with node:crypto on the way; a native kernel name (`avx2`): that kernel; default: the native hasher's best. */
  readonly sha3?: string;
}

/** Downloads into files with their SHA3-384. */
export class DownloadPool {
  private readonly hasher: FileHasher | undefined;

  constructor(opts: DownloadPoolOptions = {}) {
    const sha3 = loadSha3Files(opts.sha3);
    this.hasher = sha3 ? new FileHasher(newSha3Files(sha3, opts.sha3)) : undefined;
  }

  /** GETs `job.url` into `job.dest`; transport errors reject. `onProgress` gets the bytes so far, now and then. */
  async fetch(job: DownloadJob, onProgress?: (bytes: number) => void): Promise<DownloadResult> {
    const file = this.hasher?.track(job.dest);
    let outcome: DownloadOutcome;
    try {
      outcome = await download(
        { ...job, url: job.url.href },
        {
          hashHere: file === undefined,
          onProgress: (bytes) => {
            file?.written(bytes);
            onProgress?.(bytes);
          },
        },
      );
    } catch (err) {
      file?.abandon();
      throw err;
    }
    if (outcome.kind === 'status') {
      file?.abandon();
      return outcome;
    }
    const hex = outcome.hex ?? (await file!.end(outcome.written));
    return { kind: 'body', size: outcome.size, hex };
  }
}
