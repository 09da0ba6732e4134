// What makes the CLI start fast (bench/cli-startup.ts measures it): in the
// build, the entry point and the light commands' chunks load no server or
// HTTP packages; and bin/snapline.js runs the build without looking at src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

interface Metafile {
  outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string; external?: boolean }[] }>;
}

/** Packages (and outputs) that loading `output` loads before any code runs: its static imports, transitively. */
function staticClosure(meta: Metafile, output: string): { outputs: Set<string>; packages: Set<string> } {
  const outputs = new Set<string>();
  const packages = new Set<string>();
  const visit = (o: string) => {
    if (outputs.has(o)) return;
    outputs.add(o);
    for (const i of meta.outputs[o]!.imports) {
      if (i.kind !== 'import-statement') continue;
      if (i.external) packages.add(i.path);
      else visit(i.path);
    }
  };
  visit(output);
  return { outputs, packages };
}

test('the entry point and the sign and verify chunks load no server or HTTP packages', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'snapline-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, ['scripts/build.js', '--outdir', dir, '--metafile', join(dir, 'meta.json')], { cwd: root, stdio: 'inherit' });
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Metafile;
  const outputOf = (entry: string) => {
    const o = Object.entries(meta.outputs).find(([, v]) => v.entryPoint === entry)?.[0];
    assert.ok(o, `no output for ${entry}`);
    return o;
  };
  const nonBuiltin = (c: { packages: Set<string> }) => [...c.packages].filter((p) => !p.startsWith('node:')).sort();

  const entry = staticClosure(meta, outputOf('src/cli/main.ts'));
  assert.deepEqual(nonBuiltin(entry), ['commander']);
  assert.equal(relative(dir, outputOf('src/cli/main.ts')), 'snapline.js');
  for (const light of ['src/cli/commands/verify.ts', 'src/cli/commands/sign.ts', 'src/cli/commands/key.ts']) {
    assert.deepEqual(nonBuiltin(staticClosure(meta, outputOf(light))), [], light);
  }
  const serve = nonBuiltin(staticClosure(meta, outputOf('src/cli/commands/serve.ts')));
  for (const p of ['fastify', 'kysely', 'pg']) assert.ok(serve.includes(p), `serve loads ${p}`);
});

/** A copy of bin/snapline.js in a package of its own with src/ and node_modules/ linked, but no dist/. */
function lonelyBin(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'snapline-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin/snapline.js'), join(dir, 'bin/snapline.js'));
  copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
  for (const d of ['src', 'node_modules']) symlinkSync(join(root, d), join(dir, d));
  return join(dir, 'bin/snapline.js');
}

test('bin/snapline.js without dist/ says to build (no silent fall-back to the sources)', (t) => {
  const r = spawnSync(process.execPath, [lonelyBin(t), '--version'], { encoding: 'utf8', env: { ...process.env, SNAPLINE_FROM_SOURCE: '' } });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /dist\/snapline\.js is missing: run `npm run build`/);
});

test('bin/snapline.js with SNAPLINE_FROM_SOURCE=1 runs the sources', (t) => {
  const r = spawnSync(process.execPath, [lonelyBin(t), '--version'], { encoding: 'utf8', env: { ...process.env, SNAPLINE_FROM_SOURCE: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '0.1.0\n');
});
