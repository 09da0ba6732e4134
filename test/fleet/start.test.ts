// A fleet that cannot start ends with the code, before any device asks
// anything: a seed that does not verify, a prepare-device hook that fails or
// sets garbage (run once for the fleet), options that do not fit. A vault that
// answers HTML 500s leaves every device unregistered with its code, the hook
// having run once. (test/device/fake-world.ts: no database.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { runFleet, type FleetEnv } from '../../src/fleet/run.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { fakeVault, fakeWorld } from '../device/fake-world.ts';

const env: FleetEnv = { clock: { now: () => new Date(), sleep: async () => {} }, nodePath: process.execPath, path: process.env['PATH'] ?? '/usr/bin:/bin', hookTimeoutMs: 20_000 };
const keys = ['device', 'stranger', 'store'].map(vectorKey);
const code = (c: string) => (e: Error & { code?: string }) => e.code === c;

test('a fleet that cannot start, and one whose vault answers HTML 500s', async (t) => {
  const w = await fakeWorld();
  t.after(() => w.close());
  const vault = await fakeVault();
  t.after(() => vault.close());
  const base = { seed: w.seed, trusted: w.trusted, count: 3, keys, workDir: await mkdtemp(join(w.dir, 'fleet-')) };

  await assert.rejects(runFleet({ ...base, seed: w.dir }, env), code('device-seed-invalid'));
  await assert.rejects(runFleet({ ...base, trusted: [] }, env), code('device-seed-invalid'));
  await w.setHook('fail', vault.url);
  await assert.rejects(runFleet(base, env), (e: Error & { code?: string }) => e.code === 'device-hook-failed' && /no TPM here/.test(e.message));
  await w.setHook('garbage', vault.url);
  await assert.rejects(runFleet(base, env), code('device-hook-failed'));
  assert.deepEqual(vault.hits, [], 'the vault is not asked');
  await assert.rejects(runFleet({ ...base, keys: [keys[0]!, keys[0]!, keys[1]!] }, env), (e: Error & { code?: string }) => e.code === 'fleet-options-invalid' && /not distinct/.test(e.message));
  await assert.rejects(runFleet({ ...base, count: 4 }, env), /4 devices need 4 keys, 3 given/);
  await assert.rejects(runFleet({ ...base, failProbability: 1.5 }, env), code('fleet-options-invalid'));
  await assert.rejects(runFleet({ ...base, concurrency: 0 }, env), code('fleet-options-invalid'));

  await w.setHook('ok', vault.url);
  vault.answer(() => ({ status: 500, type: 'text/html', body: '<html>oops</html>' }));
  const { summary, devices } = await runFleet(base, env);
  assert.equal(summary.registered, 0);
  assert.equal(summary.registrationFailed, 3);
  assert.equal(summary.sessions, 0);
  assert.deepEqual(summary.errors, { 'device-registration-failed': 3 });
  assert.ok(devices.every((d) => d.error?.code === 'device-registration-failed' && /unexpected status 500/.test(d.error.reason)));
  assert.equal(vault.hits.length, 3, 'one request-id each, refused at once');
});
