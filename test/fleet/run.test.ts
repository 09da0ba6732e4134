// The fleet simulator end to end against Snapline's own server (store and
// vault, SQLite and PostgreSQL; test/device/world.ts): 20 devices from one
// seed, the gadget's prepare-device hook run once, each device registered
// with its own key (distinct serials), sessions opened, refreshes done; a
// released revision taken by all; with --fail some stay on the old one.
// Device keys are small RSA keys made once here in worker threads (the
// vectors have only six keys, and RSA-4096 generation is slow).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeStream, type PrivateKey } from '../../src/assertions/index.ts';
import { generateKeys } from '../../src/fleet/keys.ts';
import { runFleet, type FleetEnv, type FleetRunOptions } from '../../src/fleet/run.ts';
import type { FleetProgress } from '../../src/fleet/stats.ts';
import { runCli } from '../helpers/cli.ts';
import { eachEngine } from '../store/engines.ts';
import { deviceWorld, type DeviceWorld } from '../device/world.ts';

const N = 20;
let keysMade: Promise<PrivateKey[]> | undefined;
const fleetKeys = () => (keysMade ??= generateKeys({ count: N, bits: 2048, workers: 2 }));

function env(progress: FleetProgress[] = []): FleetEnv {
  return {
    clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    nodePath: process.execPath,
    path: process.env['PATH'] ?? '/usr/bin:/bin',
    hookTimeoutMs: 20_000,
    onProgress: (p) => progress.push(p),
    progressEveryMs: 100,
  };
}

async function options(w: DeviceWorld, extra: Partial<FleetRunOptions> = {}): Promise<FleetRunOptions> {
  return { seed: w.seed, trusted: w.trusted, count: N, keys: await fleetKeys(), storeUrl: w.url, concurrency: 6, workDir: await mkdtemp(join(w.dir, 'fleet-')), ...extra };
}

eachEngine('a fleet of 20 registers with distinct serials, opens sessions, refreshes, takes a release; --fail leaves some behind', async (engine, t) => {
  const w = await deviceWorld(engine);
  t.after(() => w.close());
  const keys = await fleetKeys();

  // 1. Boot, register (the hook once), session, one refresh: nothing new yet.
  const progress: FleetProgress[] = [];
  const first = await runFleet(await options(w), env(progress));
  const s1 = first.summary;
  assert.equal(s1.registered, N, JSON.stringify(s1.errors));
  assert.equal(s1.registrationFailed, 0);
  assert.equal(s1.sessions, N);
  assert.equal(s1.refreshes, N);
  assert.equal(s1.updates, 0);
  assert.deepEqual(s1.errors, {});
  assert.deepEqual(s1.revisions['acme-app'], { '1': N });
  assert.equal(s1.steps.register.count, N);
  assert.ok(s1.registrationsPerSecond > 0);
  assert.ok(s1.steps.refresh.p50Ms > 0 && s1.steps.refresh.p99Ms >= s1.steps.refresh.p50Ms);
  const serials = first.devices.map((d) => d.serial!.data.serial);
  assert.equal(new Set(serials).size, N, 'every device has its own serial');
  first.devices.forEach((d, i) => {
    assert.equal(d.serial!.data.deviceKeyId, keys[i]!.id);
    assert.equal(d.serial!.data.brandId, 'acme');
    assert.ok(d.session && d.session.length > 10);
  });
  const last = progress.at(-1)!;
  assert.equal(last.registered, N);
  assert.equal(last.refreshes, N);

  // 2. A release: every device takes it, refreshing every 0.25 s for 4 s.
  const rev2 = await w.release('acme-app', '2.0');
  const second = await runFleet(await options(w, { refreshEveryMs: 250, durationMs: 4000 }), env());
  const s2 = second.summary;
  assert.equal(s2.registered, N);
  assert.deepEqual(s2.errors, {});
  assert.deepEqual(s2.revisions['acme-app'], { [String(rev2)]: N });
  assert.equal(s2.updates, N, 'one update per device, later refreshes find nothing new');
  assert.ok(second.devices.every((d) => d.refreshes >= 2), `refreshes per device: ${second.devices.map((d) => d.refreshes)}`);
  assert.equal(s2.refreshes, second.devices.reduce((a, d) => a + d.refreshes, 0));
  assert.deepEqual(second.devices.map((d) => d.serial!.data.serial), serials, 'the vault gives a known key its serial again');

  // 3. Another release with installs failing half of the time, one refresh each: some keep the
  // revision they booted with (each run boots its devices from the seed, revision 1).
  const rev3 = await w.release('acme-app', '3.0');
  const third = await runFleet(await options(w, { failProbability: 0.5, randomSeed: 1234 }), env());
  const s3 = third.summary;
  const behind = third.devices.filter((d) => d.snaps.find((s) => s.name === 'acme-app')!.revision === 1).length;
  assert.ok(behind > 0 && behind < N, `devices left on the old revision: ${behind}`);
  assert.deepEqual(s3.revisions['acme-app'], { '1': behind, [String(rev3)]: N - behind });
  assert.equal(s3.failures, behind);
  assert.equal(s3.updates, N - behind);
  assert.deepEqual(s3.errors, { 'device-install-failed': behind });
  // The undo keeps the old revision as booted: its file, channel and refreshed-date.
  const failedOne = third.devices.find((d) => d.failures > 0)!;
  const kept = failedOne.snaps.find((s) => s.name === 'acme-app')!;
  const booted = first.devices[0]!.snaps.find((s) => s.name === 'acme-app')!;
  assert.deepEqual({ ...kept, refreshedDate: '' }, { ...booted, refreshedDate: '' });
  assert.equal(kept.refreshedDate, failedOne.snaps.find((s) => s.name === 'core20')!.refreshedDate, 'refreshed-date still the boot time');
});

