// The image builder against a fake snapd-protocol store: core18 and core20
// seeds accepted by the seed loading rules, the exact layout, the requests
// made, and bad input failing cleanly with nothing left behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { decodeStream } from '../../src/assertions/index.ts';
import { buildImage, type ProgressEvent } from '../../src/image/build.ts';
import { ImageError } from '../../src/image/errors.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { loadSeed16, loadSeed20, listTree } from './seed-checker.ts';
import { entries, withTemp } from './helpers.ts';
import { BRAND, core18Model, core20Model, signModel, snapIdFor, startWorld, STORE_ID, type World } from './world.ts';

let world: World;
before(async () => {
  world = await startWorld();
});
after(async () => {
  await world.close();
});

const NOW = () => new Date('2026-02-03T04:05:06Z');

test('core18 model: seed.yaml layout accepted by the seed16 loading rules', async () => {
  await withTemp(async (tmp) => {
    const out = join(tmp, 'out');
    const events: ProgressEvent[] = [];
    world.store.requests.length = 0;
    const res = await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, progress: (e) => events.push(e) });
    assert.equal(res.form, 'uc16');
    assert.deepEqual(res.snaps.map((s) => s.name), ['snapd', 'pc-kernel', 'core18', 'pc', 'hello18']);
    const seed = join(out, 'image/var/lib/snapd/seed');
    const files = await listTree(seed);
    assert.deepEqual(files.filter((f) => f.startsWith('snaps/')).sort(), ['snaps/core18_11.snap', 'snaps/hello18_17.snap', 'snaps/pc-kernel_13.snap', 'snaps/pc_15.snap', 'snaps/snapd_10.snap']);
    const as = files.filter((f) => f.startsWith('assertions/')).sort();
    assert.ok(as.includes('assertions/model'));
    assert.ok(as.includes(`assertions/${BRAND}.account`));
    assert.ok(as.includes(`assertions/${vectorKey('brand').id}.account-key`));
    assert.ok(as.includes(`assertions/16,${snapIdFor('pc')}.snap-declaration`));
    assert.ok(as.includes(`assertions/${STORE_ID}.store`));
    assert.ok(!as.some((f) => f.includes(vectorKey('root').id)), 'the trusted root key is never written');
    assert.equal(as.filter((f) => f.endsWith('.snap-revision')).length, 5);
    const yaml = parse(await readFile(join(seed, 'seed.yaml'), 'utf8')) as { snaps: Record<string, string>[] };
    assert.deepEqual(yaml.snaps[1], { name: 'pc-kernel', 'snap-id': snapIdFor('pc-kernel'), channel: '18', file: 'pc-kernel_13.snap' });
    assert.deepEqual(yaml.snaps[0], { name: 'snapd', 'snap-id': snapIdFor('snapd'), channel: 'stable', file: 'snapd_10.snap' });
    const loaded = await loadSeed16(seed, world.trusted);
    assert.equal(loaded.snaps.length, 5);
    assert.equal(loaded.model.data.model, 'img-core18');
    // Protocol: one snap action with the model's store, v1 headers elsewhere.
    const action = world.store.requests.find((r) => r.url === '/v2/snaps/refresh')!;
    assert.equal(action.headers['snap-device-store'], STORE_ID);
    assert.equal(action.headers['snap-device-architecture'], 'amd64');
    assert.equal(action.headers['snap-device-series'], '16');
    assert.equal(action.headers['snap-classic'], 'false');
    const body = JSON.parse(action.body);
    assert.deepEqual(body.context, []);
    assert.ok(body.fields.includes('download'));
    assert.deepEqual(body.actions[1], { action: 'download', 'instance-key': 'download-2', name: 'pc-kernel', channel: '18/stable', 'ignore-validation': true, epoch: null });
    const asReq = world.store.requests.find((r) => r.url.startsWith('/v2/assertions/snap-revision/'))!;
    assert.equal(asReq.headers['accept'], 'application/x.ubuntu.assertion');
    assert.equal(asReq.headers['x-ubuntu-store'], STORE_ID);
    assert.ok(asReq.url.endsWith('?max-format=0'));
    const dl = world.store.requests.find((r) => r.url.startsWith('/download/'))!;
    assert.equal(dl.headers['x-ubuntu-store'], STORE_ID, 'downloads carry the v1 header set');
    assert.equal(dl.headers['x-ubuntu-architecture'], 'amd64');
    assert.equal(dl.headers['snap-device-store'], undefined);
    assert.equal(dl.headers['authorization'], undefined);
    assert.ok(events.some((e) => e.kind === 'download-done' && e.name === 'pc'));
    assert.ok(events.some((e) => e.kind === 'download-progress' && e.name === 'pc' && e.bytes === e.size));
    assert.ok(events.some((e) => e.kind === 'step' && e.step === 'seed: writing the seed'));
    assert.match(await readFile(join(out, 'image/boot/grub/grubenv'), 'latin1'), /^# GRUB Environment Block\nsnap_try_kernel=\nsnap_menuentry=img-core18\nsnap_core=core18_11.snap\nsnap_kernel=pc-kernel_13.snap\nsnap_mode=\nsnap_try_core=\n#+$/);
    assert.deepEqual(await entries(tmp), ['out']);
  });
});

