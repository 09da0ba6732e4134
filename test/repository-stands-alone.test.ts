// A clone of this repository needs nothing beside it: no code, test, bench or
// CI script names a folder outside the project, and the tests that read
// snapd's vectors pass from a copy of the project whose parent holds nothing
// else (as a user's fresh clone would be).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHECKED = ['src', 'test', 'bench', '.ci', 'scripts', 'bin', 'package.json'];

/** The project's files as git sees them (tracked and new, not ignored). */
function projectFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: projectRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').filter((f) => f !== '');
}

test('nothing in the project reads a folder beside it', () => {
  const outside = /\.\.\/(?:\.\.\/)*shared\b|SNAPLINE_VECTORS/;
  const offenders = projectFiles()
    .filter((f) => CHECKED.some((c) => f === c || f.startsWith(`${c}/`)))
    .filter((f) => f !== 'test/repository-stands-alone.test.ts' && !f.startsWith('test/fixtures/'))
    .filter((f) => {
      try {
        return outside.test(readFileSync(join(projectRoot, f), 'utf8'));
      } catch {
        return false; // deleted in the work tree
      }
    });
  assert.deepEqual(offenders, []);
});

test('the vector tests pass from a copy of the project with nothing beside it', { timeout: 300_000 }, (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'snapline-alone-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const copy = join(parent, 'snapline');
  mkdirSync(copy);
  for (const f of projectFiles()) {
    try {
      cpSync(join(projectRoot, f), join(copy, f));
    } catch {
      // listed but deleted in the work tree
    }
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(copy, 'node_modules'));
  assert.deepEqual(readdirSync(parent), ['snapline']);
  const files = ['test/assertions/vectors.test.ts', 'test/vault/snapd-vectors.test.ts', 'test/assertions/database.test.ts'];
  // A runner of its own: without NODE_TEST_CONTEXT the child prints its TAP summary here.
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...files], { cwd: copy, env, encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /# fail 0/);
  assert.doesNotMatch(r.stdout, /# pass 0\n/);
});
