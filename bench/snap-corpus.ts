// Shared by the snap benchmarks (not a benchmark itself: run as a script it
// only says so, so that `npm run bench` passes over it): a deterministic ~100 MiB tree shaped like a
// real snap: text (docs, scripts, configs), semi-compressible binaries and
// already-compressed assets, in files from 1 KiB to 8 MiB.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const MIB = 1024 * 1024;

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function textBytes(n: number, rnd: () => number, vocab: string[]): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = vocab[rnd() % vocab.length]!;
    const sep = rnd() % 12 === 0 ? '\n' : ' ';
    parts.push(w, sep);
    len += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function binaryBytes(n: number, rnd: () => number): Buffer {
  // Machine-code-like: mostly small values and repeated opcodes, ~2:1 with xz.
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) {
    const r = rnd();
    b[i] = r & 0x0f;
    b[i + 1] = (r >>> 8) & 0x3f;
    b[i + 2] = r & 0x80 ? 0 : (r >>> 16) & 0xff;
    b[i + 3] = 0x48 + ((r >>> 24) & 3);
  }
  return b;
}

function randomBytes(n: number, rnd: () => number): Buffer {
  const b = Buffer.allocUnsafe(Math.ceil(n / 4) * 4);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE(rnd(), i);
  return b.subarray(0, n);
}

/** Writes the corpus under `root` (meta/snap.yaml included); returns its total size in bytes. */
export async function makeSnapCorpus(root: string, totalMiB = 100): Promise<number> {
  const rnd = prng(42);
  const vocab = Array.from({ length: 8000 }, () => {
    const len = 2 + (rnd() % 10);
    let w = '';
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + (rnd() % 26));
    return w;
  });
  await mkdir(join(root, 'meta'), { recursive: true });
  await writeFile(join(root, 'meta', 'snap.yaml'), 'name: bench-snap\nversion: "1.0"\nsummary: benchmark\ndescription: a 100 MiB snap\nbase: core22\n');
  let total = 0;
  const budget = totalMiB * MIB;
  const plan: [string, number, (n: number) => Buffer, number, number][] = [
    ['usr/share/doc', 0.4, (n) => textBytes(n, rnd, vocab), 1024, 1 * MIB],
    ['usr/lib', 0.35, (n) => binaryBytes(n, rnd), 64 * 1024, 8 * MIB],
    ['usr/share/assets', 0.25, (n) => randomBytes(n, rnd), 256 * 1024, 4 * MIB],
  ];
  for (const [dir, share, gen, min, max] of plan) {
    await mkdir(join(root, dir), { recursive: true });
    let left = Math.floor(budget * share);
    for (let i = 0; left > 0; i++) {
      const size = Math.min(left, min + (rnd() % (max - min)));
      await writeFile(join(root, dir, `f${String(i).padStart(4, '0')}`), gen(size));
      left -= size;
      total += size;
    }
  }
  return total;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log('helper for bench/snap-read.ts and bench/snap-pack.ts: nothing to measure');
