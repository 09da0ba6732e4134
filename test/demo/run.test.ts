// snapline demo end to end, with few devices and small keys: on SQLite and on
// PostgreSQL through the library, and once through the CLI. Every device
// registers with the vault, installs the seed, then takes the new
// acme-dashboard revision; the data folder stays browsable and a second run
// into it is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureFreshDataDir, runDemo } from '../../src/demo/run.ts';
import { isDemoError } from '../../src/demo/errors.ts';
import { generateKeys } from '../../src/fleet/keys.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startServer } from '../../src/platform/server.ts';
import { SERVICES_AVAILABLE } from '../../src/services.ts';
import { runCli } from '../helpers/cli.ts';
import { postgresUnavailable, scratchPostgresDatabase } from '../helpers/databases.ts';
import { vectorKey } from '../helpers/vectors.ts';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
const ENV = { SNAPLINE_LOG_LEVEL: 'silent', PATH };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let keys: ReturnType<typeof generateKeys> | undefined;
const deviceKeys = () => (keys ??= generateKeys({ count: 3, bits: 1024, workers: 1 }));

for (const engine of ['sqlite', 'postgres'] as const) {
  test(`the demo scenario with 3 devices [${engine}]`, async (t) => {
    if (engine === 'postgres') {
      const why = await postgresUnavailable();
      if (why) return t.skip(why);
    }
    const dir = await mkdtemp(join(tmpdir(), 'snapline-demo-'));
    const pg = engine === 'postgres' ? await scratchPostgresDatabase('snapline_demo') : undefined;
    t.after(async () => {
      await rm(dir, { recursive: true, force: true });
      await pg?.drop();
    });
    const data = join(dir, 'data');
    const config = loadConfig({ data, listen: `127.0.0.1:${await freePort()}`, ...(pg ? { db: pg.url } : {}) }, ENV, dir);
    const steps: string[] = [];
    const result = await runDemo(
      { config, env: ENV, services: SERVICES_AVAILABLE, devices: 3, deviceKeys: deviceKeys(), brandKey: vectorKey('brand'), toolDirs: [], nodePath: process.execPath, path: PATH },
      { step: (title, lines) => steps.push(`${title}\n${lines.join('\n')}`), progress: () => undefined },
    );
    const s = result.fleet.summary;
    assert.equal(s.registered, 3);
    assert.equal(s.sessions, 3);
    assert.deepEqual(s.errors, {});
    assert.equal(result.dashboard.first, 1);
    assert.equal(result.dashboard.second, 2);
    assert.deepEqual(s.revisions['acme-dashboard'], { 2: 3 });
    assert.deepEqual(s.revisions['acme-control-plane'], { 1: 3 });
    // Serials come from the vault: distinct, of the brand's model.
    const serials = new Set(result.fleet.devices.map((d) => d.serial?.data.serial));
    assert.equal(serials.size, 3);
    for (const d of result.fleet.devices) assert.equal(d.serial?.data.model, 'acme-device-1');
    assert.deepEqual(
      steps.map((x) => x.split('\n')[0]!.split(' ')[0]),
      ['Server', 'Brand', 'Serial', 'Snaps', 'Model', 'Image', 'Release', 'Fleet'],
    );
    assert.match(steps.join('\n'), /acme-dashboard +\S{32} +revision 1 +acme-store, private/);
    for (const f of ['demo/acme-device-1.model', 'demo/trusted.assert', 'demo/keyring/acme-models.key', 'admin-credentials.txt']) assert.ok(existsSync(join(data, f)), f);
    assert.match(await readFile(join(data, 'demo/acme-device-1.model'), 'utf8'), /^type: model\n/);

    // The folder is left to browse: a server opens it and shows the release the devices took.
    const server = await startServer({ config, env: ENV, services: SERVICES_AVAILABLE });
    try {
      const token = /token: (\S+)/.exec(await readFile(join(data, 'admin-credentials.txt'), 'utf8'))![1]!;
      const res = await fetch(`${server.url!.replace(/\/$/, '')}/api/store/snaps/acme-dashboard`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /"revision":2/);
    } finally {
      await server.close();
    }
    // A second demo into the same folder is refused before it touches anything.
    await assert.rejects(ensureFreshDataDir(data), (err) => isDemoError(err) && err.code === 'demo-data-not-empty');
  });
}

test('snapline demo through the CLI: steps on stdout, the command to browse at the end', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-demo-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const listen = `127.0.0.1:${await freePort()}`;
  const r = await runCli(['demo', '--data', join(dir, 'data'), '--devices', '2', '--bits', '1024', '--listen', listen], { env: ENV });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /== Fleet\n {3}2\/2 devices registered/);
  assert.match(r.out, /acme-dashboard +revision 2 on 2 devices/);
  assert.match(r.out, new RegExp(`snapline serve --data ${join(dir, 'data')} --listen ${listen}`));
  const again = await runCli(['demo', '--data', join(dir, 'data'), '--devices', '2', '--bits', '1024', '--listen', listen], { env: ENV });
  assert.equal(again.code, 1);
  assert.match(again.err, /is not empty.*\(demo-data-not-empty\)/);
  const bad = await runCli(['demo', '--devices', '0'], { env: ENV });
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--devices 0: expected a positive integer/);
});