test('core20 model: systems/<label> layout accepted by the seed20 loading rules', async () => {
  await withTemp(async (tmp) => {
    const out = join(tmp, 'out');
    const res = await buildImage({ model: core20Model().encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW });
    assert.equal(res.form, 'uc20');
    assert.equal(res.label, '20260203');
    const root = join(out, 'system-seed');
    const files = (await listTree(root)).sort();
    assert.deepEqual(files, [
      'EFI/boot/grubx64.efi',
      'EFI/ubuntu/grub.cfg',
      'EFI/ubuntu/grubenv',
      'snaps/core20_12.snap',
      'snaps/hello_18.snap',
      'snaps/pc-kernel20_14.snap',
      'snaps/pc20_16.snap',
      'snaps/snapd_10.snap',
      'systems/20260203/assertions/model-etc',
      'systems/20260203/assertions/snaps',
      'systems/20260203/grubenv',
      'systems/20260203/model',
    ]);
    const env = await readFile(join(root, 'EFI/ubuntu/grubenv'), 'latin1');
    assert.equal(env.length, 1024);
    // The recovery menu: Snapline's own, managed by snapd after install (edition header first).
    assert.match(await readFile(join(root, 'EFI/ubuntu/grub.cfg'), 'utf8'), /^# Snapd-Boot-Config-Edition: 1\n[^]*chainloader \(loop\)\/kernel\.efi snapd_recovery_mode=\$3 snapd_recovery_system=\$4/);
    // Seed snaps are owner-only, as snapd writes them.
    assert.equal((await stat(join(root, 'snaps/core20_12.snap'))).mode & 0o777, 0o600);
    assert.ok(env.startsWith('# GRUB Environment Block\nsnapd_recovery_mode=install\nsnapd_recovery_system=20260203\n#'));
    assert.match(await readFile(join(root, 'systems/20260203/grubenv'), 'latin1'), /^# GRUB Environment Block\nsnapd_recovery_kernel=\/snaps\/pc-kernel20_14.snap\nsnapd_extra_cmdline_args=\nsnapd_full_cmdline_args=\n#+$/);
    const etc = decodeStream(await readFile(join(root, 'systems/20260203/assertions/model-etc')));
    // The brand's key, and the root's store key that signed the store assertion (the root key itself is trusted).
    assert.deepEqual(etc.map((a) => a.type).sort(), ['account', 'account-key', 'account-key', 'store']);
    const snapsStream = decodeStream(await readFile(join(root, 'systems/20260203/assertions/snaps')));
    assert.equal(snapsStream.filter((a) => a.type === 'snap-declaration').length, 5);
    assert.equal(snapsStream.filter((a) => a.type === 'snap-revision').length, 5);
    assert.equal(snapsStream[0]!.type, 'snap-declaration');
    const loaded = await loadSeed20(root, '20260203', world.trusted);
    assert.deepEqual(loaded.snaps.map((s) => s.name), ['snapd', 'pc-kernel20', 'core20', 'pc20', 'hello']);
  });
});

test('core20 with an explicit label, grade dangerous, a channel override and a local unasserted snap: options.yaml', async () => {
  await withTemp(async (tmp) => {
    const local = join(tmp, 'extra_1.snap');
    const { packBytes } = await import('./world.ts');
    await writeFile(local, await packBytes(tmp, 'extra', 'name: extra\nversion: "0.1"\nbase: core20\n'));
    const model = core20Model({ grade: 'dangerous' });
    const out = join(tmp, 'out');
    const res = await buildImage({ model: model.encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, label: 'factory-1', channel: 'edge', localSnaps: new Map([['extra', local]]) });
    const hello = res.snaps.find((s) => s.name === 'hello')!;
    assert.equal(hello.channel, 'latest/edge');
    const opts = parse(await readFile(join(out, 'system-seed/systems/factory-1/options.yaml'), 'utf8')) as { snaps: Record<string, string>[] };
    assert.deepEqual(opts.snaps.find((s) => s.name === 'extra'), { name: 'extra', unasserted: 'extra_0.1.snap' });
    assert.deepEqual(opts.snaps.find((s) => s.name === 'hello'), { name: 'hello', id: snapIdFor('hello'), channel: 'latest/edge' });
    assert.ok(existsSync(join(out, 'system-seed/systems/factory-1/snaps/extra_0.1.snap')));
    const loaded = await loadSeed20(join(out, 'system-seed'), 'factory-1', world.trusted);
    assert.ok(loaded.snaps.some((s) => s.name === 'extra' && s.revision === 0));
  });
});

test('core18 with a local unasserted snap replacing a required snap: unasserted in seed.yaml', async () => {
  await withTemp(async (tmp) => {
    const local = join(tmp, 'hello18.snap');
    const { packBytes } = await import('./world.ts');
    await writeFile(local, await packBytes(tmp, 'h18', 'name: hello18\nversion: "9.9"\nbase: core18\n'));
    const out = join(tmp, 'out');
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, localSnaps: new Map([['hello18', local]]) });
    const seed = join(out, 'image/var/lib/snapd/seed');
    const yaml = parse(await readFile(join(seed, 'seed.yaml'), 'utf8')) as { snaps: Record<string, unknown>[] };
    assert.deepEqual(yaml.snaps.at(-1), { name: 'hello18', unasserted: true, file: 'hello18_x1.snap' });
    await loadSeed16(seed, world.trusted);
  });
});

