// SHA3-384 of the snap files as they are written, read back from the page
// cache by the native four-lane hasher (native/sha3_lanes.c) on libuv's
// thread pool: while several downloads are under way, their bytes are hashed
// side by side, about four times the speed of hashing each on its own thread
// (which one permutation after another bounds). Downloads then only receive
// and write.
//
// Without the addon (not built, another CPU, or the caller asks for `node`:
// the CLI passes SNAPLINE_SHA3), DownloadPool hashes the bytes on the way
// with node:crypto. `avx2` picks the AVX2 kernel where AVX-512
// would be used.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The addon's exports. */
export interface Sha3FilesModule {
  kernels(): string[];
  Sha3Files: new (bits: 224 | 256 | 384 | 512, kernel?: string) => Sha3Files;
}

export interface PumpEntry {
  readonly stream: number;
  /** Hash the whole blocks below this offset; with `final`, every byte below it, and end the stream. */
  readonly upTo: number;
  readonly final: boolean;
}

export interface Sha3Files {
  open(path: string): number;
  /** At most four entries, distinct streams, none in another pump. `hashed`: each stream's offset after; `digests`: for final entries. */
  pump(entries: readonly PumpEntry[], callback: (err: Error | null, hashed: number[], digests: (Buffer | null)[]) => void): void;
  close(stream: number): void;
}

const ADDON = 'native/build/Release/sha3_lanes.node';
const LANES = 4;
/** Bytes a stream that is still downloading waits for before it is worth a pump (whole blocks of it are hashed then). */
const WORTH_A_PUMP = 1 << 20;

/** The addon, or undefined when it is not built, cannot load, this CPU runs none of its kernels, or `choice` is `node`. */
export function loadSha3Files(choice?: string): Sha3FilesModule | undefined {
  if (choice === 'node') return undefined;
  // From the sources (src/image/) or from the bundle (dist/): the package root is two or one folders up.
  for (const up of ['../../', '../']) {
    const path = fileURLToPath(new URL(up + ADDON, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      const addon = createRequire(import.meta.url)(path) as Sha3FilesModule;
      return addon.kernels().length > 0 ? addon : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A hasher for SHA3-384 files: the kernel `choice` names if this CPU runs it, else the addon's best. */
export function newSha3Files(addon: Sha3FilesModule, choice?: string): Sha3Files {
  return new addon.Sha3Files(384, choice !== undefined && addon.kernels().includes(choice) ? choice : undefined);
}

/** A file being hashed: tell it how much is written, then end() it (or abandon() it). */
export interface HashedFile {
  /** `bytes` from the start of the file are written (only grows). */
  written(bytes: number): void;
  /** The file is complete at `size` bytes: its hex digest. */
  end(size: number): Promise<string>;
  /** No digest wanted (the download failed). */
  abandon(): void;
}

interface Tracked {
  readonly path: string;
  stream: number | undefined;
  written: number;
  hashed: number;
  size: number | undefined;
  busy: boolean;
  abandoned: boolean;
  error?: Error;
  resolve?: (hex: string) => void;
  reject?: (err: Error) => void;
}

/** Hashes files while they are written; one pump at a time, of up to four files. */
export class FileHasher {
  private readonly files = new Set<Tracked>();
  private running = false;

  constructor(private readonly native: Sha3Files) {}

  track(path: string): HashedFile {
    const t: Tracked = { path, stream: undefined, written: 0, hashed: 0, size: undefined, busy: false, abandoned: false };
    this.files.add(t);
    return {
      written: (bytes) => {
        t.written = Math.max(t.written, bytes);
        this.pumpSoon();
      },
      end: (size) =>
        new Promise<string>((resolve, reject) => {
          if (t.error) return reject(t.error);
          t.size = size;
          t.written = size;
          t.resolve = resolve;
          t.reject = reject;
          this.pumpSoon();
        }),
      abandon: () => {
        t.abandoned = true;
        if (!t.busy) this.forget(t);
      },
    };
  }

  private pumpSoon(): void {
    if (this.running) return;
    const ready = [...this.files].filter((t) => !t.abandoned && (t.size !== undefined || t.written - t.hashed >= WORTH_A_PUMP));
    if (ready.length === 0) return;
    // Files that are complete first (the build waits on them), then those furthest behind; any
    // other file with bytes to hash rides along in a free lane.
    const rest = [...this.files].filter((t) => !t.abandoned && !ready.includes(t) && t.written > t.hashed);
    const order = (a: Tracked, b: Tracked) => Number(b.size !== undefined) - Number(a.size !== undefined) || b.written - b.hashed - (a.written - a.hashed);
    const batch = [...ready.sort(order), ...rest.sort(order)].slice(0, LANES);
    const pumped: Tracked[] = [];
    for (const t of batch) {
      try {
        t.stream ??= this.native.open(t.path);
        pumped.push(t);
      } catch (err) {
        this.fail(t, err as Error);
      }
    }
    if (pumped.length === 0) return this.pumpSoon();
    this.running = true;
    for (const t of pumped) t.busy = true;
    const entries: PumpEntry[] = pumped.map((t) => ({ stream: t.stream!, upTo: t.written, final: t.size !== undefined }));
    this.native.pump(entries, (err, hashed, digests) => {
      this.running = false;
      pumped.forEach((t, i) => {
        t.busy = false;
        if (err) return this.fail(t, err);
        t.hashed = hashed[i]!;
        const digest = digests[i];
        if (digest && !t.abandoned) t.resolve!(digest.toString('hex'));
        if (digest || t.abandoned) this.forget(t);
      });
      this.pumpSoon();
    });
  }

  private fail(t: Tracked, err: Error): void {
    this.forget(t);
    t.error = new Error(`cannot hash ${t.path}: ${err.message}`);
    t.reject?.(t.error);
  }

  private forget(t: Tracked): void {
    this.files.delete(t);
    if (t.stream !== undefined) this.native.close(t.stream);
    t.stream = undefined;
  }
}
