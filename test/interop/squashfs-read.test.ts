// Interop, reading: images made by Debian's mksquashfs (xz and gzip, with and
// without fragments, symlinks, many files, big files) are read identically to
// `unsquashfs -lln` and `unsquashfs -cat`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SquashfsReader } from '../../src/snap/squashfs/reader.ts';
import { readSnapMetadata } from '../../src/snap/snap-file.ts';
import { llnLine, withTempDir } from '../snap/helpers.ts';
import { SKIP_SQUASHFS, makeSourceTree, run, unsquashfsList } from './squashfs-tools.ts';

const VARIANTS: [string, string[]][] = [
  ['xz, fragments', ['-comp', 'xz']],
  ['xz, no fragments, as snap pack', ['-comp', 'xz', '-no-fragments', '-all-root', '-no-xattrs']],
  ['gzip, fragments, always-use-fragments', ['-comp', 'gzip', '-always-use-fragments']],
  ['gzip, no fragments, 4 KiB blocks, no exports', ['-comp', 'gzip', '-no-fragments', '-b', '4096', '-no-exports']],
  ['xz, 1 MiB blocks, no duplicates check, bcj-free', ['-comp', 'xz', '-b', '1M', '-no-duplicates']],
  ['zstd, fragments', ['-comp', 'zstd']],
  ['uncompressed metadata and data', ['-comp', 'gzip', '-noI', '-noD', '-noF', '-noId']],
];

test('images made by mksquashfs read identically to unsquashfs -lln and -cat', { skip: SKIP_SQUASHFS }, async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeSourceTree(src);
    for (const [name, opts] of VARIANTS) {
      const img = join(tmp, 'img.sqfs');
      run('mksquashfs', [src, img, '-noappend', '-quiet', '-no-progress', ...opts]);
      const r = await SquashfsReader.openFile(img);
      try {
        const ours: string[] = [];
        const files: string[] = [];
        for await (const e of r.walk()) {
          ours.push(llnLine(e.path, e.stat));
          if (e.stat.type === 'file') files.push(e.path);
        }
        assert.deepEqual(ours, unsquashfsList(img), `${name}: listing`);
        // Every file against the source tree, and a sample through unsquashfs -cat.
        for (const [i, f] of files.entries()) {
          const mine = await r.readFile(f);
          assert.ok(mine.equals(await readFile(join(src, f))), `${name}: ${f} content`);
          if (!f.startsWith('many/') || i % 300 === 0) assert.ok(mine.equals(run('unsquashfs', ['-cat', img, f])), `${name}: ${f} vs unsquashfs -cat`);
        }
        assert.equal(await r.readlink('bin/tool-link'), 'tool');
        assert.equal((await r.readFile('bin/tool-link')).toString(), '#!/bin/sh\necho tool\n');
        const meta = await readSnapMetadata(r);
        assert.equal(meta.snapYaml.name, 'interop');
        assert.deepEqual(meta.hooks, ['install']);
      } finally {
        await r.close();
      }
    }
  });
});

test('a streamed big file equals unsquashfs -cat', { skip: SKIP_SQUASHFS }, async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeSourceTree(src, { manyFiles: 10 });
    const img = join(tmp, 'img.sqfs');
    run('mksquashfs', [src, img, '-noappend', '-quiet', '-no-progress', '-comp', 'xz']);
    const r = await SquashfsReader.openFile(img);
    const chunks: Buffer[] = [];
    for await (const c of r.createReadStream('data/big-random.bin')) chunks.push(c as Buffer);
    await r.close();
    assert.ok(Buffer.concat(chunks).equals(run('unsquashfs', ['-cat', img, 'data/big-random.bin'])));
  });
});
