// The pure core of the image builder: snap planning and channel overrides,
// the assertion fetch planner, seed layout and file names, gadget volume layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, type Assertion, type ModelData } from '../../src/assertions/index.ts';
import { parseGadgetYaml } from '../../src/snap/index.ts';
import { planSnaps, overrideChannel } from '../../src/image/plan.ts';
import { AssertionPool } from '../../src/image/pool.ts';
import { assertionFileName, auxInfoJson, optionsYaml, seedYaml, snapPath, checkLabel, defaultLabel, type SeedSnap } from '../../src/image/layout.ts';
import { layoutVolume, offsetWrites, seedStructure, sfdiskScript } from '../../src/image/volumes.ts';
import { ImageError } from '../../src/image/errors.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { core18Model, core20Model, snapIdFor, trustedRoot, UC16_GADGET_YAML, UC20_GADGET_YAML, declaration } from './world.ts';

const data = (a: Assertion) => a.data as ModelData;

test('core18 plan: snapd, kernel, base, gadget, required snaps; pinned tracks; --channel', () => {
  const p = planSnaps(data(core18Model()));
  assert.deepEqual(p.map((s) => [s.name, s.channel, s.seedChannel, s.essential]), [
    ['snapd', 'stable', 'stable', true],
    ['pc-kernel', '18/stable', '18', true],
    ['core18', 'stable', 'stable', true],
    ['pc', '18/stable', '18', true],
    ['hello18', 'stable', 'stable', false],
  ]);
  const e = planSnaps(data(core18Model()), { channel: 'edge' });
  assert.deepEqual(e.map((s) => s.channel), ['edge', '18/edge', 'edge', '18/edge', 'edge']);
  // UC16 (no base): the core snap comes first.
  const uc16 = planSnaps(data(core18Model({ base: undefined })));
  assert.deepEqual(uc16.map((s) => s.name), ['core', 'pc-kernel', 'pc', 'hello18']);
  // Local files and extras are allowed for core 16/18.
  const extra = planSnaps(data(core18Model()), { localSnaps: new Map([['mine', '/x.snap']]) });
  assert.equal(extra.at(-1)!.inModel, false);
});

test('core20 plan: model order, implicit snapd, default channels; overrides only for grade dangerous', () => {
  const p = planSnaps(data(core20Model()));
  assert.deepEqual(p.map((s) => [s.name, s.channel, s.snapId === snapIdFor(s.name)]), [
    ['snapd', 'latest/stable', true],
    ['pc-kernel20', '20/stable', true],
    ['core20', 'latest/stable', true],
    ['pc20', '20/stable', true],
    ['hello', 'latest/stable', true],
  ]);
  const noSnapd = core20Model({}, [
    { name: 'pc20', id: snapIdFor('pc20'), type: 'gadget', 'default-channel': '20/stable' },
    { name: 'pc-kernel20', id: snapIdFor('pc-kernel20'), type: 'kernel', 'default-channel': '20/stable' },
  ]);
  assert.equal(planSnaps(data(noSnapd))[0]!.name, 'snapd');
  for (const opts of [{ channel: 'edge' }, { localSnaps: new Map([['hello', '/h.snap']]) }, { localSnaps: new Map([['new', '/n.snap']]) }]) {
    assert.throws(() => planSnaps(data(core20Model()), opts), (err: unknown) => err instanceof ImageError && err.code === 'image-override-refused' && /grade signed/.test(err.message));
  }
  const d = planSnaps(data(core20Model({ grade: 'dangerous' })), { channel: 'beta' });
  assert.deepEqual(d.map((s) => [s.channel, s.channelOverridden]), [
    ['latest/beta', true],
    ['20/beta', true],
    ['latest/beta', true],
    ['20/beta', true],
    ['latest/beta', true],
  ]);
  assert.throws(() => planSnaps(data(core20Model({ grade: 'dangerous' })), { channel: 'a/b/c/d' }), /invalid --channel/);
});

test('optional model snaps only when asked for; store snaps by name, with a channel, as extras', () => {
  const snaps = [
    { name: 'pc20', id: snapIdFor('pc20'), type: 'gadget', 'default-channel': '20/stable' },
    { name: 'pc-kernel20', id: snapIdFor('pc-kernel20'), type: 'kernel', 'default-channel': '20/stable' },
    { name: 'core20', id: snapIdFor('core20'), type: 'base' },
    { name: 'hello', id: snapIdFor('hello'), presence: 'optional' },
  ];
  const m = data(core20Model({ grade: 'dangerous' }, snaps));
  assert.ok(!planSnaps(m).some((p) => p.name === 'hello'));
  const p = planSnaps(m, { storeSnaps: new Map([['hello', 'edge'], ['core18', ''], ['x-tra', 'beta']]), channel: 'candidate' });
  assert.deepEqual(p.map((x) => [x.name, x.channel, x.inModel]), [
    ['snapd', 'latest/candidate', true],
    ['pc-kernel20', '20/candidate', true],
    ['core20', 'latest/candidate', true],
    ['pc20', '20/candidate', true],
    ['hello', 'latest/edge', true],
    ['core18', 'latest/candidate', false],
    ['x-tra', 'latest/beta', false],
  ]);
  assert.throws(() => planSnaps(data(core20Model({}, snaps)), { storeSnaps: new Map([['hello', 'edge']]) }), /cannot override the channel of "hello" with a model of grade signed/);
  // Confirming an optional snap by name needs no dangerous grade.
  assert.ok(planSnaps(data(core20Model({}, snaps)), { storeSnaps: new Map([['hello', '']]) }).some((x) => x.name === 'hello'));
  assert.throws(() => planSnaps(m, { storeSnaps: new Map([['a', '']]), localSnaps: new Map([['a', '/a.snap']]) }), /both as a file and by name/);
  // core18: per-snap channel on a pinned track.
  assert.equal(planSnaps(data(core18Model()), { storeSnaps: new Map([['pc', 'beta']]) }).find((x) => x.name === 'pc')!.channel, '18/beta');
});

