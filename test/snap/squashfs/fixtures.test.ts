// Reading images made by mksquashfs (committed fixtures): listing identical to
// `unsquashfs -lln`, contents as generated, fragments and tails, metadata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { SquashfsReader } from '../../../src/snap/squashfs/reader.ts';
import { readSnapMetadata } from '../../../src/snap/snap-file.ts';
import { llnLine } from '../helpers.ts';
import { SquashfsUnsupportedCompressionError } from '../../../src/snap/errors.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const NAMES = ['xz-frag', 'gzip-frag', 'xz-nofrag', 'zstd-frag', 'xattr', 'raw-4k'];

function generated(name: string): Buffer {
  if (name === 'two-blocks.txt') return Buffer.from(Array.from({ length: 3300 }, (_, i) => `line ${i} of a file spanning two data blocks\n`).join(''));
  if (name === 'three-blocks.txt') return Buffer.from(Array.from({ length: 1200 }, (_, i) => `line ${i}\n`).join(''));
  const i = Number(/small(\d+)/.exec(name)![1]);
  return Buffer.from(`small file ${i}\n`.repeat(i + 1));
}

for (const name of NAMES) {
  test(`mksquashfs image ${name}: listing and contents`, async () => {
    const r = await SquashfsReader.openFile(new URL(`${name}.sqfs`, FIXTURES).pathname);
    try {
      const lines: string[] = [];
      for await (const e of r.walk()) {
        lines.push(llnLine(e.path, e.stat));
        if (e.stat.type === 'file' && e.path.startsWith('usr/share/doc/')) {
          const base = e.path.slice('usr/share/doc/'.length);
          assert.ok((await r.readFile(e.path)).equals(generated(base)), `${e.path} content`);
        }
      }
      const expected = (await readFile(new URL(`${name}.lln.txt`, FIXTURES), 'utf8')).trimEnd().split('\n');
      assert.deepEqual(lines, expected);
      const meta = await readSnapMetadata(r);
      assert.equal(meta.snapYaml.name, 'fixture');
      assert.equal(meta.snapYaml.type, 'gadget');
      assert.equal(meta.hasPrepareDeviceHook, true);
      assert.deepEqual(meta.hooks, ['prepare-device']);
      assert.equal(meta.gadget?.volumes.pc?.bootloader, 'grub');
      assert.equal((await r.readFile('bin/yaml-link')).toString(), 'name: fixture\nversion: "1.0"\ntype: gadget\n');
    } finally {
      await r.close();
    }
  });
}

test('lzo images are refused with a typed error naming the compressor', async () => {
  await assert.rejects(SquashfsReader.openFile(new URL('lzo.sqfs', FIXTURES).pathname), (err: unknown) => {
    const e = err as SquashfsUnsupportedCompressionError;
    return e instanceof SquashfsUnsupportedCompressionError && e.code === 'squashfs-unsupported-compression' && e.compressor === 'lzo' && /lzo/.test(e.message);
  });
});
