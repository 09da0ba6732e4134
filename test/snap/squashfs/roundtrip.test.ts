// Writer → reader round trips on in-memory images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SquashfsReader } from '../../../src/snap/squashfs/reader.ts';
import { BufferSource } from '../../../src/snap/squashfs/source.ts';
import { decodeSuperblock, Flags } from '../../../src/snap/squashfs/format.ts';
import { SquashfsPathError } from '../../../src/snap/errors.ts';
import type { WriterNode } from '../../../src/snap/squashfs/writer.ts';
import { bytes, dir, file, image, symlink, T0 } from '../helpers.ts';

const big = bytes(3 * 131072 + 1234, 7, true);
const rnd = bytes(200_000, 3);
const sparse = Buffer.concat([bytes(1000, 5), Buffer.alloc(131072 * 2), bytes(10, 6)]);

function sampleTree() {
  return dir({
    meta: dir({ 'snap.yaml': file('name: x\nversion: 1\n'), hooks: dir({ 'prepare-device': file('#!/bin/sh\n', 0o755) }) }),
    bin: dir({ tool: file('#!/bin/sh\necho hi\n', 0o4755), 'link-up': symlink('../meta/snap.yaml'), self: symlink('tool'), abs: symlink('/usr/bin/env') }),
    'big.txt': file(big),
    'random.bin': file(rnd),
    'sparse.img': file(sparse),
    empty: file(''),
    'é ü name': file('unicode'),
    fifo: { type: 'fifo', mode: 0o600, uid: 0, gid: 0, mtime: T0 },
    dev: { type: 'char-device', mode: 0o660, uid: 0, gid: 0, mtime: T0, rdev: { major: 4, minor: 300 } },
  });
}

for (const compression of ['xz', 'gzip'] as const) {
  test(`round trip of files, symlinks, sparse blocks and specials (${compression})`, async () => {
    const img = await image(sampleTree(), { compression });
    assert.equal(img.length % 4096, 0);
    const r = await SquashfsReader.open(new BufferSource(img));
    assert.deepEqual((await r.readFile('big.txt')).equals(big), true);
    assert.deepEqual((await r.readFile('random.bin')).equals(rnd), true);
    assert.deepEqual((await r.readFile('sparse.img')).equals(sparse), true);
    assert.equal((await r.readFile('empty')).length, 0);
    assert.equal((await r.readFile('é ü name')).toString(), 'unicode');
    assert.equal((await r.readFile('bin/link-up')).toString(), 'name: x\nversion: 1\n');
    assert.equal(await r.readlink('bin/self'), 'tool');
    const st = await r.stat('bin/tool');
    assert.deepEqual({ type: st.type, mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime, size: st.size }, {
      type: 'file',
      mode: 0o4755,
      uid: 0,
      gid: 0,
      mtime: T0,
      size: 18,
    });
    assert.equal((await r.stat('bin/self', { follow: true })).size, 18);
    assert.deepEqual((await r.stat('dev')).rdev, { major: 4, minor: 300 });
    assert.equal((await r.stat('fifo')).type, 'fifo');
    assert.deepEqual(
      (await r.list('bin')).map((e) => [e.name, e.type]),
      [
        ['abs', 'symlink'],
        ['link-up', 'symlink'],
        ['self', 'symlink'],
        ['tool', 'file'],
      ],
    );
    const paths: string[] = [];
    for await (const e of r.walk()) paths.push(e.path);
    assert.equal(paths.length, 17);
    const chunks: Buffer[] = [];
    for await (const c of r.createReadStream('big.txt')) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(big));
    await r.close();
  });
}

test('superblock says what the writer intended', async () => {
  const img = await image(sampleTree());
  const sb = decodeSuperblock(img, img.length);
  assert.equal(sb.compression, 4);
  assert.equal(sb.blockSize, 131072);
  assert.equal(sb.fragments, 0);
  assert.equal(sb.flags, Flags.NO_FRAG | Flags.NO_XATTR | Flags.EXPORT);
  assert.equal(sb.xattrIdTableStart, undefined);
  assert.equal(sb.noIds, 1);
  assert.equal(sb.inodes, 17);
  assert.equal(sb.mkfsTime, T0);
  assert.ok(sb.bytesUsed <= img.length && img.length - sb.bytesUsed < 4096);
});

test('same tree, same bytes', async () => {
  const a = await image(sampleTree());
  const b = await image(sampleTree(), { concurrency: 1 });
  assert.ok(a.equals(b));
});

test('large directories (several headers and metadata blocks, extended inode) and deep nesting', async () => {
  const entries: Record<string, WriterNode> = {};
  for (let i = 0; i < 3000; i++) entries[`file-with-a-rather-long-name-${String(i).padStart(5, '0')}`] = file(`content ${i}`);
  let deep = dir({ leaf: file('deep') });
  for (let i = 0; i < 60; i++) deep = dir({ [`d${i}`]: deep });
  const img = await image(dir({ many: dir(entries), deep }));
  const r = await SquashfsReader.open(new BufferSource(img));
  const list = await r.list('many');
  assert.equal(list.length, 3000);
  assert.ok((await r.stat('many')).size > 65535, 'listing needs an extended directory inode');
  assert.equal((await r.readFile('many/file-with-a-rather-long-name-02999')).toString(), 'content 2999');
  const path = Array.from({ length: 60 }, (_, i) => `d${59 - i}`).join('/') + '/leaf';
  assert.equal((await r.readFile(`deep/${path}`)).toString(), 'deep');
});

test('path errors are typed and name the path', async () => {
  const r = await SquashfsReader.open(new BufferSource(await image(sampleTree())));
  const cases: [Promise<unknown>, RegExp][] = [
    [r.readFile('nope'), /"nope" does not exist/],
    [r.readFile('bin/tool/x'), /is not a directory/],
    [r.list('big.txt'), /is not a directory/],
    [r.readFile('meta'), /is not a regular file/],
    [r.readFile('bin/abs'), /points outside the image/],
    [r.readFile('../etc/passwd'), /leaves the image/],
    [r.readlink('big.txt'), /is not a symlink/],
    [r.readFile('big.txt', 10), /more than 10/],
  ];
  for (const [p, re] of cases) {
    await assert.rejects(p, (err: unknown) => err instanceof SquashfsPathError && err.code === 'squashfs-path' && re.test(err.message));
  }
  assert.equal(await r.exists('bin/abs'), true);
  assert.equal(await r.exists('bin/nope'), false);
});

test('symlink loops stop at the follow limit', async () => {
  const r = await SquashfsReader.open(new BufferSource(await image(dir({ a: symlink('b'), b: symlink('a'), c: symlink('c/x') }))));
  await assert.rejects(r.readFile('a'), /too many levels of symbolic links/);
  await assert.rejects(r.readFile('c'), /too many levels of symbolic links/);
});