test('channel overrides keep the default track for a risk and replace it for a track', () => {
  assert.equal(overrideChannel('20/stable', undefined), '20/stable');
  assert.equal(overrideChannel('20/stable', { track: '', risk: 'edge', branch: '' }), '20/edge');
  assert.equal(overrideChannel('20/stable', { track: '22', risk: '', branch: '' }), '22/stable');
  assert.equal(overrideChannel('stable', { track: '', risk: 'beta', branch: 'fix' }), 'beta/fix');
  assert.equal(overrideChannel('latest/stable', { track: 'latest', risk: 'candidate', branch: '' }), 'latest/candidate');
});

test('assertion pool: asks for what is missing, follows prerequisites and keys, skips trusted, tolerates optional', () => {
  const trusted = trustedRoot();
  const isTrusted = (r: { type: string; primaryKey: readonly string[] }) => trusted.some((a) => a.type === r.type && a.primaryKey.join('/') === r.primaryKey.join('/'));
  const pool = new AssertionPool(isTrusted);
  const model = core18Model();
  pool.want({ type: 'account-key', primaryKey: [model.signKeyId] });
  pool.want({ type: 'store', primaryKey: ['nope'] }, { optional: true });
  const first = pool.missing();
  assert.deepEqual(first.map((m) => `${m.ref.type}/${m.ref.primaryKey.join('/')}:${m.optional}`), [`account-key/${vectorKey('brand').id}:false`, 'store/nope:true']);
  assert.deepEqual(pool.missing(), [], 'in flight refs are not asked twice');
  pool.add(decode(vectorBytes('brand.account-key')));
  pool.notFound({ type: 'store', primaryKey: ['nope'] });
  // The key's account is now wanted; its signer (the root key) is trusted.
  assert.deepEqual(pool.missing().map((m) => m.ref.type + '/' + m.ref.primaryKey.join('/')), ['account/vectors-brand']);
  assert.equal(pool.complete, false);
  pool.add(decode(vectorBytes('brand.account')));
  assert.equal(pool.complete, true);
  assert.deepEqual(pool.missing(), []);
  // Closure: dependencies first, nothing twice.
  const seen = new Set<string>();
  assert.deepEqual(pool.closure([{ type: 'account-key', primaryKey: [model.signKeyId] }], seen).map((a) => a.type), ['account', 'account-key']);
  assert.deepEqual(pool.closure([{ type: 'account', primaryKey: ['vectors-brand'] }], seen), []);
  // A required ref the store does not have is an error.
  pool.want({ type: 'account', primaryKey: ['ghost'] });
  pool.missing();
  assert.throws(() => pool.notFound({ type: 'account', primaryKey: ['ghost'] }), /the store has no account assertion ghost/);
  // snap-revision refs are completed with the default provenance.
  const p2 = new AssertionPool(isTrusted);
  p2.want({ type: 'snap-revision', primaryKey: ['A'.repeat(64)] });
  assert.deepEqual(p2.missing()[0]!.ref.primaryKey, ['A'.repeat(64), 'global-upload']);
});

function seedSnap(name: string, revision: number, opts: { inModel?: boolean; overridden?: boolean; version?: string } = {}): SeedSnap {
  return {
    plan: { name, snapId: '', modelType: '', channel: 'latest/edge', seedChannel: '18', channelOverridden: opts.overridden ?? false, essential: false, inModel: opts.inModel ?? true, presence: 'required', modes: ['run'], localFile: undefined },
    snapId: revision ? snapIdFor(name) : '',
    revision,
    version: opts.version ?? '1.0',
  };
}