async function expectFailure(tmp: string, code: string, pattern: RegExp, run: (out: string) => Promise<unknown>): Promise<void> {
  const out = join(tmp, 'out');
  await assert.rejects(run(out), (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });
  assert.deepEqual((await entries(tmp)).filter((e) => !e.endsWith('.snap') && !e.startsWith('src-') && !e.endsWith('.model')), [], 'nothing left behind');
}

test('bad input: unsigned, wrongly signed, other store, missing snap, digest mismatch, bad gadget; nothing left behind', async () => {
  await withTemp(async (tmp) => {
    const good = core18Model().encode().toString();
    const unsigned = good.slice(0, good.lastIndexOf('\n\n') + 2);
    await expectFailure(tmp, 'image-model-invalid', /cannot decode the model/, (out) => buildImage({ model: Buffer.from(unsigned), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }));
    const stranger = signModel({ model: 'x', base: 'core18', gadget: 'pc=18', kernel: 'pc-kernel=18', store: STORE_ID }, vectorKey('stranger'));
    await expectFailure(tmp, 'image-model-untrusted', /account-key .* that signed the model/, (out) => buildImage({ model: stranger.encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }));
    const tampered = Buffer.from(good.replace('model: img-core18', 'model: img-core19'));
    await expectFailure(tmp, 'image-model-untrusted', /signature/, (out) => buildImage({ model: tampered, storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }));
    await expectFailure(tmp, 'image-store-mismatch', /names store "other-store"/, (out) =>
      buildImage({ model: core18Model({ store: 'other-store' }).encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }),
    );
    await expectFailure(tmp, 'image-snap-not-found', /no-such-snap/, (out) =>
      buildImage({ model: core18Model({ 'required-snaps': ['hello18', 'no-such-snap'] }).encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }),
    );
    world.store.corrupt.add('hello18');
    try {
      world.store.requests.length = 0;
      await expectFailure(tmp, 'image-digest-mismatch', /hello18/, (out) => buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW }));
      assert.equal(world.store.requests.filter((r) => r.url.startsWith('/download/hello18_')).length, 2, 'downloaded once more after a mismatch, as snapd does');
    } finally {
      world.store.corrupt.delete('hello18');
    }
    // A non-empty --out is refused before anything happens.
    await mkdir(join(tmp, 'full'));
    await writeFile(join(tmp, 'full', 'x'), 'x');
    await assert.rejects(buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'full'), trusted: world.trusted, now: NOW }), /already exists/);
  });
});

