// Seeding with the model's enforced validation sets (snapd 2.60+): the sets
// come from the store (pinned sequence or newest), the snaps they pin are
// asked for at that revision with the sets' keys, the sets go into the seed
// with the model's assertions (and a device accepts the seed), and a build
// whose snaps contradict a set is refused naming the set and the snap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeStream, formatTimestamp, sign, ValidationSetType, type Assertion } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { ImageError } from '../../src/image/errors.ts';
import { loadSeed } from '../../src/device/seed.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { entries, withTemp } from './helpers.ts';
import { BRAND, core18Model, core20Model, snapIdFor, startWorld, type World } from './world.ts';

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});
const NOW = () => new Date('2026-02-03T04:05:06Z');

function set(name: string, sequence: number, snaps: Record<string, string>[]): Assertion {
  return sign(ValidationSetType, { headers: { 'authority-id': BRAND, series: '16', 'account-id': BRAND, name, sequence: String(sequence), snaps, timestamp: formatTimestamp(new Date('2025-12-01T00:00:00Z')) } }, vectorKey('brand'), new Date('2026-01-01T00:00:00Z'));
}
const enforcing = (name: string, sequence?: number) => ({ 'validation-sets': [{ 'account-id': BRAND, name, mode: 'enforce', ...(sequence ? { sequence: String(sequence) } : {}) }] });
/** The revision of hello the store has. */
const hello = (): number => world.store.snaps.find((s) => s.name === 'hello')!.revision;

async function refused(tmp: string, pattern: RegExp, model: Assertion, code = 'image-validation-sets'): Promise<void> {
  await assert.rejects(buildImage({ model: model.encode(), storeUrl: world.store.url, out: join(tmp, 'out'), trusted: world.trusted, now: NOW, label: 'vs' }), (err: unknown) => {
    assert.ok(err instanceof ImageError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual(await entries(tmp), [], 'nothing left behind');
}

test('core20: the pinned revision is asked for with the set, the newest set is seeded with the model, a device accepts the seed', async () => {
  world.store.addAssertion(set('fleet', 1, [{ name: 'hello', id: snapIdFor('hello'), revision: '7' }]));
  world.store.addAssertion(set('fleet', 2, [{ name: 'hello', id: snapIdFor('hello'), revision: String(hello()) }, { name: 'core20', id: snapIdFor('core20') }]));
  await withTemp(async (tmp) => {
    world.store.actions.length = 0;
    const out = join(tmp, 'out');
    await buildImage({ model: core20Model(enforcing('fleet')).encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, label: 'vs' });
    const asked = world.store.actions.find((a) => a['name'] === 'hello')!;
    assert.equal(asked['revision'], hello());
    assert.deepEqual(asked['validation-sets'], [['16', BRAND, 'fleet', '2']]);
    assert.equal(asked['channel'], undefined, 'a pinned revision, not a channel');
    const etc = decodeStream(await readFile(join(out, 'system-seed/systems/vs/assertions/model-etc')));
    assert.deepEqual(etc.filter((a) => a.type === 'validation-set').map((a) => a.primaryKey.join('/')), [`16/${BRAND}/fleet/2`]);
    // snapd 2.60's rules at first boot, as the device agent applies them.
    const seed = await loadSeed(join(out, 'system-seed'), { trusted: world.trusted, label: 'vs', now: NOW });
    assert.equal(seed.snaps.find((s) => s.name === 'hello')!.revision, hello());
  });
});

test('a pinned sequence is used, not the newest; core18 seeds the set as an assertion file', async () => {
  await withTemp(async (tmp) => {
    // Sequence 1 pins hello at revision 7, which the store does not have.
    await refused(tmp, /hello revision 7, pinned by the enforced validation set vectors-brand\/fleet\/1/, core20Model(enforcing('fleet', 1)), 'image-snap-not-found');
    world.store.addAssertion(set('fleet18', 1, [{ name: 'hello18', id: snapIdFor('hello18'), revision: String(world.store.snaps.find((s) => s.name === 'hello18')!.revision) }]));
    const out = join(tmp, 'out');
    await buildImage({ model: core18Model(enforcing('fleet18')).encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW });
    const files = await readdir(join(out, 'image/var/lib/snapd/seed/assertions'));
    assert.ok(files.includes(`16,${BRAND},fleet18,1.validation-set`), files.join(' '));
  });
});

test('snaps that contradict an enforced set are refused, the set and the snap named; a set the store lacks too', async () => {
  world.store.addAssertion(set('bans-hello', 1, [{ name: 'hello', id: snapIdFor('hello'), presence: 'invalid' }]));
  world.store.addAssertion(set('needs-more', 1, [{ name: 'extra-tool', id: 'e'.repeat(32) }]));
  await withTemp(async (tmp) => {
    await refused(tmp, /validation set vectors-brand\/bans-hello\/1 declares hello invalid, and the image would seed it/, core20Model(enforcing('bans-hello')));
    await refused(tmp, /validation set vectors-brand\/needs-more\/1 requires extra-tool, which the image does not seed/, core20Model(enforcing('needs-more')));
    await refused(tmp, /enforces validation set vectors-brand\/no-such-set, which the store does not have/, core20Model(enforcing('no-such-set')));
  });
});
