// Boot outcomes that end unregistered, each in a clear state: the gadget hook
// failing, hanging, or setting garbage (its output recorded, no vault asked);
// a vault answering HTML 500 (snapd fails at once) or 503 (retried with a
// fresh request-id until snapd's limit, on a clock that does not wait); the
// next boot resumes with snapd's become-operational back-off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { boot, type AgentEnv } from '../../src/device/agent.ts';
import { MAX_TENTATIVES } from '../../src/device/registration.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { FakeClock } from './helpers.ts';
import { fakeVault, fakeWorld, type FakeVault, type FakeWorld } from './fake-world.ts';

let w: FakeWorld;
let vault: FakeVault;
before(async () => {
  w = await fakeWorld();
  vault = await fakeVault();
});
after(async () => {
  await vault.close();
  await w.close();
});

let devices = 0;
/** Hooks get 15 s (the machine may be busy running other tests), the hanging one less. */
function env(hookTimeoutMs = 15_000, clock = new FakeClock(new Date('2026-03-01T00:00:00Z').getTime())): AgentEnv & { clock: FakeClock } {
  return { clock, nodePath: process.execPath, path: process.env['PATH'] ?? '/usr/bin:/bin', hookTimeoutMs, generateKey: async () => vectorKey('device') };
}
const newState = () => join(w.dir, `device-${++devices}`);

test('the seed boots; a failing hook leaves the device unregistered with its output, the vault never asked', async () => {
  await w.setHook('fail', vault.url);
  vault.hits.length = 0;
  const state = newState();
  const st = await boot({ seed: w.seed, state, trusted: w.trusted }, env());
  assert.ok(st);
  assert.equal(st.seed.label, 'fake');
  assert.deepEqual(st.snaps.map((s) => [s.name, s.revision, s.channel]), [
    ['snapd', 10, 'latest/stable'],
    ['pc-kernel20', 14, '20/stable'],
    ['core20', 12, 'latest/stable'],
    ['pc20', 16, '20/stable'],
    ['hello', 18, 'latest/stable'],
  ]);
  assert.equal(st.registration.status, 'failed');
  assert.equal(st.registration.code, 'device-hook-failed');
  assert.equal(st.registration.hook?.exitCode, 1);
  assert.match(st.registration.hook?.output ?? '', /no TPM here/);
  assert.equal(st.serial, undefined);
  assert.deepEqual(vault.hits, []);
  assert.ok(!existsSync(join(state, 'device-key.pem')), 'snapd makes the key after the hook');
});

test('a hanging hook is killed at the limit; garbage settings are refused', async () => {
  await w.setHook('hang');
  const hung = await boot({ seed: w.seed, state: newState(), trusted: w.trusted }, env(800));
  assert.equal(hung?.registration.code, 'device-hook-failed');
  assert.equal(hung?.registration.hook?.timedOut, true);
  assert.match(hung?.registration.hook?.output ?? '', /waiting for the network/);
  await w.setHook('garbage', vault.url);
  const garbage = await boot({ seed: w.seed, state: newState(), trusted: w.trusted }, env());
  assert.equal(garbage?.registration.code, 'device-hook-failed');
  assert.match(garbage?.registration.reason ?? '', /device-service.headers must be a JSON object/);
});

test('a vault answering an HTML 500 fails the attempt at once; the next boot retries with the back-off doubled', async () => {
  await w.setHook('ok', vault.url);
  vault.answer(() => ({ status: 500, type: 'text/html', body: '<html><body>Internal Server Error</body></html>' }));
  vault.hits.length = 0;
  const state = newState();
  const e = env();
  const first = await boot({ seed: w.seed, state, trusted: w.trusted }, e);
  assert.equal(first?.registration.status, 'failed');
  assert.equal(first?.registration.code, 'device-registration-failed');
  assert.match(first?.registration.reason ?? '', /cannot retrieve request-id for making a request for a serial: unexpected status 500/);
  assert.equal(first?.registration.backoffMs, 5 * 60_000);
  assert.equal(first?.registration.nextAttemptAt, new Date(e.clock.now().getTime() + 5 * 60_000).toISOString());
  assert.deepEqual(vault.hits, ['POST /v1/request-id']);
  assert.ok(existsSync(join(state, 'device-key.pem')));
  const second = await boot({ seed: w.seed, state, trusted: w.trusted }, env());
  assert.equal(second?.registration.attempts, 2);
  assert.equal(second?.registration.backoffMs, 10 * 60_000);
  assert.equal(second?.deviceKeyId, vectorKey('device').id, 'the key made at the first attempt is kept');
});

test('a vault answering 503 is retried with a fresh request-id until the limit, without waiting for real', async () => {
  let ids = 0;
  vault.answer((path) => (path.endsWith('/request-id') ? { status: 200, type: 'application/json', body: JSON.stringify({ 'request-id': `id-${++ids}` }) } : { status: 503, type: 'text/html', body: '<html>busy</html>' }));
  vault.hits.length = 0;
  const e = env();
  const st = await boot({ seed: w.seed, state: newState(), trusted: w.trusted }, e);
  assert.equal(st?.registration.status, 'failed');
  assert.equal(st?.registration.code, 'device-registration-failed');
  assert.match(st?.registration.reason ?? '', /unexpected status 503 \(gave up after 15 attempts\)/);
  assert.deepEqual(st?.registration.requests, { requestIds: MAX_TENTATIVES, serialPosts: MAX_TENTATIVES, polls: 0 });
  assert.equal(vault.hits.length, 2 * MAX_TENTATIVES);
  assert.equal(e.clock.sleeps.length, MAX_TENTATIVES - 1);
  // A vault answering HTML with 200 to the request-id is retried as an undecodable answer.
  vault.answer(() => ({ status: 200, type: 'text/html', body: '<html>captive portal</html>' }));
  const portal = await boot({ seed: w.seed, state: newState(), trusted: w.trusted }, env());
  assert.match(portal?.registration.reason ?? '', /cannot read response with request-id.*gave up after 15 attempts/);
});

test('a booted device whose seed went away fails its next attempt cleanly', async () => {
  const seed = join(w.dir, 'seed-copy');
  await cp(w.seed, seed, { recursive: true });
  await w.setHook('fail');
  const state = newState();
  const first = await boot({ seed, state, trusted: w.trusted }, env());
  assert.equal(first?.registration.code, 'device-hook-failed');
  await rm(seed, { recursive: true, force: true });
  const second = await boot({ seed, state, trusted: w.trusted }, env());
  assert.equal(second?.registration.status, 'failed');
  assert.equal(second?.registration.attempts, 2);
  assert.match(second?.registration.reason ?? '', /cannot read the gadget .*pc20_16\.snap/);
});
