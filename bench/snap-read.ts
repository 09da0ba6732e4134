// Reading meta/snap.yaml from a ~100 MiB snap: Snapline's reader (open the
// file, read the superblock and tables it needs, read the file, close) against
// `unsquashfs -cat` on the same image, measured in the same run.
// Target (issue 3): ratio <= 2.
//
// The primary figure is the library call, which is how the store, the image
// builder and the device agent read snaps. unsquashfs is a whole process, so
// its time includes exec and start-up; a second line gives our figure for a
// whole process too (node plus the TypeScript loader), for context.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SquashfsReader } from '../src/snap/squashfs/reader.ts';
import { makeSnapCorpus } from './snap-corpus.ts';

const RUNS = 30;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const tmp = await mkdtemp(join(tmpdir(), 'snapline-bench-read-'));
try {
  const src = join(tmp, 'src');
  await makeSnapCorpus(src);
  const img = join(tmp, 'bench.snap');
  // The image as snap pack makes it (xz, no fragments, all root).
  const mk = spawnSync('mksquashfs', [src, img, '-noappend', '-comp', 'xz', '-no-fragments', '-no-progress', '-quiet', '-all-root', '-no-xattrs']);
  if (mk.status !== 0) throw new Error('mksquashfs failed');
  const expected = spawnSync('unsquashfs', ['-cat', img, 'meta/snap.yaml']).stdout;

  const ref: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = process.hrtime.bigint();
    const r = spawnSync('unsquashfs', ['-cat', img, 'meta/snap.yaml']);
    ref.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error('unsquashfs -cat failed');

    t0 = process.hrtime.bigint();
    const reader = await SquashfsReader.openFile(img);
    const yaml = await reader.readFile('meta/snap.yaml');
    await reader.close();
    ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!yaml.equals(expected)) throw new Error('contents differ from unsquashfs -cat');
  }

  // Whole-process figure for context: node + tsx loading the reader.
  const script = join(tmp, 'cat.mts');
  await writeFile(
    script,
    `import { SquashfsReader } from ${JSON.stringify(new URL('../src/snap/squashfs/reader.ts', import.meta.url).pathname)};\n` +
      `const r = await SquashfsReader.openFile(process.argv[2]); process.stdout.write(await r.readFile('meta/snap.yaml')); await r.close();\n`,
  );
  const proc: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, img], { cwd: new URL('..', import.meta.url).pathname });
    proc.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0 || !r.stdout.equals(expected)) throw new Error(`process read failed: ${r.stderr}`);
  }

  const refMs = median(ref);
  const oursMs = median(ours);
  console.log(`image: 100 MiB tree, ${img}`);
  console.log(`unsquashfs -cat meta/snap.yaml: median ${refMs.toFixed(2)} ms over ${RUNS} runs`);
  console.log(`snapline reader (open + read + close, in process): median ${oursMs.toFixed(2)} ms over ${RUNS} runs`);
  console.log(`snapline reader as a whole process (node + tsx start-up): median ${median(proc).toFixed(0)} ms over 5 runs (for context)`);
  const ratio = oursMs / refMs;
  console.log(`ratio snapline/unsquashfs = ${ratio.toFixed(2)} (target <= 2)`);
  process.exitCode = ratio <= 2 ? 0 : 1;
} finally {
  await rm(tmp, { recursive: true, force: true });
}