test('bad input: a snap-revision missing from the store, an unknown gadget structure', async () => {
  const { FakeStore } = await import('./fake-store.ts');
  const { declaration, revision, UC16_GADGET_YAML } = await import('./world.ts');
  const { image, dir, file } = await import('../snap/helpers.ts');
  await withTemp(async (tmp) => {
    // Same store, but hello18's snap-revision is gone.
    const snaps = world.store.snaps;
    const s2 = new FakeStore(STORE_ID, snaps, []);
    for (const r of world.store['assertions'].values()) s2.addAssertion(r);
    const hello = snaps.find((s) => s.name === 'hello18')!;
    const { createHash } = await import('node:crypto');
    s2.removeAssertion('snap-revision', [createHash('sha3-384').update(hello.bytes).digest('base64url')]);
    await s2.start();
    try {
      await expectFailure(tmp, 'image-assertion-invalid', /snap-revision assertion for hello18/, (out) => buildImage({ model: core18Model().encode(), storeUrl: s2.url, out, trusted: world.trusted, now: NOW }));
    } finally {
      await s2.close();
    }
    // A gadget whose gadget.yaml has a structure of an unknown role.
    const badYaml = UC16_GADGET_YAML.replace('role: system-boot', 'role: system-unknown');
    // Written directly: `snapline pack` would refuse this gadget.yaml.
    const bytes = await image(dir({ meta: dir({ 'snap.yaml': file('name: pc\nversion: "18"\ntype: gadget\nbase: core18\n'), 'gadget.yaml': file(badYaml) }) }), { compression: 'gzip' });
    const pc = snaps.find((s) => s.name === 'pc')!;
    const s3 = new FakeStore(STORE_ID, snaps.map((s) => (s.name === 'pc' ? { ...s, bytes, revision: 99 } : s)), []);
    for (const r of world.store['assertions'].values()) s3.addAssertion(r);
    s3.addAssertion(declaration('pc'));
    s3.addAssertion(revision(bytes, pc.snapId, 99));
    await s3.start();
    try {
      await expectFailure(tmp, 'image-gadget-invalid', /system-unknown/, (out) => buildImage({ model: core18Model().encode(), storeUrl: s3.url, out, trusted: world.trusted, now: NOW }));
    } finally {
      await s3.close();
    }
  });
});

