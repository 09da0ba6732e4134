// Packing a ~100 MiB tree: `snapline pack` (the CLI, a whole process) against
// mksquashfs with the options snap pack gives it, measured in the same run.
// Target (issue 3): ratio <= 2.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeSnapCorpus } from './snap-corpus.ts';

function timeIt(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status ?? r.error})`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const tmp = await mkdtemp(join(tmpdir(), 'snapline-bench-pack-'));
try {
  const src = join(tmp, 'src');
  const bytes = await makeSnapCorpus(src);
  console.log(`tree: ${(bytes / 1048576).toFixed(1)} MiB, ${src}`);
  const ref = join(tmp, 'ref.snap');
  const ours = join(tmp, 'ours.snap');
  const runs = 2;
  let refBest = Infinity;
  let oursBest = Infinity;
  for (let i = 0; i < runs; i++) {
    refBest = Math.min(refBest, timeIt('mksquashfs', [src, ref, '-noappend', '-comp', 'xz', '-no-fragments', '-no-progress', '-quiet', '-all-root', '-no-xattrs']));
    oursBest = Math.min(oursBest, timeIt(process.execPath, ['bin/snapline.js', 'pack', src, '-o', ours]));
  }
  const refSize = (await stat(ref)).size;
  const oursSize = (await stat(ours)).size;
  const v = spawnSync('unsquashfs', ['-lls', ours], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (v.status !== 0) throw new Error('unsquashfs cannot list our image');
  console.log(`mksquashfs (xz, -no-fragments, 2 cores): ${refBest.toFixed(2)} s, ${(refSize / 1048576).toFixed(1)} MiB`);
  console.log(`snapline pack (process, xz preset 0):    ${oursBest.toFixed(2)} s, ${(oursSize / 1048576).toFixed(1)} MiB (${((oursSize / refSize - 1) * 100).toFixed(1)}% larger)`);
  const ratio = oursBest / refBest;
  console.log(`ratio snapline/mksquashfs = ${ratio.toFixed(2)} (target <= 2)`);
  process.exitCode = ratio <= 2 ? 0 : 1;
} finally {
  await rm(tmp, { recursive: true, force: true });
}
