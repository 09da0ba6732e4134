// snapline image build: progress on stderr, --json on stdout, user errors with codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';
import { withTemp } from './helpers.ts';
import { core18Model, core20Model, startWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});

const TRUSTED = join(VECTORS_DIR, 'trusted-root.assert');

test('image build --json prints one JSON result; progress goes to stderr', async () => {
  await withTemp(async (tmp) => {
    await writeFile(join(tmp, 'm.model'), core20Model().encode());
    const r = await runCli(['image', 'build', '--model', join(tmp, 'm.model'), '--store', world.store.url, '--out', join(tmp, 'out'), '--trusted', TRUSTED, '--label', 'l1', '--json'], {
      now: new Date('2026-01-01T00:00:00Z'),
    });
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.form, 'uc20');
    assert.equal(j.label, 'l1');
    assert.equal(j.seed, 'system-seed');
    assert.equal(j.snaps.length, 5);
    assert.match(r.err, /pc20 16: downloading/);
    assert.match(r.err, /seed: writing the seed/);
    assert.ok(existsSync(join(tmp, 'out/system-seed/systems/l1/model')));
  });
});

test('image build: human output, UBUNTU_STORE_URL and SNAPLINE_TRUSTED, errors with codes', async () => {
  await withTemp(async (tmp) => {
    await writeFile(join(tmp, 'm.model'), core18Model().encode());
    const env = { UBUNTU_STORE_URL: world.store.url, SNAPLINE_TRUSTED: TRUSTED };
    const r = await runCli(['image', 'build', '--model', join(tmp, 'm.model'), '--out', join(tmp, 'out')], { env });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /seed: .*image\/var\/lib\/snapd\/seed\n/);
    assert.match(r.out, / pc-kernel 13 18\/stable image\/var\/lib\/snapd\/seed\/snaps\/pc-kernel_13.snap/);
    const bad = await runCli(['image', 'build', '--model', join(tmp, 'm.model'), '--out', join(tmp, 'out2'), '--snap', '=x'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.err, /expected NAME, NAME=CHANNEL, NAME=FILE.snap or FILE.snap/);
    // --snap FILE.snap: the name comes from the file.
    const { packBytes } = await import('./world.ts');
    await writeFile(join(tmp, 'mine.snap'), await packBytes(tmp, 'mine', 'name: hello18\nversion: "7"\nbase: core18\n'));
    const local = await runCli(['image', 'build', '--model', join(tmp, 'm.model'), '--out', join(tmp, 'out5'), '--snap', join(tmp, 'mine.snap'), '--json'], { env });
    assert.equal(local.code, 0, local.err);
    assert.deepEqual(JSON.parse(local.out).snaps.at(-1), { name: 'hello18', snapId: '', revision: 0, channel: '', file: 'image/var/lib/snapd/seed/snaps/hello18_x1.snap', size: (await readFile(join(tmp, 'mine.snap'))).length, local: true });
    await writeFile(join(tmp, 'm20.model'), core20Model().encode());
    const refused = await runCli(['image', 'build', '--model', join(tmp, 'm20.model'), '--out', join(tmp, 'out3'), '--channel', 'edge'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /error: cannot override channels with a model of grade signed.*\(image-override-refused\)/);
    const noStore = await runCli(['image', 'build', '--model', join(tmp, 'm.model'), '--out', join(tmp, 'out4')], { env: { SNAPLINE_TRUSTED: TRUSTED } });
    assert.match(noStore.err, /no store/);
    assert.ok(!existsSync(join(tmp, 'out2')) && !existsSync(join(tmp, 'out3')));
  });
});