test('an auth file (UBUNTU_STORE_AUTH_DATA_FILENAME) holds the base64 form or JSON with a macaroon and its discharges', async () => {
  const { authorizationFromFile } = await import('../../src/image/store-client.ts');
  const b64 = Buffer.from(JSON.stringify({ t: 'macaroon', v: 'TOKEN' })).toString('base64');
  assert.equal(authorizationFromFile(`${b64}\n`, 'f'), 'Macaroon TOKEN');
  assert.equal(authorizationFromFile('{"macaroon":"R","discharges":["D"]}', 'f'), 'Macaroon root="R", discharge="D"');
  assert.throws(() => authorizationFromFile(' \n', 'auth.txt'), /auth file auth.txt is empty/);
  assert.throws(() => authorizationFromFile('{"macaroon":"R"}', 'f'), /expected "macaroon" and "discharges"/);
  assert.throws(() => authorizationFromFile('{nope', 'f'), /auth file f:/);
});

test('UBUNTU_STORE_AUTH forms become the Authorization header on every store request', async () => {
  const { authorizationFromEnv } = await import('../../src/image/store-client.ts');
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64');
  assert.equal(authorizationFromEnv(undefined), undefined);
  assert.equal(authorizationFromEnv(b64({ t: 'bearer', v: 'TOKEN123' })), 'Bearer TOKEN123');
  assert.equal(authorizationFromEnv(b64({ t: 'macaroon', v: 'M' })), 'Macaroon M');
  assert.equal(authorizationFromEnv(b64({ t: 'u1-macaroon', v: { r: 'R', d: 'D' } })), 'Macaroon root="R", discharge="D"');
  assert.equal(authorizationFromEnv(b64({ r: 'R', d: 'D' })), 'Macaroon root="R", discharge="D"');
  assert.throws(() => authorizationFromEnv('%%%'), /UBUNTU_STORE_AUTH/);
  await withTemp(async (tmp) => {
    world.store.requests.length = 0;
    await buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out: join(tmp, 'out'), trusted: world.trusted, now: NOW, authorization: 'Bearer TOKEN123' });
    assert.ok(world.store.requests.length > 10);
    for (const r of world.store.requests) assert.equal(r.headers['authorization'], 'Bearer TOKEN123', r.url);
  });
});

test('core20 dangerous: local files the store knows are seeded as asserted (model snap in snaps/, extra in systems/<label>/snaps with extra-snaps)', async () => {
  await withTemp(async (tmp) => {
    const helloFile = join(tmp, 'my-hello.snap');
    const core18File = join(tmp, 'my-core18.snap');
    await writeFile(helloFile, world.snaps.get('hello')!);
    await writeFile(core18File, world.snaps.get('core18')!);
    const out = join(tmp, 'out');
    world.store.requests.length = 0;
    const res = await buildImage({
      model: core20Model({ grade: 'dangerous' }).encode(),
      storeUrl: world.store.url,
      out,
      trusted: world.trusted,
      now: NOW,
      label: 'l1',
      localSnaps: new Map([
        ['hello', helloFile],
        ['core18', core18File],
      ]),
    });
    assert.deepEqual(
      res.snaps.filter((s) => s.local).map((s) => [s.name, s.revision, s.file]),
      [
        ['hello', 18, 'system-seed/snaps/hello_18.snap'],
        ['core18', 11, 'system-seed/systems/l1/snaps/core18_11.snap'],
      ],
    );
    assert.ok(!world.store.requests.some((r) => r.url.includes('/download/hello_') || r.url.includes('/download/core18_')), 'local files are not downloaded');
    const sys = join(out, 'system-seed/systems/l1');
    const extra = decodeStream(await readFile(join(sys, 'assertions/extra-snaps')));
    assert.deepEqual(extra.map((a) => a.type), ['snap-declaration', 'snap-revision']);
    const opts = parse(await readFile(join(sys, 'options.yaml'), 'utf8')) as { snaps: Record<string, string>[] };
    assert.deepEqual(opts.snaps, [{ name: 'core18', id: snapIdFor('core18'), channel: 'latest/stable' }]);
    const loaded = await loadSeed20(join(out, 'system-seed'), 'l1', world.trusted);
    assert.ok(loaded.snaps.some((s) => s.name === 'core18' && s.revision === 11));
  });
});

