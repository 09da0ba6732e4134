// The test-side seed loader must reject broken seeds, or accepting a built
// seed proves nothing: a missing snap-revision, a wrong digest, two models,
// unequal declaration/revision counts, a missing required snap, an untrusted chain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { decodeStream, encodeStream } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { loadSeed16, loadSeed20 } from './seed-checker.ts';
import { withTemp } from './helpers.ts';
import { core18Model, core20Model, startWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});

const NOW = () => new Date('2026-02-03T04:05:06Z');
const LABEL = '20260203';

async function seed16(tmp: string): Promise<string> {
  await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o16'), trusted: world.trusted, now: NOW });
  return join(tmp, 'o16/image/var/lib/snapd/seed');
}

async function seed20(tmp: string): Promise<string> {
  await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out: join(tmp, 'o20'), trusted: world.trusted, now: NOW });
  return join(tmp, 'o20/system-seed');
}

test('seed16 checker rejects a missing snap-revision, a wrong digest, two models, a missing required snap, a bad file name', async () => {
  await withTemp(async (tmp) => {
    let dir = await seed16(tmp);
    const revFile = (await readdir(join(dir, 'assertions'))).find((f) => f.endsWith('.snap-revision'))!;
    await rm(join(dir, 'assertions', revFile));
    await assert.rejects(loadSeed16(dir, world.trusted), /cannot find signatures with metadata/);

    await rm(join(tmp, 'o16'), { recursive: true });
    dir = await seed16(tmp);
    await appendFile(join(dir, 'snaps/hello18_17.snap'), 'x');
    await assert.rejects(loadSeed16(dir, world.trusted), /cannot find signatures with metadata for snap "hello18"/);

    await rm(join(tmp, 'o16'), { recursive: true });
    dir = await seed16(tmp);
    await writeFile(join(dir, 'assertions/other-model'), core18Model({ model: 'other' }).encode());
    await assert.rejects(loadSeed16(dir, world.trusted), /multiple model assertions/);

    await rm(join(tmp, 'o16'), { recursive: true });
    dir = await seed16(tmp);
    const y = parse(await readFile(join(dir, 'seed.yaml'), 'utf8')) as { snaps: { name: string; file: string }[] };
    await writeFile(join(dir, 'seed.yaml'), stringify({ snaps: y.snaps.filter((s) => s.name !== 'hello18') }));
    await assert.rejects(loadSeed16(dir, world.trusted), /model requires snap "hello18"/);
    y.snaps[0]!.file = '../snapd_10.snap';
    await writeFile(join(dir, 'seed.yaml'), stringify(y));
    await assert.rejects(loadSeed16(dir, world.trusted), /must be a file name/);

    // Without the root's account-key nothing chains up to the trusted set.
    await rm(join(tmp, 'o16'), { recursive: true });
    dir = await seed16(tmp);
    await assert.rejects(loadSeed16(dir, world.trusted.filter((a) => a.type === 'account')), /cannot commit assertions: .*no matching public key/);
  });
});

test('seed20 checker rejects unequal declaration/revision counts, a wrong digest, a model among the assertions, a bad label', async () => {
  await withTemp(async (tmp) => {
    let root = await seed20(tmp);
    const snapsFile = join(root, 'systems', LABEL, 'assertions/snaps');
    const all = decodeStream(await readFile(snapsFile));
    const firstRev = all.findIndex((a) => a.type === 'snap-revision');
    await writeFile(snapsFile, encodeStream(all.filter((_, i) => i !== firstRev)));
    await assert.rejects(loadSeed20(root, LABEL, world.trusted), /different number of snap-declaration than snap-revision/);

    await rm(join(tmp, 'o20'), { recursive: true });
    root = await seed20(tmp);
    await appendFile(join(root, 'snaps/hello_18.snap'), 'x');
    await assert.rejects(loadSeed20(root, LABEL, world.trusted), /cannot find signatures with metadata for snap "hello"/);

    await rm(join(tmp, 'o20'), { recursive: true });
    root = await seed20(tmp);
    await writeFile(join(root, 'systems', LABEL, 'assertions/extra'), core20Model().encode());
    await assert.rejects(loadSeed20(root, LABEL, world.trusted), /cannot have any model assertion/);
    await rm(join(root, 'systems', LABEL, 'assertions/extra'));
    await assert.rejects(loadSeed20(root, 'Bad_Label', world.trusted), /invalid seed system label/);
    await rm(join(root, 'snaps/pc20_16.snap'));
    await assert.rejects(loadSeed20(root, LABEL, world.trusted), /cannot find snap file/);
  });
});
