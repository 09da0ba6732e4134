// snapline pack and snap info: directory → .snap → read back; reproducibility,
// exclusions, snapd's container checks, CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packSnap } from '../../src/snap/pack.ts';
import { snapFileInfo, readSnapMetadata } from '../../src/snap/snap-file.ts';
import { SquashfsReader } from '../../src/snap/squashfs/reader.ts';
import { SnapPackError, SnapYamlError, GadgetYamlError } from '../../src/snap/errors.ts';
import { runCli } from '../helpers/cli.ts';
import { bytes, withTempDir } from './helpers.ts';

const SNAP_YAML = 'name: hello-pack\nversion: "1.0"\nsummary: s\ndescription: d\nbase: core22\napps:\n  hello:\n    command: bin/hello\n';
const big = bytes(400_000, 11, true);

async function makeTree(root: string, yaml = SNAP_YAML): Promise<void> {
  await mkdir(join(root, 'meta', 'hooks'), { recursive: true });
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, '.git'));
  await mkdir(join(root, 'lib', 'sub'), { recursive: true });
  await writeFile(join(root, 'meta', 'snap.yaml'), yaml);
  await writeFile(join(root, 'meta', 'hooks', 'configure'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(root, 'bin', 'hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await writeFile(join(root, 'lib', 'big.bin'), big);
  await writeFile(join(root, 'lib', 'sub', 'old.snap'), 'excluded anywhere');
  await writeFile(join(root, 'lib', 'notes.txt~'), 'excluded anywhere');
  await writeFile(join(root, '.git', 'HEAD'), 'excluded at top');
  await symlink('../bin/hello', join(root, 'lib', 'hello-link'));
  await chmod(join(root, 'lib', 'big.bin'), 0o640);
}

test('pack writes <name>_<version>_<arch>.snap that reads back with root ownership and exclusions applied', async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeTree(src);
    const res = await packSnap(src, { output: tmp });
    assert.equal(res.path, join(tmp, 'hello-pack_1.0_all.snap'));
    assert.equal((await packSnap(src, { output: join(tmp, 'new', 'dir') + '/' })).path, join(tmp, 'new', 'dir', 'hello-pack_1.0_all.snap'));
    assert.equal((await packSnap(src, { output: 'rel.snap', cwd: tmp })).path, join(tmp, 'rel.snap'));
    const file = await readFile(res.path);
    assert.equal(file.length % 4096, 0);
    assert.equal(res.size, file.length);
    assert.equal(res.sha3_384, createHash('sha3-384').update(file).digest('hex'));
    const r = await SquashfsReader.openFile(res.path);
    try {
      const paths: string[] = [];
      for await (const e of r.walk()) {
        paths.push(e.path);
        assert.equal(e.stat.uid, 0);
        assert.equal(e.stat.gid, 0);
      }
      assert.deepEqual(paths, ['', 'bin', 'bin/hello', 'lib', 'lib/big.bin', 'lib/hello-link', 'lib/sub', 'meta', 'meta/hooks', 'meta/hooks/configure', 'meta/snap.yaml']);
      assert.ok((await r.readFile('lib/big.bin')).equals(big));
      assert.equal((await r.stat('lib/big.bin')).mode, 0o640);
      assert.equal(await r.readlink('lib/hello-link'), '../bin/hello');
      const meta = await readSnapMetadata(r);
      assert.deepEqual(meta.hooks, ['configure']);
      assert.equal(meta.hasPrepareDeviceHook, false);
    } finally {
      await r.close();
    }
    const info = await snapFileInfo(res.path);
    assert.deepEqual(
      { ...info },
      {
        name: 'hello-pack',
        version: '1.0',
        type: 'app',
        base: 'core22',
        confinement: 'strict',
        grade: 'stable',
        architectures: ['all'],
        size: file.length,
        sha3_384: res.sha3_384,
        hooks: ['configure'],
      },
    );
  });
});

test('pack is reproducible: same tree, same bytes; fixed mtime ignores file times', async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeTree(src);
    const a = await readFile((await packSnap(src, { output: join(tmp, 'a.snap') })).path);
    const b = await readFile((await packSnap(src, { output: join(tmp, 'b.snap'), concurrency: 1 })).path);
    assert.ok(a.equals(b));
    const copy = join(tmp, 'copy');
    await cp(src, copy, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    // Symlink times are not preserved by cp: pin them with a fixed mtime for this comparison.
    const c1 = await readFile((await packSnap(src, { output: join(tmp, 'c1.snap'), mtime: 1_600_000_000 })).path);
    await utimes(join(copy, 'bin', 'hello'), new Date(), new Date());
    const c2 = await readFile((await packSnap(copy, { output: join(tmp, 'c2.snap'), mtime: 1_600_000_000 })).path);
    assert.ok(c1.equals(c2));
    assert.ok(!a.equals(c1));
  });
});

