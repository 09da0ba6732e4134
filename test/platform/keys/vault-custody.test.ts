// The serial vault on the key custodies of issue 18, the vault itself
// unchanged: its keys generated in a PKCS#11 token and certified by a root in
// the token; and, with an offline root, its keys certified on the offline
// machine (`root certify --public-key`) and uploaded.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrustDatabase, createRootAuthority, decode, decodeStream, encodeStream } from '../../../src/assertions/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { startServer, type RunningServer } from '../../../src/platform/server.ts';
import { generateMasterKey, makeRootBundle, type RootBundle } from '../../../src/platform/keys/index.ts';
import { vaultService } from '../../../src/vault/index.ts';
import { runCli } from '../../helpers/cli.ts';
import { VECTORS_DIR, vectorKey } from '../../helpers/vectors.ts';
import { USER_PIN, cleanupSoftHsm, softHsm, softHsmUnavailable } from './softhsm.ts';

const ADMIN_TOKEN = 'snl_test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const unavailable = softHsmUnavailable();
test.after(() => cleanupSoftHsm());

async function tokenEnv(label: string): Promise<Record<string, string>> {
  const hsm = await softHsm();
  hsm.initToken(label);
  return { SNAPLINE_KEY_CUSTODY: 'pkcs11', SNAPLINE_PKCS11_MODULE: hsm.module, SNAPLINE_PKCS11_TOKEN: label, SNAPLINE_PKCS11_PIN: USER_PIN };
}

async function start(t: { after(fn: () => unknown): void }, env: Record<string, string>, rootBundle?: { bundle: RootBundle; passphrase: string }): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-vault-custody-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const full = { SNAPLINE_MASTER_KEY: generateMasterKey(), SNAPLINE_ADMIN_TOKEN: ADMIN_TOKEN, SNAPLINE_LOG_LEVEL: 'silent', ...env };
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, full, dir);
  const server = await startServer({ config, env: full, listen: false, services: [vaultService], ...(rootBundle ? { rootBundle } : {}) });
  t.after(() => server.close());
  const account = await server.app.inject({ method: 'POST', url: '/api/accounts', headers: auth, payload: { accountId: 'acme', displayName: 'ACME' } });
  assert.equal(account.statusCode, 201, account.body);
  return server;
}

async function trustOf(server: RunningServer): Promise<TrustDatabase> {
  const trust = new TrustDatabase({ trusted: decodeStream((await server.app.inject({ method: 'GET', url: '/api/root/trusted' })).rawPayload), now: () => new Date() });
  const account = await server.app.inject({ method: 'GET', url: '/api/accounts/acme', headers: auth });
  if (account.statusCode === 200 && account.json().assertion) trust.add(decode(account.json().assertion));
  return trust;
}

test('vault keys are generated in the token and certified by the root key in the token', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const server = await start(t, { SNAPLINE_ROOT_ID: 'hsm-root', ...(await tokenEnv(`vault-${process.pid}`)) });
  const created = await server.app.inject({ method: 'POST', url: '/api/vault/brands/acme/keys', headers: auth, payload: { name: 'serials' } });
  assert.equal(created.statusCode, 201, created.body);
  const { key, accountKey } = created.json();
  const stored = (await server.ctx.keys.list()).find((k) => k.keyId === key.keyId)!;
  assert.match(stored.masterKeyId, /^pkcs11:vault-/, 'the vault key is in the token');
  const trust = await trustOf(server);
  trust.add(decode(accountKey));
  // An imported brand key goes into the token too.
  const imported = await server.app.inject({ method: 'POST', url: '/api/vault/brands/acme/keys', headers: auth, payload: { name: 'imported', pem: vectorKey('brand').toPem() } });
  assert.equal(imported.statusCode, 201, imported.body);
  assert.match((await server.ctx.keys.get({ keyId: vectorKey('brand').id })).masterKeyId, /^pkcs11:/);
});

test('with an offline root, vault keys are certified on the offline machine and uploaded', async (t) => {
  const since = new Date(Date.now() - 24 * 3600_000);
  const authority = createRootAuthority({ rootId: 'offline-root', rootKey: vectorKey('root'), storeKey: vectorKey('store'), now: since, since });
  const bundle = makeRootBundle(encodeStream([authority.account, authority.rootAccountKey, authority.storeAccountKey]), { key: vectorKey('store'), transferPassphrase: 'pw' });
  const env = { SNAPLINE_ROOT_ID: 'offline-root', ...(unavailable ? {} : await tokenEnv(`offline-${process.pid}`)) };
  const server = await start(t, env, { bundle, passphrase: 'pw' });

  const refused = await server.app.inject({ method: 'POST', url: '/api/vault/brands/acme/keys', headers: auth, payload: { name: 'certify-here' } });
  assert.equal(refused.statusCode, 404, refused.body);
  assert.match(refused.body, /kept offline/);

  const created = await server.app.inject({ method: 'POST', url: '/api/vault/brands/acme/keys', headers: auth, payload: { name: 'serials', register: false } });
  assert.equal(created.statusCode, 201, created.body);
  const { key } = created.json();

  // The offline machine: its keyring holds the root key.
  const offline = await mkdtemp(join(tmpdir(), 'snapline-offline-'));
  t.after(() => rm(offline, { recursive: true, force: true }));
  const cliEnv = { SNAPLINE_KEYRING: join(offline, 'keyring'), SNAPLINE_PASSPHRASE: 'keyring words' };
  assert.equal((await runCli(['key', 'import', 'root', join(VECTORS_DIR, 'keys/root.pkcs8.pem')], { env: cliEnv })).code, 0);
  await writeFile(join(offline, 'serials.pub'), key.publicKey);
  const certified = await runCli(['root', 'certify', '--root', 'offline-root', '--public-key', join(offline, 'serials.pub'), '--account', 'acme', '--name', 'serials', '--since', since.toISOString()], { env: cliEnv });
  assert.equal(certified.code, 0, certified.err);

  const uploaded = await server.app.inject({ method: 'POST', url: '/api/vault/brands/acme/keys/serials/account-key', headers: auth, payload: { accountKey: certified.out } });
  assert.equal(uploaded.statusCode, 201, uploaded.body);
  (await trustOf(server)).add(decode(uploaded.json().accountKey));
});
