// snapline device boot|refresh|status through the CLI: a device that cannot
// register (a vault answering HTML 500) ends in a clear state and a non-zero
// exit; one against Snapline's server boots, registers (the gadget hook, or
// --no-hooks), refreshes and reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeStream } from '../../src/assertions/index.ts';
import { buildImage } from '../../src/image/build.ts';
import { diskToolsSkip } from '../image/helpers.ts';
import { runCli } from '../helpers/cli.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { fakeVault, fakeWorld } from './fake-world.ts';
import { deviceWorld } from './world.ts';

const ENV = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };

test('a device that cannot register: non-zero exit, the reason in status, refresh refused', async (t) => {
  const w = await fakeWorld();
  t.after(() => w.close());
  const vault = await fakeVault();
  t.after(() => vault.close());
  vault.answer(() => ({ status: 500, type: 'text/html', body: '<html>oops</html>' }));
  const trusted = join(w.dir, 'trusted.assert');
  await writeFile(trusted, encodeStream(w.trusted));
  const settings = join(w.dir, 'settings.yaml');
  await writeFile(settings, `device-service.url: ${vault.url}\ndevice-service.headers:\n  api-key: K\nregistration.proposed-serial: cli-1\n`);
  const key = join(w.dir, 'device.pem');
  await writeFile(key, vectorKey('device').toPem());
  const state = join(w.dir, 'cli-state');

  const booted = await runCli(['device', 'boot', '--seed', w.seed, '--state', state, '--trusted', trusted, '--no-hooks', settings, '--device-key', key], { env: ENV });
  assert.equal(booted.code, 1, booted.err);
  assert.match(booted.err, /error: the device is not registered \(device-registration-failed\)/);
  assert.match(booted.out, /registration: failed \(1 attempt\)/);
  assert.match(booted.out, /unexpected status 500 \(device-registration-failed\)/);
  assert.match(booted.out, /pc20 +16 +20\/stable/);
  assert.deepEqual(vault.hits, ['POST /v1/request-id']);

  const status = await runCli(['device', 'status', '--state', state, '--json'], { env: ENV });
  assert.equal(status.code, 0, status.err);
  const st = JSON.parse(status.out);
  assert.equal(st.registration.status, 'failed');
  assert.equal(st.registration.code, 'device-registration-failed');
  assert.equal(st.registration.hook.source, 'file');
  assert.equal(st.registration.config.proposedSerial, 'cli-1');
  assert.equal(st.model, undefined, 'assertion streams stay in the state file');
  assert.equal(st.snaps.length, 5);

  const refresh = await runCli(['device', 'refresh', '--state', state], { env: ENV });
  assert.equal(refresh.code, 1);
  assert.match(refresh.err, /refresh failed \(device-not-registered\)/);

  const none = await runCli(['device', 'status', '--state', join(w.dir, 'nothing')], { env: ENV });
  assert.equal(none.code, 1);
  assert.match(none.err, /holds no device state/);
  const noTrust = await runCli(['device', 'boot', '--seed', w.seed, '--state', join(w.dir, 'x')], { env: ENV });
  assert.equal(noTrust.code, 1);
  assert.match(noTrust.err, /no trusted assertions/);
  const badSeed = await runCli(['device', 'boot', '--seed', w.dir, '--state', join(w.dir, 'y'), '--trusted', trusted], { env: ENV });
  assert.equal(badSeed.code, 1);
  assert.match(badSeed.out, /device: not booted/);
  assert.match(badSeed.err, /the seed does not verify \(device-seed-invalid\)/);
});

/** The device world on SQLite, with its trusted root and a device key in files, as the CLI reads them. */
async function serverWorld(t: { after(fn: () => Promise<void>): void }) {
  const w = await deviceWorld('sqlite');
  t.after(() => w.close());
  const trusted = join(w.dir, 'trusted.assert');
  await writeFile(trusted, encodeStream(w.trusted));
  const key = join(w.dir, 'device.pem');
  await writeFile(key, vectorKey('stranger').toPem());
  return { w, trusted, key };
}

test('boot, register and refresh against the server through the CLI', async (t) => {
  const { w, trusted, key } = await serverWorld(t);
  const state = join(w.dir, 'cli-device');
  const booted = await runCli(['device', 'boot', '--seed', w.seed, '--state', state, '--device-key', key, '--store', w.url, '--json'], { env: { ...ENV, SNAPLINE_TRUSTED: trusted } });
  assert.equal(booted.code, 0, booted.err + booted.out);
  const st = JSON.parse(booted.out);
  assert.equal(st.registration.status, 'registered');
  assert.equal(typeof st.serial, 'string');
  assert.match(booted.err, /running the prepare-device hook of acme-gadget/);
  await w.release('acme-app', '2.0');
  const refreshed = await runCli(['device', 'refresh', '--state', state], { env: ENV });
  assert.equal(refreshed.code, 0, refreshed.err);
  assert.match(refreshed.out, /last refresh: \S+ updated/);
  assert.match(refreshed.out, /acme-app 1 -> 2 \(latest\/stable\)/);
  assert.match(refreshed.out, new RegExp(`serial: ${st.serial}`));
  const again = await runCli(['device', 'refresh', '--state', state, '--json'], { env: ENV });
  assert.equal(again.code, 0, again.err);
  assert.equal(JSON.parse(again.out).lastRefresh.outcome, 'no-updates');
});

test('boot from a disk image (--image): the seed is read from ubuntu-seed into the state folder', { skip: await diskToolsSkip() }, async (t) => {
  const { w, trusted, key } = await serverWorld(t);
  const img = join(w.dir, 'disk.img');
  await buildImage({ model: w.model.encode(), storeUrl: w.url, out: join(w.dir, 'disk-out'), image: img, trusted: w.trusted, label: 'e2e' });
  const env = { ...ENV, SNAPLINE_TRUSTED: trusted };
  const state = join(w.dir, 'from-disk');
  const booted = await runCli(['device', 'boot', '--image', img, '--state', state, '--device-key', key, '--store', w.url, '--json'], { env });
  assert.equal(booted.code, 0, booted.err + booted.out);
  assert.match(booted.err, /seed read from .*disk\.img, partition 1 \(ubuntu-seed\), vfat/);
  const st = JSON.parse(booted.out);
  assert.equal(st.registration.status, 'registered');
  assert.ok(st.seed.dir.startsWith(join(state, 'seed')), st.seed.dir);
  assert.equal(st.seed.label, 'e2e');

  const both = await runCli(['device', 'boot', '--image', img, '--seed', w.seed, '--state', join(w.dir, 'both')], { env });
  assert.equal(both.code, 1);
  assert.match(both.err, /either --seed DIR or --image FILE.img/);
  await writeFile(join(w.dir, 'junk.img'), Buffer.alloc(4096, 1));
  const junk = await runCli(['device', 'boot', '--image', join(w.dir, 'junk.img'), '--state', join(w.dir, 'junk')], { env });
  assert.equal(junk.code, 1);
  assert.match(junk.err, /no MBR signature \(image-disk-unreadable\)/);
});