test('seed layout: snap paths, assertion file names, seed.yaml and options.yaml', () => {
  assert.equal(snapPath(false, '', seedSnap('pc', 148)), 'image/var/lib/snapd/seed/snaps/pc_148.snap');
  assert.equal(snapPath(false, '', seedSnap('mine', 0)), 'image/var/lib/snapd/seed/snaps/mine_x1.snap');
  assert.equal(snapPath(true, 'l1', seedSnap('pc', 148)), 'system-seed/snaps/pc_148.snap');
  assert.equal(snapPath(true, 'l1', seedSnap('ext', 3, { inModel: false })), 'system-seed/systems/l1/snaps/ext_3.snap');
  assert.equal(snapPath(true, 'l1', seedSnap('mine', 0, { version: '2.0' })), 'system-seed/systems/l1/snaps/mine_2.0.snap');
  assert.equal(assertionFileName(core18Model()), 'model');
  assert.equal(assertionFileName(decode(vectorBytes('brand.account-key'))), `${vectorKey('brand').id}.account-key`);
  assert.equal(assertionFileName(declaration('pc')), `16,${snapIdFor('pc')}.snap-declaration`);
  assert.equal(assertionFileName(decode(vectorBytes('snap-revision.snap-revision'))).split('.')[1], 'snap-revision');
  assert.ok(!assertionFileName(decode(vectorBytes('snap-revision.snap-revision'))).includes('global-upload'));
  assert.equal(
    seedYaml([seedSnap('pc', 148), seedSnap('mine', 0)]),
    `snaps:\n- name: pc\n  snap-id: ${snapIdFor('pc')}\n  channel: "18"\n  file: pc_148.snap\n- name: mine\n  unasserted: true\n  file: mine_x1.snap\n`,
  );
  assert.equal(
    seedYaml([{ ...seedSnap('dev', 2), devmode: true, contact: 'mailto:a@b.c' }]),
    `snaps:\n- name: dev\n  snap-id: ${snapIdFor('dev')}\n  channel: "18"\n  devmode: true\n  contact: mailto:a@b.c\n  file: dev_2.snap\n`,
  );
  assert.equal(auxInfoJson([seedSnap('pc', 148)]), undefined);
  const a = { ...seedSnap('a', 1), snapId: 'b'.repeat(32), private: true };
  const b = { ...seedSnap('b', 1), snapId: 'a'.repeat(32), contact: 'https://x.example/?a=1&b=<2>' };
  assert.equal(auxInfoJson([a, b, seedSnap('mine', 0)]), `{"${'a'.repeat(32)}":{"contact":"https://x.example/?a=1\\u0026b=\\u003c2\\u003e"},"${'b'.repeat(32)}":{"private":true}}\n`);
  assert.equal(optionsYaml('l1', [seedSnap('pc', 148)]), undefined);
  assert.equal(
    optionsYaml('l1', [seedSnap('pc', 148, { overridden: true }), seedSnap('mine', 0, { version: '2' }), seedSnap('ext', 3, { inModel: false })]),
    `snaps:\n- name: pc\n  id: ${snapIdFor('pc')}\n  channel: latest/edge\n- name: mine\n  unasserted: mine_2.snap\n- name: ext\n  id: ${snapIdFor('ext')}\n  channel: latest/edge\n`,
  );
  assert.equal(defaultLabel(new Date('2024-01-01T23:59:59Z')), '20240101');
  checkLabel('factory-2');
  assert.throws(() => checkLabel('-bad'), /invalid system label/);
});

test('volume layout: partitions in offset order, sfdisk types and sectors, image size, seed structure', () => {
  const g16 = parseGadgetYaml(UC16_GADGET_YAML, { model: 'uc16' });
  const l = layoutVolume(g16.volumes['pc']!);
  assert.deepEqual(l.raw.map((s) => s.name), ['mbr']);
  assert.deepEqual(l.partitions.map((p) => [p.number, p.type, p.start, p.size]), [
    [1, '21686148-6E6F-7449-6E6F-744E65656449', 1 << 20, 1 << 20],
    [2, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 2 << 20, 4 << 20],
    [3, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 6 << 20, 16 << 20],
  ]);
  assert.equal(l.size, 23 << 20);
  assert.equal(
    sfdiskScript(l),
    'label: gpt\nunit: sectors\n\nstart=2048, size=2048, type=21686148-6E6F-7449-6E6F-744E65656449, name="BIOS Boot"\nstart=4096, size=8192, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="system-boot"\nstart=12288, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="writable"\n',
  );
  assert.equal(seedStructure(g16, false).structure.label, 'writable');
  assert.deepEqual(offsetWrites(g16.volumes['pc']!), [{ at: 92, sector: 2048 }]);
  const g20 = parseGadgetYaml(UC20_GADGET_YAML, { model: 'uc20' });
  assert.equal(seedStructure(g20, true).structure.label, 'ubuntu-seed');
  assert.throws(() => seedStructure(g16, true), /no structure with role system-seed/);
  const mbr = parseGadgetYaml('volumes:\n  vol:\n    schema: mbr\n    bootloader: u-boot\n    structure:\n      - type: "0C"\n        filesystem: vfat\n        size: 1M\n        role: system-data\n', { model: 'uc16' });
  const lm = layoutVolume(mbr.volumes['vol']!);
  assert.equal(lm.partitions[0]!.type, '0C');
  assert.match(sfdiskScript(lm), /^label: dos\n/);
  const odd = parseGadgetYaml('volumes:\n  vol:\n    bootloader: grub\n    structure:\n      - type: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\n        size: 1000\n        role: system-data\n', { model: 'uc16' });
  assert.throws(() => layoutVolume(odd.volumes['vol']!), /multiples of 512/);
});