test('gadget snaps need a valid gadget.yaml; the prepare-device hook is discovered', async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'gadget');
    await mkdir(join(src, 'meta', 'hooks'), { recursive: true });
    await writeFile(join(src, 'meta', 'snap.yaml'), 'name: pc\nversion: "22-1"\ntype: gadget\nbase: core22\n');
    await writeFile(join(src, 'meta', 'hooks', 'prepare-device'), '#!/bin/sh\nsnapctl set device-service.url=http://vault/v1/\n', { mode: 0o755 });
    await assert.rejects(packSnap(src, { output: tmp }), GadgetYamlError);
    await writeFile(join(src, 'meta', 'gadget.yaml'), 'volumes:\n  pc:\n    bootloader: grub\n');
    const res = await packSnap(src, { output: tmp });
    assert.equal(res.path, join(tmp, 'pc_22-1_all.snap'));
    const r = await SquashfsReader.openFile(res.path);
    const meta = await readSnapMetadata(r);
    await r.close();
    assert.equal(meta.hasPrepareDeviceHook, true);
    assert.deepEqual(meta.hooks, ['prepare-device']);
    assert.equal(meta.gadget?.volumes['pc']?.bootloader, 'grub');
  });
});

test('pack refuses what snap pack refuses', async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await assert.rejects(packSnap(src), (e: unknown) => e instanceof SnapPackError && /is not a directory/.test(e.message));
    await mkdir(src);
    await assert.rejects(packSnap(src), (e: unknown) => e instanceof SnapPackError && /cannot read meta\/snap.yaml/.test(e.message));
    await makeTree(src, 'name: Bad\nversion: 1\n');
    await assert.rejects(packSnap(src, { output: tmp }), SnapYamlError);
    await writeFile(join(src, 'meta', 'snap.yaml'), SNAP_YAML.replace('bin/hello', 'bin/missing'));
    await assert.rejects(packSnap(src, { output: tmp }), (e: unknown) => e instanceof SnapPackError && /missing files: path "bin\/missing" does not exist/.test(e.message));
    await writeFile(join(src, 'meta', 'snap.yaml'), SNAP_YAML);
    await chmod(join(src, 'meta', 'hooks', 'configure'), 0o644);
    await assert.rejects(packSnap(src, { output: tmp }), /"meta\/hooks\/configure" should be executable/);
    await chmod(join(src, 'meta', 'hooks', 'configure'), 0o755);
    await chmod(join(src, 'meta', 'snap.yaml'), 0o600);
    await assert.rejects(packSnap(src, { output: tmp }), /"meta\/snap.yaml" should be world-readable/);
  });
});

test('cli: snapline pack and snapline snap info', async () => {
  await withTempDir(async (tmp) => {
    const src = join(tmp, 'src');
    await makeTree(src);
    const packed = await runCli(['pack', src, '-o', tmp], { env: { SOURCE_DATE_EPOCH: '1600000000' } });
    assert.equal(packed.code, 0, packed.err);
    const path = join(tmp, 'hello-pack_1.0_all.snap');
    assert.equal(packed.out, `built: ${path}\n`);
    const info = await runCli(['snap', 'info', path]);
    assert.equal(info.code, 0, info.err);
    const digest = createHash('sha3-384').update(await readFile(path)).digest('hex');
    assert.match(info.out, /^name: +hello-pack$/m);
    assert.match(info.out, /^version: +1\.0$/m);
    assert.match(info.out, /^type: +app$/m);
    assert.match(info.out, /^base: +core22$/m);
    assert.match(info.out, /^confinement: +strict$/m);
    assert.match(info.out, /^grade: +stable$/m);
    assert.match(info.out, /^architectures: +all$/m);
    assert.match(info.out, new RegExp(`^sha3-384: +${digest}$`, 'm'));
    const r = await SquashfsReader.openFile(path);
    assert.equal(r.superblock.mkfsTime, 1_600_000_000);
    await r.close();
    await writeFile(join(tmp, 'junk.snap'), 'not a snap');
    const bad = await runCli(['snap', 'info', join(tmp, 'junk.snap')]);
    assert.equal(bad.code, 1);
    const badPack = await runCli(['pack', join(tmp, 'nope')]);
    assert.equal(badPack.code, 1);
  });
});
