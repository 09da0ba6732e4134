// The server's client commands against a listening server: login, root
// export, account add, key register --url; then a model signed locally
// verifies against the exported root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from '../../src/assertions/index.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';

test('client commands against a running server', async (t) => {
  const s = await startTestServer('sqlite', { listen: true });
  const dir = mkdtempSync(join(tmpdir(), 'snapline-client-'));
  t.after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = s.server.url!;
  const env = { SNAPLINE_URL: url, SNAPLINE_KEYRING: join(dir, 'keyring'), SNAPLINE_PASSPHRASE: 'pw', SNAPLINE_CREDENTIALS: join(dir, 'credentials.json') };
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  const exported = await runCli(['root', 'export'], { env });
  assert.equal(exported.code, 0, exported.err);
  const trusted = file('trusted.assert', exported.out);

  const anonymous = await runCli(['account', 'add', 'acme'], { env });
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.err, /not logged in/);

  const added = await runCli(['account', 'add', 'acme', '--display-name', 'ACME'], { env: { ...env, SNAPLINE_TOKEN: TEST_ADMIN_TOKEN } });
  assert.equal(added.code, 0, added.err);
  assert.equal(decode(added.out).headerString('display-name'), 'ACME');
  const account = file('acme.account', added.out);

  // Password login is remembered in the credentials file (mode 0600).
  await s.request('POST', '/api/users', { token: TEST_ADMIN_TOKEN, body: { username: 'brand-admin', password: 'brand password' } });
  await s.request('PUT', '/api/accounts/acme/members/brand-admin', { token: TEST_ADMIN_TOKEN, body: { roles: ['admin'] } });
  const login = await runCli(['login', '--username', 'brand-admin'], { env: { ...env, SNAPLINE_PASSWORD: 'brand password' } });
  assert.equal(login.code, 0, login.err);
  assert.equal(statSync(env.SNAPLINE_CREDENTIALS).mode & 0o777, 0o600);

  assert.equal((await runCli(['key', 'import', 'models', join(VECTORS_DIR, 'keys/brand.pkcs8.pem')], { env })).code, 0);
  const registered = await runCli(['key', 'register', 'models', '--account', 'acme', '--since', '2024-01-01T00:00:00Z'], { env });
  assert.equal(registered.code, 0, registered.err);
  const key = file('acme.account-key', registered.out);

  const model = {
    type: 'model',
    'authority-id': 'acme',
    'brand-id': 'acme',
    series: '16',
    model: 'box',
    architecture: 'arm64',
    gadget: 'box-gadget',
    kernel: 'box-kernel',
    timestamp: '2025-06-01T00:00:00Z',
  };
  const signed = await runCli(['sign', '-k', 'models'], { env, stdin: JSON.stringify(model) });
  const modelFile = file('box.model', signed.out);
  const verified = await runCli(['verify', '--trusted', trusted, account, key, modelFile], { env });
  assert.equal(verified.code, 0, verified.out + verified.err);
  assert.match(verified.out, /model 16\/acme\/box: OK/);

  const forbidden = await runCli(['account', 'add', 'other'], { env });
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.err, /only the operator administrator may do this \(forbidden\)/);
  const unreachable = await runCli(['root', 'export', '--url', 'http://127.0.0.1:9'], { env });
  assert.match(unreachable.err, /cannot reach http:\/\/127.0.0.1:9/);
  assert.ok(readFileSync(env.SNAPLINE_CREDENTIALS, 'utf8').includes(url));
});
