// Shared helpers for the squashfs interop tests: is squashfs-tools here, run it,
// and build a source tree on disk that exercises the format.
import { spawnSync } from 'node:child_process';
import { chmod, link, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytes } from '../snap/helpers.ts';

/** Why squashfs tests must skip, or false when mksquashfs and unsquashfs are installed. */
export const SKIP_SQUASHFS: string | false = (() => {
  for (const tool of ['mksquashfs', 'unsquashfs']) {
    // unsquashfs -version exits 1 on Debian's 4.5.1; a missing binary is what matters.
    const r = spawnSync(tool, ['-version'], { encoding: 'utf8' });
    if (r.error || !/version/.test(r.stdout + r.stderr)) return `${tool} is not installed (apt-get install squashfs-tools); CI installs it`;
  }
  return false;
})();

/** Runs a command, returning stdout; throws with stderr on failure. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Buffer {
  const r = spawnSync(cmd, args, { env: { ...process.env, TZ: 'UTC', ...opts.env }, cwd: opts.cwd, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout;
}

/** `unsquashfs -lln` lines (TZ=UTC). */
export function unsquashfsList(img: string): string[] {
  return run('unsquashfs', ['-lln', img]).toString('utf8').trimEnd().split('\n');
}

/** Fields of `unsquashfs -s`. */
export function unsquashfsStat(img: string): string {
  return run('unsquashfs', ['-s', img]).toString('utf8');
}

export const BIG_TEXT = bytes(2 * 1024 * 1024 + 12345, 21, true);
export const BIG_RANDOM = bytes(1024 * 1024 + 777, 22);

/**
 * A tree with what snaps contain and the format must get right: nested
 * directories, executables and odd modes, symlinks (relative, absolute,
 * dangling), empty files and directories, a sparse-ish file, many small
 * files (several directory headers and metadata blocks), big multi-block
 * files, long and non-ASCII names.
 */
export async function makeSourceTree(root: string, opts: { manyFiles?: number } = {}): Promise<void> {
  await mkdir(join(root, 'meta', 'hooks'), { recursive: true });
  await writeFile(join(root, 'meta', 'snap.yaml'), 'name: interop\nversion: "1.0"\nsummary: s\ndescription: d\napps:\n  tool:\n    command: bin/tool\n');
  await writeFile(join(root, 'meta', 'hooks', 'install'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  await mkdir(join(root, 'bin'));
  await writeFile(join(root, 'bin', 'tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
  await writeFile(join(root, 'bin', 'suid'), 'x', { mode: 0o755 });
  await chmod(join(root, 'bin', 'suid'), 0o4755);
  await symlink('tool', join(root, 'bin', 'tool-link'));
  await symlink('/usr/bin/env', join(root, 'bin', 'abs-link'));
  await symlink('does/not/exist', join(root, 'bin', 'dangling'));
  await mkdir(join(root, 'empty-dir'));
  await writeFile(join(root, 'empty-file'), '');
  await mkdir(join(root, 'data', 'deep', 'er', 'still'), { recursive: true });
  await writeFile(join(root, 'data', 'deep', 'er', 'still', 'leaf.txt'), 'leaf\n');
  await writeFile(join(root, 'data', 'big-text.txt'), BIG_TEXT);
  await writeFile(join(root, 'data', 'big-random.bin'), BIG_RANDOM);
  await writeFile(join(root, 'data', 'zeros-and-data.img'), Buffer.concat([Buffer.alloc(300_000), bytes(1000, 3), Buffer.alloc(140_000)]));
  await writeFile(join(root, 'data', 'exactly-one-block'), bytes(131072, 4, true));
  await writeFile(join(root, 'data', `${'long-name-'.repeat(24)}end`), 'long');
  await writeFile(join(root, 'data', 'ünïcødé ☃.txt'), 'unicode name');
  await writeFile(join(root, 'data', 'private'), 'secret', { mode: 0o600 });
  await link(join(root, 'bin', 'tool'), join(root, 'data', 'hardlink-to-tool'));
  const many = opts.manyFiles ?? 600;
  await mkdir(join(root, 'many'));
  for (let i = 0; i < many; i++) await writeFile(join(root, 'many', `file-${String(i).padStart(5, '0')}.txt`), `small file number ${i}\n`.repeat((i % 7) + 1));
  // Fixed times so listings compare exactly.
  const t = new Date(1_700_000_000_000);
  for (const p of ['bin/tool', 'data/big-text.txt', 'many', 'data', 'bin', 'meta', '.']) await utimes(join(root, p), t, t);
}
