// BlobStore on a local (or shared) filesystem. Blobs live at
// ROOT/sha3-384/<first two hex digits>/<hex digest>. An upload is written to
// ROOT/tmp (same filesystem, so rename is atomic), fsynced, then renamed into
// place and the directory fsynced: readers see either no blob or all of it.
//
// Crashed uploads (docs/platform.md, Blobs): a temporary file is named after
// its writer, `<host>_<boot id>_<pid>_<uuid>.part`, and its mtime is a
// heartbeat, touched every `heartbeatMs` while the upload lives. Any process
// sharing the folder tells a dead writer's file from a live one: on the same
// host and boot, by whether the pid is alive (and, against a reused pid,
// whether the heartbeat is older than `staleMs`); from another boot of this
// host, always dead; from another host (shared storage), by the heartbeat
// alone. `removeDeadUploads` runs at open and every `sweepIntervalMs`.
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo, BlobRead, BlobStore, ByteRange, DeleteOptions, PutOptions, StoredBlob } from './blob-store.contract.ts';
import { BlobMeter, isSourceFailure, parseBlobDigest, resolveRange } from './blob-digest.ts';
import { sendFileRange } from './send-file.ts';
import { BlobError } from './errors.ts';

const TMP_SUFFIX = '.part';
/** `<host>_<boot id>_<pid>_<uuid>.part`: who writes a temporary file. */
const OWNED_TMP = /^([A-Za-z0-9-]+)_([0-9a-f]+)_(\d+)_[0-9a-f-]+\.part$/;

export interface FsBlobStoreOptions {
  /** How often a live upload touches its temporary file's mtime (default 5 s). */
  heartbeatMs?: number;
  /** A temporary file whose heartbeat is older than this is dead whoever wrote it (default 60 s; keep it well above heartbeatMs and the clock skew between hosts sharing the folder). */
  staleMs?: number;
  /** Removes dead uploads' files this often (default 60 s; 0: only at open). */
  sweepIntervalMs?: number;
  /** Who this process is, for its temporary files' names (default: this host, boot and pid; tests pretend to be others). */
  owner?: { host: string; boot: string; pid: number };
}

/** This machine's boot id (Linux), so files of a writer from a previous boot are known dead whatever their pid. */
function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').toLowerCase() || '0';
  } catch {
    return '0';
  }
}

/** Whether a process with this pid exists on this host (EPERM: it does, owned by someone else). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ACTIVE_UPLOADS = new Set<string>();

/** Filesystem BlobStore; create with `FsBlobStore.open(dir)`. */
export class FsBlobStore implements BlobStore {
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private readonly owner: { host: string; boot: string; pid: number };
  private readonly tmpPrefix: string;
  /** This process's uploads in flight, whichever FsBlobStore of it writes them (their temporary files' names). */
  private readonly active = ACTIVE_UPLOADS;
  private sweeper: NodeJS.Timeout | undefined;

  private constructor(
    readonly root: string,
    private readonly tmpDir: string,
    private readonly blobDir: string,
    options: FsBlobStoreOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5000;
    this.staleMs = options.staleMs ?? 60_000;
    this.owner = options.owner ?? { host: hostname().replace(/[^A-Za-z0-9-]/g, '-').slice(0, 64) || 'host', boot: currentBootId(), pid: process.pid };
    this.tmpPrefix = `${this.owner.host}_${this.owner.boot}_${this.owner.pid}_`;
  }