test('an app without a base needs the core snap in the seed', async () => {
  await withTemp(async (tmp) => {
    const { packBytes } = await import('./world.ts');
    const local = join(tmp, 'nobase.snap');
    await writeFile(local, await packBytes(join(tmp, 'src-nb'), 'nobase', 'name: nobase\nversion: "1"\n'));
    await expectFailure(tmp, 'image-snap-invalid', /cannot add snap "nobase" without also adding its base "core"/, (out) =>
      buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, localSnaps: new Map([['nobase', local]]) }),
    );
  });
});

test('bad gadgets are refused before anything is written, the structure or file named: overlaps, missing content, an MBR disk past 2 TiB, an offset-write outside, a system-data that cannot grow; one that can is grown', async () => {
  const { image, dir, file } = await import('../snap/helpers.ts');
  const { UC16_GADGET_YAML } = await import('./world.ts');
  await withTemp(async (tmp) => {
    // Each gadget is a local pc snap for the core18 model (written directly: `snapline pack` would refuse some of them).
    const gadget = async (name: string, yaml: string, extra: Record<string, string> = {}) => {
      const files: Record<string, ReturnType<typeof file>> = { 'pc-boot.img': file('x'.repeat(440)), 'pc-core.img': file('y'), 'grubx64.efi': file('GRUB'), 'grub.conf': file('') };
      for (const [k, v] of Object.entries(extra)) files[k] = file(v);
      const bytes = await image(dir({ meta: dir({ 'snap.yaml': file('name: pc\nversion: "18"\ntype: gadget\nbase: core18\n'), 'gadget.yaml': file(yaml) }), ...files }), { compression: 'gzip' });
      const path = join(tmp, `${name}.snap`);
      await writeFile(path, bytes);
      return path;
    };
    const build = (snap: string, withImage = true) => (out: string) =>
      buildImage({ model: core18Model().encode(), storeUrl: world.store.url, out, ...(withImage ? { image: join(out, 'disk.img') } : {}), trusted: world.trusted, now: NOW, localSnaps: new Map([['pc', snap]]) });

    const overlap = UC16_GADGET_YAML.replace('        size: 4M\n', '        size: 4M\n        offset: 1572864\n');
    await expectFailure(tmp, 'image-gadget-invalid', /overlaps with the preceding structure/, build(await gadget('overlap', overlap), false));
    const missing = UC16_GADGET_YAML.replace('source: grubx64.efi', 'source: shimx64.efi');
    await expectFailure(tmp, 'image-gadget-invalid', /structure "system-boot" of volume "pc": content source "shimx64.efi" is not in the gadget/, build(await gadget('missing', missing), false));
    const missingImage = UC16_GADGET_YAML.replace('image: pc-core.img', 'image: pc-core-x.img');
    await expectFailure(tmp, 'image-gadget-invalid', /structure "BIOS Boot" of volume "pc": image "pc-core-x.img" is not in the gadget/, build(await gadget('missing-image', missingImage), false));
    const huge = UC16_GADGET_YAML.replace('schema: gpt', 'schema: mbr').replace('DA,21686148-6E6F-7449-6E6F-744E65656449', 'DA').replace('size: 16M', 'size: 3000G');
    await expectFailure(tmp, 'image-gadget-invalid', /structure "writable" of volume "pc" ends past 2 TiB/, build(await gadget('huge', huge)));
    const far = UC16_GADGET_YAML.replace('offset-write: mbr+92', 'offset-write: 900M');
    await expectFailure(tmp, 'image-gadget-invalid', /offset-write at byte 943718400 is outside the image/, build(await gadget('far', far)));
    // A system-data too small for the rootfs is grown (below), but not over a structure placed after it.
    const blocked = `${UC16_GADGET_YAML.replace('        size: 16M\n', '        size: 1M\n')}      - name: after
        type: DA,21686148-6E6F-7449-6E6F-744E65656449
        size: 1M
`;
    await expectFailure(tmp, 'image-gadget-invalid', /structure "writable" of volume "pc" \(system-data\) is 1048576 bytes, but the rootfs needs \d+, and structure "after" after it leaves no room to grow it/, build(await gadget('blocked', blocked)));
    // Grown: the partition takes what the rootfs needs.
    const small = UC16_GADGET_YAML.replace('        size: 16M\n', '        size: 1M\n');
    const out = join(tmp, 'grown');
    const r = await build(await gadget('small', small))(out);
    const writable = r.image!.partitions.find((p) => p.name === 'writable')!;
    assert.ok(writable.size > 1024 * 1024 * 8, `writable is ${writable.size} bytes`);
    const { rm } = await import('node:fs/promises');
    await rm(out, { recursive: true, force: true });
  });
});

