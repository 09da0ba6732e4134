// Test helpers: small in-memory trees for the squashfs writer, and temp dirs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BufferSink, writeSquashfs, type WriteOptions, type WriterDirectory, type WriterNode } from '../../src/snap/squashfs/writer.ts';

export const T0 = 1_700_000_000;

export function file(data: Buffer | string, mode = 0o644, mtime = T0): WriterNode {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return {
    type: 'file',
    mode,
    uid: 0,
    gid: 0,
    mtime,
    size: buf.length,
    async *content() {
      // Uneven chunks exercise the writer's re-blocking.
      for (let at = 0; at < buf.length; at += 50_000) yield buf.subarray(at, at + 50_000);
    },
  };
}

export function dir(entries: Record<string, WriterNode>, mode = 0o755, mtime = T0): WriterDirectory {
  return { type: 'directory', mode, uid: 0, gid: 0, mtime, entries: new Map(Object.entries(entries)) };
}

export function symlink(target: string): WriterNode {
  return { type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: T0, target };
}

/** Deterministic pseudo-random bytes (xorshift), compressible when `text` is set. */
export function bytes(n: number, seed = 1, text = false): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed | 1;
  const words = ['snap', 'squashfs', 'gadget', 'kernel', 'store', 'device', 'model', 'serial', '\n', ' '];
  if (text) {
    let at = 0;
    while (at < n) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const w = words[(x >>> 0) % words.length]!;
      at += out.write(w + ' ', at);
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function image(root: WriterDirectory, opts: Partial<WriteOptions> = {}): Promise<Buffer> {
  const sink = new BufferSink();
  await writeSquashfs(root, sink, { mkfsTime: T0, ...opts });
  return sink.toBuffer();
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const d = await mkdtemp(join(tmpdir(), 'snapline-snap-'));
  try {
    return await fn(d);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
}

const TYPE_CHARS: Record<string, string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  'block-device': 'b',
  'char-device': 'c',
  fifo: 'p',
  socket: 's',
};

/** ls-style mode string as unsquashfs prints it. */
export function modeString(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, sc: string): string =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? sc : sc.toUpperCase()) : bits & 1 ? 'x' : '-');
  return (
    TYPE_CHARS[type]! +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** One line of `TZ=UTC unsquashfs -lln` for an entry read by our reader. */
export function llnLine(path: string, st: { type: string; mode: number; uid: number; gid: number; size: number; mtime: number; target?: string; rdev?: { major: number; minor: number } }): string {
  const owner = `${st.uid}/${st.gid}`;
  const pad = 25 - owner.length + 1;
  const size = st.rdev ? `${String(st.rdev.major).padStart(pad - 4)},${String(st.rdev.minor).padStart(3)}` : String(st.size).padStart(pad);
  const d = new Date(st.mtime * 1000).toISOString();
  const time = `${d.slice(0, 10)} ${d.slice(11, 16)}`;
  const name = path === '' ? 'squashfs-root' : `squashfs-root/${path}`;
  return `${modeString(st.type, st.mode)} ${owner} ${size} ${time} ${name}${st.type === 'symlink' ? ` -> ${st.target}` : ''}`;
}
