// The device agent end to end against Snapline's own server (store and vault
// on one port, SQLite and PostgreSQL): boot from a seed the image builder
// wrote, the gadget's prepare-device hook naming the vault, registration,
// a device session, refreshes (a new revision taken; a failed install undone;
// a download whose digest does not match refused; an expired session renewed).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeStream, sha3384 } from '../../src/assertions/index.ts';
import { boot, refreshDevice, type AgentEnv } from '../../src/device/agent.ts';
import { fetchTransport } from '../../src/device/http.ts';
import type { HttpRequest, Transport } from '../../src/device/io.ts';
import { readState, writeState } from '../../src/device/state-store.ts';
import type { DeviceState } from '../../src/device/state.ts';
import { eachEngine } from '../store/engines.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { deviceWorld } from './world.ts';

/** Node's fetch transport, recording requests; `tamper` changes the bytes of downloads as they arrive (a bad mirror). */
function recording(stateDir: string, tamper?: (bytes: Buffer) => Buffer): { transport: Transport; requests: HttpRequest[] } {
  const inner = fetchTransport({ downloadDir: join(stateDir, 'snaps') });
  const requests: HttpRequest[] = [];
  return {
    requests,
    transport: {
      request: (req) => (requests.push(req), inner.request(req)),
      async download(req) {
        requests.push(req);
        const d = await inner.download(req);
        if (!tamper || !d.file) return d;
        const bytes = tamper(await readFile(d.file));
        await writeFile(d.file, bytes);
        return { ...d, size: bytes.length, sha3384Hex: createHash('sha3-384').update(bytes).digest('hex') };
      },
    },
  };
}

function env(transport: Transport): AgentEnv {
  return { clock: { now: () => new Date(), sleep: async () => {} }, transport, nodePath: process.execPath, path: process.env['PATH'] ?? '/usr/bin:/bin', hookTimeoutMs: 20_000 };
}

const snap = (st: DeviceState, name: string) => st.snaps.find((s) => s.name === name)!;