test('piboot: a gadget without cmdline.txt on the seed, a kernel without device trees: refused, nothing left behind; os_prefix rewriting', async () => {
  const { packBytes, UC20_GADGET_YAML } = await import('./world.ts');
  const { withOsPrefix } = await import('../../src/image/piboot-boot.ts');
  // os_prefix: set on the first line, later ones commented out, appended (with an empty last line) when absent.
  assert.equal(withOsPrefix('a=1\nos_prefix=x/\nos_prefix=y/\n', '/systems/l/kernel'), 'a=1\nos_prefix=/systems/l/kernel/\n# os_prefix=y/\n');
  assert.equal(withOsPrefix('a=1\n', '/p'), 'a=1\n\nos_prefix=/p/\n');
  await withTemp(async (tmp) => {
    // The seed takes config.txt (and cmdline.txt when asked); no `$kernel:` content (these kernels have no kernel.yaml).
    const yamlWith = (cmdline: boolean) =>
      UC20_GADGET_YAML.replace('bootloader: grub', 'bootloader: piboot')
        .replace('          - source: grubx64.efi\n            target: EFI/boot/grubx64.efi\n', `          - source: config.txt\n            target: config.txt\n${cmdline ? '          - source: cmdline.txt\n            target: cmdline.txt\n' : ''}`)
        .replace('        content:\n          - source: $kernel:dtbs/dtbs/\n            target: dtbs/\n', '');
    assert.doesNotMatch(yamlWith(true), /grubx64|\$kernel/);
    const snap = async (name: string, snapYaml: string, files: Record<string, string>) => {
      const path = join(tmp, `${name}.snap`);
      await writeFile(path, await packBytes(join(tmp, `src-${name}`), name, snapYaml, files));
      return path;
    };
    const kernel = await snap('k-ok', 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n', { 'kernel.img': 'K', 'dtbs/b.dtb': 'D', 'dtbs/overlays/o.dtbo': 'O' });
    const noDtbs = await snap('k-nodtbs', 'name: pc-kernel20\nversion: "5.4"\ntype: kernel\n', { 'kernel.img': 'K' });
    const gadgetFiles = (cmdline: boolean) => ({ 'meta/gadget.yaml': yamlWith(cmdline), 'piboot.conf': '', 'pc-boot.img': 'x'.repeat(440), 'config.txt': 'a=1\n', ...(cmdline ? { 'cmdline.txt': 'console=tty1\n' } : {}) });
    const noCmdline = await snap('g-nocmd', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', gadgetFiles(false));
    const good = await snap('g-ok', 'name: pc20\nversion: "20"\ntype: gadget\nbase: core20\n', gadgetFiles(true));
    const build20 = (g: string, k: string) => (out: string) => buildImage({ model: core20Model({ grade: 'dangerous' }).encode(), storeUrl: world.store.url, out, trusted: world.trusted, now: NOW, localSnaps: new Map([['pc20', g], ['pc-kernel20', k]]) });
    await expectFailure(tmp, 'image-gadget-invalid', /piboot gadget must put config.txt and cmdline.txt on the seed .*: cmdline.txt is missing/, build20(noCmdline, kernel));
    await expectFailure(tmp, 'image-snap-invalid', /kernel pc-kernel20 has no dtbs\//, build20(good, noDtbs));
  });
});