  /** Opens (creating if needed) a blob store rooted at `root`, removes dead uploads' files, and keeps doing so every `sweepIntervalMs`. */
  static async open(root: string, options: FsBlobStoreOptions = {}): Promise<FsBlobStore> {
    const store = new FsBlobStore(root, join(root, 'tmp'), join(root, 'sha3-384'), options);
    await mkdir(store.tmpDir, { recursive: true });
    await mkdir(store.blobDir, { recursive: true });
    await store.removeDeadUploads();
    const every = options.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      store.sweeper = setInterval(() => void store.removeDeadUploads().catch(() => undefined), every);
      store.sweeper.unref();
    }
    return store;
  }

  /** Stops the periodic sweep (uploads in flight go on). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private pathOf(hex: string): string {
    return join(this.blobDir, hex.slice(0, 2), hex);
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions): Promise<BlobInfo> {
    const tmpName = `${this.tmpPrefix}${randomUUID()}${TMP_SUFFIX}`;
    const tmp = join(this.tmpDir, tmpName);
    this.active.add(tmpName);
    const heartbeat = setInterval(() => void touch(tmp), this.heartbeatMs);
    heartbeat.unref();
    try {
      return await this.write(source, options, tmp);
    } finally {
      clearInterval(heartbeat);
      this.active.delete(tmpName);
    }
  }

  private async write(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions, tmp: string): Promise<BlobInfo> {
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
      // The blob's mtime is when it was stored: the store's orphan sweep
      // counts its grace period from there (a new inode, also when the same
      // bytes were stored before, so a sweep never takes a just-stored blob).
      await touch(tmp);
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

  /**
   * Removes a blob; with `storedBefore`, only a blob stored before then. The
   * file is first moved aside, atomically: when what was moved turns out to
   * be newer (the same bytes stored again between the check and the move),
   * it is put back, so a concurrent put of the same content is never lost.
   */
  async delete(name: string, options: DeleteOptions = {}): Promise<boolean> {
    const { hex } = parseBlobDigest(name);
    const path = this.pathOf(hex);
    try {
      if (options.storedBefore === undefined) {
        await unlink(path);
        return true;
      }
      const cutoff = options.storedBefore.getTime();
      if ((await stat(path)).mtimeMs >= cutoff) return false;
      const asideName = `${this.tmpPrefix}${randomUUID()}${TMP_SUFFIX}`;
      const aside = join(this.tmpDir, asideName);
      this.active.add(asideName);
      try {
        await rename(path, aside);
        if ((await stat(aside)).mtimeMs < cutoff) {
          await unlink(aside);
          return true;
        }
        await link(aside, path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err; // stored again meanwhile: that one stays
        });
        await unlink(aside);
        return false;
      } finally {
        this.active.delete(asideName);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every stored blob, with when it was stored (its mtime). */
  async *list(): AsyncIterable<StoredBlob> {
    for (const prefix of await readdir(this.blobDir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const hex of await readdir(join(this.blobDir, prefix)).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{96}$/.test(hex) || !hex.startsWith(prefix)) continue;
        try {
          const st = await stat(join(this.blobDir, prefix, hex));
          yield { hex, size: st.size, storedAt: new Date(st.mtimeMs) };
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
    }
  }

  /** Why a temporary file belongs to no live upload, or undefined when its writer may still be alive. */
  private deadReason(entry: string, mtimeMs: number, now: number): string | undefined {
    if (this.active.has(entry)) return undefined;
    const stale = now - mtimeMs > this.staleMs;
    const m = OWNED_TMP.exec(entry);
    if (!m) return stale ? 'no owner, heartbeat stale' : undefined;
    const [, host, boot, pidText] = m;
    const pid = Number(pidText);
    if (host !== this.owner.host) return stale ? 'other host, heartbeat stale' : undefined;
    if (boot !== this.owner.boot) return 'writer from an earlier boot';
    if (pid === this.owner.pid) return 'this process, not uploading it'; // not in `active`: a previous process with our pid
    if (!pidAlive(pid)) return 'writer process gone';
    return stale ? 'heartbeat stale (pid reused)' : undefined;
  }

  /**
   * Removes the temporary files of uploads whose writer is dead (see the
   * head of this file); a live upload's file is kept, whichever process on
   * whichever host sharing the folder writes it. Resolves how many it removed.
   */
  async removeDeadUploads(now: Date = new Date()): Promise<number> {
    let removed = 0;
    for (const entry of await readdir(this.tmpDir)) {
      if (!entry.endsWith(TMP_SUFFIX)) continue;
      const path = join(this.tmpDir, entry);
      try {
        if (this.deadReason(entry, (await stat(path)).mtimeMs, now.getTime()) === undefined) continue;
        await unlink(path);
        removed++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }
}

/** Sets a file's mtime to now (the upload heartbeat); a file already gone is fine. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
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
