// snapline's seeds against snapd's own `snap prepare-image` (image.Prepare
// from the snapd 2.57.6 source, test/interop/prepare/main.go), both run
// against the same fake store in the same test: the same files with the same
// names, byte for byte (seed.yaml, snaps, assertion files and streams, model,
// gadget content; grub environment variables compared as sets since snapd
// writes them in Go map order). Only snapd's own recovery grub.cfg script
// (not reproduced by snapline) is missing on our side. Skipped,
// with the reason, when Go or the snapd source and its dependencies are
// missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeStream } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { which } from './helpers/gpg.ts';
import { listTree } from '../image/seed-checker.ts';
import { core18Model, core20Model, startWorld } from '../image/world.ts';

const GOPATH = '/usr/share/gocode';
const here = dirname(fileURLToPath(import.meta.url));

function findGo(): string | undefined {
  const onPath = which('go');
  if (onPath) return onPath;
  const versions = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => /^go-1\.\d+$/.test(d)).sort().reverse() : [];
  for (const v of versions) if (existsSync(join('/usr/lib', v, 'bin/go'))) return join('/usr/lib', v, 'bin/go');
  return undefined;
}

/** Builds the harness, or says why it cannot be built here. */
function buildPrepare(): { bin: string } | { skip: string } {
  const go = findGo();
  if (!go) return { skip: 'go is not installed (golang-go)' };
  if (!existsSync(join(GOPATH, 'src/github.com/snapcore/snapd/image'))) return { skip: 'the snapd source is not installed (golang-github-snapcore-snapd-dev)' };
  const dir = join(tmpdir(), `snapline-prepare-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'prepare');
  const r = spawnSync(go, ['build', '-tags', 'nosecboot', '-o', bin, '.'], {
    cwd: resolve(here, 'prepare'),
    encoding: 'utf8',
    env: { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(dir, 'cache') },
  });
  if (r.status !== 0) {
    const pkgs = [...r.stderr.matchAll(/cannot find package "([^"]+)"/g)].map((m) => m[1]);
    if (pkgs.length > 0) return { skip: `Go packages missing: ${[...new Set(pkgs)].join(', ')}` };
    throw new Error(`cannot build snapd's prepare-image harness: ${r.stderr}`);
  }
  return { bin };
}

const built = buildPrepare();
const skip = 'skip' in built ? built.skip : false;
if (skip) console.log(`# prepare-image reference skipped: ${skip}`);

/** Runs the harness without blocking the event loop (the fake store lives in this process). */
function prepare(model: string, target: string, storeUrl: string): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    const p = spawn((built as { bin: string }).bin, [join(VECTORS_DIR, 'trusted-root.assert'), model, target], { env: { ...process.env, UBUNTU_STORE_URL: storeUrl } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolvePromise({ code: code ?? -1, out }));
  });
}

/** A grub environment block's variables, sorted (snapd writes them in Go map order, which varies). */
function grubVars(block: Buffer): string[] {
  assert.equal(block.length, 1024);
  return block.toString('latin1').split('\n').slice(1).filter((l) => l !== '' && !l.startsWith('#')).sort();
}

async function sameBytes(a: string, b: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    const [x, y] = [await readFile(join(a, f)), await readFile(join(b, f))];
    if (f.endsWith('grubenv')) assert.deepEqual(grubVars(y), grubVars(x), `${f} differs from snapd's`);
    else assert.ok(x.equals(y), `${f} differs from snapd's`);
  }
}

test('core18 and core20 seeds match what snapd prepare-image writes from the same store', { skip, timeout: 180_000 }, async () => {
  const world = await startWorld();
  const tmp = await mkdtemp(join(tmpdir(), 'snapline-prepare-ref-'));
  try {
    // core18
    await writeFile(join(tmp, 'm18.model'), core18Model().encode());
    const r18 = await prepare(join(tmp, 'm18.model'), join(tmp, 'ref18'), world.store.url);
    assert.equal(r18.code, 0, r18.out);
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours18'), trusted: world.trusted });
    const seed = 'image/var/lib/snapd/seed';
    const refFiles = await listTree(join(tmp, 'ref18', seed));
    assert.deepEqual(await listTree(join(tmp, 'ours18', seed)), refFiles);
    await sameBytes(join(tmp, 'ref18', seed), join(tmp, 'ours18', seed), refFiles);
    await sameBytes(join(tmp, 'ref18'), join(tmp, 'ours18'), ['image/boot/grub/grubenv', 'image/boot/grub/grub.cfg']);

    // core20 (same label as snapd chose: today's date)
    await writeFile(join(tmp, 'm20.model'), core20Model().encode());
    const r20 = await prepare(join(tmp, 'm20.model'), join(tmp, 'ref20'), world.store.url);
    assert.equal(r20.code, 0, r20.out);
    const label = (await readdir(join(tmp, 'ref20/system-seed/systems')))[0]!;
    await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'ours20'), trusted: world.trusted, label });
    const ref = join(tmp, 'ref20/system-seed');
    const ours = join(tmp, 'ours20/system-seed');
    const snapdOnly = ['EFI/ubuntu/grub.cfg']; // snapd's built-in recovery grub script
    const refList = (await listTree(ref)).filter((f) => !snapdOnly.includes(f));
    assert.deepEqual(await listTree(ours), refList);
    // Everything, the assertion streams included, byte for byte.
    await sameBytes(ref, ours, refList);
    assert.equal(decodeStream(await readFile(join(ours, `systems/${label}/assertions/snaps`))).length, 10);
  } finally {
    await world.close();
    await rm(tmp, { recursive: true, force: true });
  }
});
