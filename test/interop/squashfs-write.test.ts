// Interop, writing: images Snapline writes are listed and extracted by
// unsquashfs with identical content, modes and symlinks; `unsquashfs -s`
// reports what we intended; the listing equals what mksquashfs (and the real
// `snap pack`) produce from the same tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, open, readFile, readlink, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packSnap, FileSink } from '../../src/snap/pack.ts';
import { writeSquashfs } from '../../src/snap/squashfs/writer.ts';
import { SquashfsReader } from '../../src/snap/squashfs/reader.ts';
import { dir, file, withTempDir } from '../snap/helpers.ts';
import { SKIP_SQUASHFS, makeSourceTree, run, unsquashfsList, unsquashfsStat } from './squashfs-tools.ts';

async function compareTrees(a: string, b: string, rel = ''): Promise<void> {
  const names = (await readdir(join(a, rel))).sort();
  assert.deepEqual((await readdir(join(b, rel))).sort(), names, `entries of ${rel || '/'}`);
  for (const n of names) {
    const p = join(rel, n);
    const sa = await lstat(join(a, p));
    const sb = await lstat(join(b, p));
    assert.equal(sb.mode, sa.mode, `mode of ${p}`);
    if (sa.isDirectory()) await compareTrees(a, b, p);
    else if (sa.isSymbolicLink()) assert.equal(await readlink(join(b, p)), await readlink(join(a, p)), `target of ${p}`);
    else assert.ok((await readFile(join(b, p))).equals(await readFile(join(a, p))), `content of ${p}`);
  }
}

/** Directory sizes depend on how the listing is split into headers; everything else must match. */
function withoutDirSizes(lines: string[]): string[] {
  return lines.map((l) => (l.startsWith('d') ? l.replace(/^(\S+ \S+) +\d+ /, '$1 <dir> ') : l));
}

test('snapline pack output: unsquashfs -s, -lln and extraction agree with the source and with mksquashfs', { skip: SKIP_SQUASHFS }, async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeSourceTree(src);
    const { path } = await packSnap(src, { output: join(tmp, 'ours.snap') });

    const s = unsquashfsStat(path);
    for (const line of [
      'Found a valid SQUASHFS 4:0 superblock',
      'Compression xz',
      'Block size 131072',
      'Filesystem is exportable via NFS',
      'Inodes are compressed',
      'Data is compressed',
      'Fragments are not stored',
      'Xattrs are not stored',
      'Number of fragments 0',
      'Number of ids 1',
    ]) {
      assert.ok(s.includes(line), `unsquashfs -s says ${JSON.stringify(line)}:\n${s}`);
    }
    const size = (await lstat(path)).size;
    assert.equal(size % 4096, 0);

    const ref = join(tmp, 'ref.sqfs');
    run('mksquashfs', ['.', ref, '-noappend', '-comp', 'xz', '-no-fragments', '-no-progress', '-quiet', '-all-root', '-no-xattrs'], { cwd: src });
    const ours = unsquashfsList(path);
    assert.deepEqual(withoutDirSizes(ours), withoutDirSizes(unsquashfsList(ref)));

    // -l lists the same names as our reader walks; -lls is -lln with owner names (all root).
    const r = await SquashfsReader.openFile(path);
    const walked: string[] = [];
    for await (const e of r.walk()) walked.push(e.path === '' ? 'squashfs-root' : `squashfs-root/${e.path}`);
    await r.close();
    assert.deepEqual(run('unsquashfs', ['-l', path]).toString('utf8').trimEnd().split('\n'), walked);
    const lls = run('unsquashfs', ['-lls', path]).toString('utf8').trimEnd().split('\n');
    assert.deepEqual(
      lls.map((l) => l.replace(/^(\S+) root\/root( +)/, (_m, mode: string, sp: string) => `${mode} 0/0${sp}${' '.repeat(6)}`)),
      ours,
    );

    const out = join(tmp, 'extracted');
    run('unsquashfs', ['-d', out, '-no-progress', path]);
    await compareTrees(src, out);
    // Files unsquashfs writes are owned by whoever runs it; -lln above proved 0/0.
  });
});

test('snap pack (the real one) and snapline pack list the same', { skip: SKIP_SQUASHFS || (spawnSync('sh', ['-c', 'command -v snap']).status !== 0 ? 'the snap command is not installed' : false) }, async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeSourceTree(src, { manyFiles: 50 });
    await mkdir(join(tmp, 'real'));
    const r = spawnSync('snap', ['pack', src, join(tmp, 'real')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`snap pack failed: ${r.stderr}`);
    const ours = await packSnap(src, { output: tmp });
    assert.equal(ours.path, join(tmp, 'interop_1.0_all.snap'));
    const real = join(tmp, 'real', 'interop_1.0_all.snap');
    assert.deepEqual(withoutDirSizes(unsquashfsList(ours.path)), withoutDirSizes(unsquashfsList(real)));
  });
});

test('writer options: gzip and 4 KiB blocks, no export table', { skip: SKIP_SQUASHFS }, async () => {
  await withTempDir(async (tmp) => {
    const img = join(tmp, 'g.sqfs');
    const fh = await open(img, 'w');
    const data = Buffer.alloc(20000, 'abc');
    await writeSquashfs(dir({ a: file(data), b: dir({ c: file('c') }) }), new FileSink(fh), { mkfsTime: 0, compression: 'gzip', blockSize: 4096, exportTable: false });
    await fh.close();
    const s = unsquashfsStat(img);
    assert.match(s, /Compression gzip/);
    assert.match(s, /Block size 4096/);
    assert.match(s, /Filesystem is not exportable via NFS/);
    assert.ok(run('unsquashfs', ['-cat', img, 'a']).equals(data));
    assert.equal(run('unsquashfs', ['-cat', img, 'b/c']).toString(), 'c');
  });
});

test('the Linux kernel mounts what we write (when this machine lets us mount)', { skip: SKIP_SQUASHFS }, async (t) => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeSourceTree(src, { manyFiles: 300 });
    const { path } = await packSnap(src, { output: tmp });
    const mnt = join(tmp, 'mnt');
    await mkdir(mnt);
    const m = spawnSync('mount', ['-t', 'squashfs', '-o', 'loop,ro', path, mnt], { encoding: 'utf8' });
    if (m.status !== 0) {
      t.skip(`cannot mount here: ${(m.stderr || String(m.error)).trim()}`);
      return;
    }
    try {
      await compareTrees(src, mnt);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