eachEngine('a device boots from the seed, registers through its gadget hook, then refreshes from the brand store', async (engine, t) => {
  const w = await deviceWorld(engine);
  t.after(() => w.close());
  const state = join(w.dir, 'device-1');
  const rec = recording(state);

  // Boot: seed verified, hook run, registered with the vault.
  const booted = await boot({ seed: w.seed, state, trusted: w.trusted, deviceKey: vectorKey('device'), storeUrl: w.url }, env(rec.transport));
  assert.ok(booted);
  assert.equal(booted.registration.status, 'registered', JSON.stringify(booted.registration));
  assert.equal(booted.seed.form, 'uc20');
  assert.equal(booted.seed.label, 'e2e');
  assert.deepEqual(booted.snaps.map((s) => [s.name, s.snapId, s.revision, s.channel]).sort(), [
    ['acme-app', w.ids['acme-app'], 1, 'latest/stable'],
    ['acme-gadget', w.ids['acme-gadget'], 1, 'latest/stable'],
    ['acme-kernel', w.ids['acme-kernel'], 1, 'latest/stable'],
    ['core20', w.ids['core20'], 1, 'latest/stable'],
    ['snapd', w.ids['snapd'], 1, 'latest/stable'],
  ]);
  assert.equal(booted.registration.hook?.source, 'hook');
  assert.equal(booted.registration.hook?.exitCode, 0);
  assert.match(booted.registration.hook?.output ?? '', /prepare-device done for acme-gadget/);
  assert.deepEqual(booted.registration.config?.headers, { 'api-key': '(set)' }, 'the API key is not written to the state');
  const serial = decodeStream(booted.serial!)[0]!;
  assert.equal(serial.headerString('brand-id'), 'acme');
  assert.equal(serial.headerString('model'), 'box');
  assert.equal(serial.headerString('device-key-sha3-384'), vectorKey('device').id);
  // The vault saw what the hook set: the API key on both requests, the body in the serial-request (it becomes the serial's body).
  const vaultCalls = rec.requests.filter((r) => r.url.startsWith(`${w.url}/v1/`));
  assert.deepEqual(vaultCalls.map((r) => new URL(r.url).pathname), ['/v1/request-id', '/v1/serial']);
  assert.ok(vaultCalls.every((r) => r.headers['api-key'] === w.apiKey));
  const sr = decodeStream(vaultCalls[1]!.body!)[0]!;
  assert.equal(sr.headerString('serial'), 'box-from-hook');
  assert.equal(sr.body?.toString(), 'mac: 00:11:22:33:44:55');
  const keyFile = await stat(join(state, 'device-key.pem'));
  assert.equal(keyFile.mode & 0o777, 0o600);
  assert.equal((await stat(join(state, 'state.json'))).mode & 0o777, 0o600);

  // Nothing new in the store: a refresh with the full context, nothing taken.
  rec.requests.length = 0;
  const idle = await refreshDevice({ state }, env(rec.transport));
  assert.equal(idle.lastRefresh?.outcome, 'no-updates', JSON.stringify(idle.lastRefresh));
  assert.ok(idle.session?.macaroon, 'a device session was opened');
  assert.deepEqual(rec.requests.map((r) => new URL(r.url).pathname), ['/api/v1/snaps/auth/nonces', '/api/v1/snaps/auth/sessions', '/v2/snaps/refresh']);
  const action = rec.requests[2]!;
  assert.equal(action.headers['snap-refresh-reason'], 'scheduled');
  assert.equal(action.headers['snap-device-store'], 'acme-store');
  assert.equal(action.headers['snap-device-authorization'], `Macaroon root="${idle.session!.macaroon}"`);
  const body = JSON.parse(action.body!.toString()) as { context: Record<string, unknown>[]; actions: Record<string, unknown>[] };
  const appCtx = body.context.find((c) => c['snap-id'] === w.ids['acme-app'])!;
  assert.deepEqual(appCtx, {
    'snap-id': w.ids['acme-app'],
    'instance-key': w.ids['acme-app'],
    revision: 1,
    'tracking-channel': 'latest/stable',
    epoch: { read: [0], write: [0] },
    'refreshed-date': snap(booted, 'acme-app').refreshedDate,
  });
  assert.equal(body.context.length, 5);
  assert.equal(body.actions.length, 5);

  // A new revision: downloaded, verified, recorded.
  const rev2 = await w.release('acme-app', '2.0');
  assert.equal(rev2, 2);
  rec.requests.length = 0;
  const r2 = await refreshDevice({ state }, env(rec.transport));
  assert.equal(r2.lastRefresh?.outcome, 'updated', JSON.stringify(r2.lastRefresh));
  assert.deepEqual(r2.lastRefresh?.updated, [{ name: 'acme-app', from: 1, to: 2, channel: 'latest/stable' }]);
  const app2 = snap(r2, 'acme-app');
  assert.equal(app2.revision, 2);
  assert.equal(app2.version, '2.0');
  assert.notEqual(app2.refreshedDate, snap(booted, 'acme-app').refreshedDate);
  assert.equal(app2.file, join(state, 'snaps', 'acme-app_2.snap'));
  const bytes = await readFile(app2.file);
  const revAssertion = decodeStream(r2.assertions).find((a) => a.type === 'snap-revision' && a.headerString('snap-revision') === '2');
  assert.ok(revAssertion, 'the snap-revision is kept');
  assert.equal(revAssertion.headerString('snap-sha3-384'), sha3384(bytes));
  const dl = rec.requests.find((r) => r.url.includes('/download/'))!;
  assert.equal(dl.headers['snap-refresh-reason'], 'scheduled');
  assert.equal(dl.headers['x-device-authorization'], `Macaroon root="${r2.session!.macaroon}"`);
  assert.equal(r2.session!.macaroon, idle.session!.macaroon, 'the session is reused');
  // The device tells the store how it went (explicit health reports, update control), with its session.
  const okay = rec.requests.find((r) => r.url.endsWith('/api/store/device/health'))!;
  assert.deepEqual(JSON.parse(okay.body!.toString()), { reports: [{ 'snap-id': snap(r2, 'acme-app').snapId, revision: 2, status: 'okay' }] });
  assert.equal(okay.headers['snap-device-authorization'], `Macaroon root="${r2.session!.macaroon}"`);
  assert.equal((await readState(state))?.phase, 'seeded');

  // A failed install is undone: revision, channel, cohort and refreshed-date as before; no file left.
  await w.release('acme-app', '3.0');
  const failedInstall = await refreshDevice({ state, failInstall: (name, rev) => name === 'acme-app' && rev === 3 }, env(rec.transport));
  assert.equal(failedInstall.lastRefresh?.outcome, 'failed');
  assert.equal(failedInstall.lastRefresh?.failed[0]?.code, 'device-install-failed');
  assert.deepEqual(snap(failedInstall, 'acme-app'), app2);
  assert.deepEqual((await readdir(join(state, 'snaps'))).sort(), ['acme-app_2.snap']);
  const error = rec.requests.filter((r) => r.url.endsWith('/api/store/device/health')).at(-1)!;
  assert.deepEqual(JSON.parse(error.body!.toString()).reports.map((x: Record<string, unknown>) => [x['revision'], x['status']]), [[3, 'error']]);

  // A download that does not match the store's digest (twice: snapd tries once more) installs nothing.
  let tampered = 0;
  const bad = recording(state, (bytes) => {
    tampered++;
    const copy = Buffer.from(bytes);
    copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
    return copy;
  });
  const mismatch = await refreshDevice({ state }, env(bad.transport));
  assert.equal(mismatch.lastRefresh?.outcome, 'failed');
  assert.equal(mismatch.lastRefresh?.failed[0]?.code, 'device-snap-digest-mismatch', JSON.stringify(mismatch.lastRefresh));
  assert.equal(tampered, 2);
  assert.deepEqual(snap(mismatch, 'acme-app'), app2);
  assert.deepEqual((await readdir(join(state, 'snaps'))).sort(), ['acme-app_2.snap'], 'no partial or rejected file is left');

  // An unknown session: the store asks for a new one (device-authorization-needs-refresh), the refresh goes on.
  await writeState(state, { ...mismatch, session: { macaroon: 'expired-session', obtainedAt: mismatch.session!.obtainedAt } });
  rec.requests.length = 0;
  const renewed = await refreshDevice({ state }, env(rec.transport));
  assert.equal(renewed.lastRefresh?.outcome, 'updated', JSON.stringify(renewed.lastRefresh));
  assert.equal(snap(renewed, 'acme-app').revision, 3);
  assert.notEqual(renewed.session!.macaroon, 'expired-session');
  const paths = rec.requests.map((r) => new URL(r.url).pathname);
  assert.deepEqual(paths.slice(0, 4), ['/v2/snaps/refresh', '/api/v1/snaps/auth/nonces', '/api/v1/snaps/auth/sessions', '/v2/snaps/refresh']);
  assert.equal(rec.requests[2]!.headers['x-device-authorization'], 'Macaroon root="expired-session"', 'the old session goes with the renewal');
  assert.ok(!existsSync(join(state, 'snaps', 'acme-app_2.snap')), 'the revision before is let go');
  assert.deepEqual((await readdir(state)).sort(), ['device-key.pem', 'snaps', 'state.json'], 'no temporary file is left');
  assert.deepEqual(await readdir(join(state, 'snaps')), ['acme-app_3.snap']);
});