test('fleet run through the CLI: --json summary, --no-hooks, failures and bad options', async (t) => {
  const w = await deviceWorld('sqlite');
  t.after(() => w.close());
  const trusted = join(w.dir, 'trusted.assert');
  await writeFile(trusted, encodeStream(w.trusted));
  const keysFile = join(w.dir, 'keys.jsonl');
  const keys = await fleetKeys();
  await writeFile(keysFile, keys.slice(0, 5).map((k) => JSON.stringify({ 'key-id': k.id, pem: k.toPem() })).join('\n') + '\n', { mode: 0o600 });
  const settings = join(w.dir, 'settings.yaml');
  await writeFile(settings, `device-service.url: ${w.url}/v1/\ndevice-service.headers:\n  api-key: ${w.apiKey}\n`);
  const ENV = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SNAPLINE_TRUSTED: trusted };
  const rev2 = await w.release('acme-app', '2.0');

  const r = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '5', '--keys', keysFile, '--store', w.url, '--no-hooks', settings, '--concurrency', '3', '--fail', '1', '--json'], { env: ENV });
  assert.equal(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.equal(s.registered, 5);
  assert.equal(s.sessions, 5);
  assert.equal(s.refreshes, 5);
  assert.equal(s.failures, 5, '--fail 1: every install fails');
  assert.deepEqual(s.revisions['acme-app'], { '1': 5 });
  assert.deepEqual(s.errors, { 'device-install-failed': 5 });
  assert.match(r.err, /seed verified once for the fleet/);
  assert.doesNotMatch(r.err, /prepare-device hook/, '--no-hooks: the hook is not run');
  assert.match(r.err, /registered 5\/5 sessions 5 refreshes 5 updates 0 failures 5/);

  // Without --json: the summary for people; two keys more are made (and kept) for 7 devices.
  const text = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '7', '--keys', keysFile, '--store', w.url, '--bits', '1024'], { env: ENV });
  assert.equal(text.code, 0, text.err);
  assert.match(text.err, /making 2 device keys for .*keys\.jsonl/);
  assert.match(text.out, /devices: 7, registered 7/);
  assert.match(text.out, new RegExp(`acme-app: r${rev2} ×7`));
  assert.match(text.out, /refresh +7 /);

  // A store that does not open sessions (a wrong URL: 404): registered, but no session; non-zero exit.
  const noStore = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '2', '--keys', keysFile, '--no-hooks', settings, '--store', `${w.url}/nothing`, '--json'], { env: ENV });
  assert.equal(noStore.code, 1);
  assert.match(noStore.err, /2 of 2 devices did not register or open a store session \(errors: device-session-failed 2\)/);
  assert.equal(JSON.parse(noStore.out).registered, 2);
  // A vault that refuses the factory's API key: no device registers, each with the vault's code.
  const wrongKey = join(w.dir, 'wrong-key.yaml');
  await writeFile(wrongKey, `device-service.url: ${w.url}/v1/\ndevice-service.headers:\n  api-key: not-the-key\n`);
  const refused = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '3', '--keys', keysFile, '--store', w.url, '--no-hooks', wrongKey, '--json'], { env: ENV });
  assert.equal(refused.code, 1);
  const rs = JSON.parse(refused.out);
  assert.equal(rs.registered, 0);
  assert.equal(rs.registrationFailed, 3);
  assert.equal(rs.sessions, 0);
  assert.equal(rs.refreshes, 0);
  assert.deepEqual(rs.errors, { 'device-registration-failed': 3 });
  assert.match(refused.err, /3 of 3 devices did not register or open a store session \(errors: device-registration-failed 3\)/);
  const badFail = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '2', '--keys', keysFile, '--fail', '2'], { env: ENV });
  assert.equal(badFail.code, 1);
  assert.match(badFail.err, /--fail 2: expected a probability within 0 and 1/);
  const badSeed = await runCli(['fleet', 'run', '--seed', w.dir, '--count', '2', '--keys', keysFile], { env: ENV });
  assert.equal(badSeed.code, 1);
  assert.match(badSeed.err, /device-seed-invalid|holds no seed/);
  const dup = join(w.dir, 'dup.jsonl');
  await writeFile(dup, [keys[0]!, keys[0]!].map((k) => JSON.stringify({ pem: k.toPem() })).join('\n') + '\n');
  const dupRun = await runCli(['fleet', 'run', '--seed', w.seed, '--count', '2', '--keys', dup], { env: ENV });
  assert.equal(dupRun.code, 1);
  assert.match(dupRun.err, /the keys are not distinct/);
});
