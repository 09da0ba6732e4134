// Building and running small Go programs against the snapd 2.57.6 source
// (Debian's golang-github-snapcore-snapd-dev, GOPATH mode), to use snapd's own
// code as the reference: test/interop/prepare (image.Prepare, what `snap
// prepare-image` runs) and test/interop/seedload (seed.Open and friends).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './gpg.ts';

export const GOPATH = '/usr/share/gocode';
const interopDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function findGo(): string | undefined {
  const onPath = which('go');
  if (onPath) return onPath;
  const versions = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => /^go-1\.\d+$/.test(d)).sort().reverse() : [];
  for (const v of versions) if (existsSync(join('/usr/lib', v, 'bin/go'))) return join('/usr/lib', v, 'bin/go');
  return undefined;
}

const cache = new Map<string, { bin: string } | { skip: string }>();

/** Builds test/interop/<program>, or says why it cannot be built here (a reason to skip). */
export function buildSnapdProgram(program: 'prepare' | 'seedload' | 'decode'): { bin: string } | { skip: string } {
  const hit = cache.get(program);
  if (hit) return hit;
  const go = findGo();
  let res: { bin: string } | { skip: string };
  if (!go) res = { skip: 'go is not installed (golang-go)' };
  else if (!existsSync(join(GOPATH, 'src/github.com/snapcore/snapd/seed'))) res = { skip: 'the snapd source is not installed (golang-github-snapcore-snapd-dev)' };
  else {
    const dir = join(tmpdir(), `snapline-snapd-go-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true });
    const bin = join(dir, program);
    const r = spawnSync(go, ['build', '-tags', 'nosecboot', '-o', bin, '.'], {
      cwd: join(interopDir, program),
      encoding: 'utf8',
      env: { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(dir, 'cache') },
    });
    if (r.status === 0) res = { bin };
    else {
      const pkgs = [...new Set([...r.stderr.matchAll(/cannot find package "([^"]+)"/g)].map((m) => m[1]))];
      if (pkgs.length === 0) throw new Error(`cannot build ${program} against the snapd source: ${r.stderr}`);
      res = { skip: `Go packages missing: ${pkgs.join(', ')}` };
    }
  }
  cache.set(program, res);
  return res;
}

/** Runs a program without blocking the event loop (test stores live in this process). */
export function runProgram(bin: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((done) => {
    const p = spawn(bin, args, { env: { ...process.env, ...env } });
    let out = '';
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => done({ code: code ?? -1, out, stdout }));
  });
}

/** A grub environment block's variables, sorted (snapd writes them in Go map order, which varies). */
export function grubVars(block: Buffer): string[] {
  assert.equal(block.length, 1024);
  return block.toString('latin1').split('\n').slice(1).filter((l) => l !== '' && !l.startsWith('#')).sort();
}

/** Asserts that files are the same in two trees (grubenv files compared by variables). */
export async function sameFiles(ref: string, ours: string, files: readonly string[]): Promise<void> {
  for (const f of files) {
    const [x, y] = [await readFile(join(ref, f)), await readFile(join(ours, f))];
    if (f.endsWith('grubenv')) assert.deepEqual(grubVars(y), grubVars(x), `${f} differs from snapd's`);
    else assert.ok(x.equals(y), `${f} differs from snapd's`);
  }
}