eachEngine('without device-service.url, a device registers at the store URL (api/v1/snaps/auth/...) with settings from a file', async (engine, t) => {
  const w = await deviceWorld(engine);
  t.after(() => w.close());
  const state = join(w.dir, 'device-2');
  const rec = recording(state);
  const st = await boot(
    { seed: w.seed, state, trusted: w.trusted, deviceKey: vectorKey('stranger'), storeUrl: w.url, noHooks: { 'device-service.headers': { 'api-key': w.apiKey }, registration: { 'proposed-serial': 'line-2' } } },
    env(rec.transport),
  );
  assert.equal(st?.registration.status, 'registered', JSON.stringify(st?.registration));
  assert.equal(st?.registration.hook?.source, 'file');
  assert.deepEqual(rec.requests.map((r) => new URL(r.url).pathname), ['/api/v1/snaps/auth/request-id', '/api/v1/snaps/auth/devices']);
  assert.equal(decodeStream(st!.serial!)[0]!.headerString('device-key-sha3-384'), vectorKey('stranger').id);
  // A wrong API key: the vault refuses (401), the device says why and stays unregistered.
  const other = await boot(
    { seed: w.seed, state: join(w.dir, 'device-3'), trusted: w.trusted, deviceKey: vectorKey('brand-expired'), storeUrl: w.url, noHooks: { 'device-service.url': `${w.url}/v1/`, 'device-service.headers': { 'api-key': 'wrong' } } },
    env(recording(join(w.dir, 'device-3')).transport),
  );
  assert.equal(other?.registration.status, 'failed');
  assert.equal(other?.registration.code, 'device-registration-failed');
  assert.match(other?.registration.reason ?? '', /cannot retrieve request-id for making a request for a serial: unknown api-key$/);
});
