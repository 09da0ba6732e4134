// The offline root ceremony (docs/root-ceremony.md): `root init` and
// `root bundle` on the offline machine, `root import` on the server, which
// then serves a root whose private key it does not hold; account-key
// registration answers a clear error, the offline machine certifies instead.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrustDatabase, createAccountKeyRequest, createRootAuthority, decode, decodeStream, encodeStream } from '../../../src/assertions/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { startServer, type RunningServer } from '../../../src/platform/server.ts';
import { KeyCustodyError, generateMasterKey, makeRootBundle, parseRootBundle, type RootBundle } from '../../../src/platform/keys/index.ts';
import { runCli } from '../../helpers/cli.ts';
import { vectorKey } from '../../helpers/vectors.ts';
import { softHsm, softHsmUnavailable, USER_PIN } from './softhsm.ts';

const ROOT_ID = 'offline-root';
const ADMIN_TOKEN = 'snl_test-admin-token-0123456789';
const PASS = 'transfer words';
const since = new Date('2024-01-01T00:00:00Z');
const authority = createRootAuthority({ rootId: ROOT_ID, rootKey: vectorKey('root'), storeKey: vectorKey('store'), now: since, since });
const trustedStream = encodeStream([authority.account, authority.rootAccountKey, authority.storeAccountKey]);
const bundle = makeRootBundle(trustedStream, { key: vectorKey('store'), transferPassphrase: PASS });

async function dataDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-ceremony-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { SNAPLINE_MASTER_KEY: generateMasterKey(), SNAPLINE_ADMIN_TOKEN: ADMIN_TOKEN, SNAPLINE_ROOT_ID: ROOT_ID, SNAPLINE_LOG_LEVEL: 'silent', ...extra };
}

function start(dir: string, env: Record<string, string>, rootBundle?: { bundle: RootBundle; passphrase: string }): Promise<RunningServer> {
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, env, dir);
  return startServer({ config, env, listen: false, ...(rootBundle ? { rootBundle } : {}) });
}

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** What a server with an offline root does: serves the trusted stream, signs accounts with the store key, refuses to certify keys. */
async function checkOfflineRootServer(server: RunningServer, storeCustody: RegExp): Promise<void> {
  const trusted = await server.app.inject({ method: 'GET', url: '/api/root/trusted' });
  assert.equal(trusted.statusCode, 200);
  assert.ok(trusted.rawPayload.equals(Buffer.from(bundle.trusted)), 'the trusted stream is the offline machine\'s');
  const keys = await server.ctx.keys.list();
  assert.deepEqual(keys.map((k) => k.name), ['root', 'store']);
  assert.equal(keys[0]!.masterKeyId, 'offline');
  assert.match(keys[1]!.masterKeyId, storeCustody);
  assert.equal(server.ctx.root.rootSigner.keyId, vectorKey('root').id);

  const trust = new TrustDatabase({ trusted: decodeStream(trusted.rawPayload), now: () => new Date() });
  const account = await server.app.inject({ method: 'POST', url: '/api/accounts', headers: auth, payload: { accountId: 'acme', displayName: 'ACME' } });
  assert.equal(account.statusCode, 201, account.body);
  trust.add(decode(account.json().assertion));

  const request = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since });
  const refused = await server.app.inject({ method: 'POST', url: '/api/accounts/acme/account-keys', headers: auth, payload: { accountKeyRequest: request.toString() } });
  assert.equal(refused.statusCode, 404, refused.body);
  assert.equal(refused.json().error.code, 'key-not-found');
  assert.match(refused.json().error.message, /kept offline.*root-ceremony/s);
}

test('a server imports the bundle and runs with a root whose private key it does not hold', async (t) => {
  const dir = await dataDir(t);
  const env = baseEnv();
  let server = await start(dir, env, { bundle, passphrase: PASS });
  try {
    await checkOfflineRootServer(server, /^mk1_/);
  } finally {
    await server.close();
  }
  // Later starts need no bundle; importing the same one again changes nothing.
  for (const again of [undefined, { bundle, passphrase: PASS }]) {
    server = await start(dir, env, again);
    try {
      assert.equal(server.ctx.root.storeSigner.keyId, vectorKey('store').id);
      assert.equal((await server.ctx.keys.list()).length, 2);
    } finally {
      await server.close();
    }
  }
});

test('bad bundles are refused with the reason', async (t) => {
  const refused = async (env: Record<string, string>, b: RootBundle, pass: string, message: RegExp, dir?: string) => {
    await assert.rejects(start(dir ?? (await dataDir(t)), env, { bundle: b, passphrase: pass }), (err: unknown) => {
      assert.ok(err instanceof KeyCustodyError, String(err));
      assert.equal(err.code, 'key-invalid');
      assert.match(err.message, message);
      return true;
    });
  };
  await refused(baseEnv({ SNAPLINE_ROOT_ID: 'other-root' }), bundle, PASS, /for root authority "offline-root".*SNAPLINE_ROOT_ID/);
  await refused(baseEnv(), bundle, 'wrong', /cannot open the store key/);
  const tampered = { ...bundle, trusted: bundle.trusted.replace('display-name: offline-root', 'display-name: offline-rooT') };
  await refused(baseEnv(), tampered, PASS, /does not verify/);
  const otherStore = { ...bundle, storeKey: vectorKey('brand').toPem(PASS) };
  await refused(baseEnv(), otherStore, PASS, /not the one its store account-key certifies/);
  assert.throws(() => makeRootBundle(trustedStream, { key: vectorKey('brand'), transferPassphrase: PASS }), /not the one the trusted stream certifies/);
  assert.throws(() => parseRootBundle('{"format":"x"}'), /expected a JSON object/);

  // A database that made its own root keeps it.
  const dir = await dataDir(t);
  const env = baseEnv({ SNAPLINE_ROOT_ID: ROOT_ID });
  const own = await start(dir, env);
  await own.close();
  await refused(env, bundle, PASS, /already has root key/, dir);
});

test('the store key goes into the PKCS#11 token when the server uses one', async (t) => {
  const unavailable = softHsmUnavailable();
  if (unavailable) return t.skip(unavailable);
  const hsm = await softHsm();
  t.after(() => hsm.cleanup());
  const label = `ceremony-${process.pid}`;
  hsm.initToken(label);
  const server = await start(await dataDir(t), baseEnv({ SNAPLINE_KEY_CUSTODY: 'pkcs11', SNAPLINE_PKCS11_MODULE: hsm.module, SNAPLINE_PKCS11_TOKEN: label, SNAPLINE_PKCS11_PIN: USER_PIN }), { bundle, passphrase: PASS });
  try {
    await checkOfflineRootServer(server, new RegExp(`^pkcs11:${label}$`));
  } finally {
    await server.close();
  }
});

test('the ceremony through the CLI: root init, root bundle and root certify offline, root import on the server', async (t) => {
  const offline = await dataDir(t);
  const env = { SNAPLINE_KEYRING: join(offline, 'keyring'), SNAPLINE_PASSPHRASE: 'keyring words', SNAPLINE_TRANSFER_PASSPHRASE: PASS };
  const init = await runCli(['root', 'init', 'cli-root', '--out', join(offline, 'trusted.assert')], { env });
  assert.equal(init.code, 0, init.err);
  const made = await runCli(['root', 'bundle', '--trusted', join(offline, 'trusted.assert'), '--out', join(offline, 'root-bundle.json')], { env });
  assert.equal(made.code, 0, made.err);
  const text = await readFile(join(offline, 'root-bundle.json'), 'utf8');
  assert.ok(!text.includes('BEGIN PRIVATE KEY'), 'the store key travels encrypted');
  assert.equal(parseRootBundle(text).rootId, 'cli-root');

  const serverDir = await dataDir(t);
  const serverEnv = baseEnv({ SNAPLINE_ROOT_ID: 'cli-root', SNAPLINE_TRANSFER_PASSPHRASE: PASS });
  const imported = await runCli(['root', 'import', join(offline, 'root-bundle.json'), '--data', serverDir], { env: serverEnv });
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.err, /Imported root authority cli-root: root key \S+ \(offline\), store key \S+ \(sealed in the database\)/);

  const server = await start(serverDir, serverEnv);
  try {
    const trusted = (await server.app.inject({ method: 'GET', url: '/api/root/trusted' })).rawPayload;
    assert.ok(trusted.equals(await readFile(join(offline, 'trusted.assert'))));
    // The brand's request goes to the offline machine, which certifies it.
    const request = createAccountKeyRequest({ key: vectorKey('brand'), accountId: 'acme', name: 'models', since: new Date() });
    await writeFile(join(offline, 'models.request'), request.toString());
    const certified = await runCli(['root', 'certify', join(offline, 'models.request'), '--root', 'cli-root'], { env });
    assert.equal(certified.code, 0, certified.err);
    const account = await server.app.inject({ method: 'POST', url: '/api/accounts', headers: auth, payload: { accountId: 'acme' } });
    const trust = new TrustDatabase({ trusted: decodeStream(trusted), now: () => new Date() });
    trust.add(decode(account.json().assertion));
    trust.add(decode(certified.out));
  } finally {
    await server.close();
  }
});

test('the store key made in the server\'s custody (its token) and certified offline: it never leaves the server', async (t) => {
  const unavailable = softHsmUnavailable();
  const offline = await dataDir(t);
  const serverDir = await dataDir(t);
  let serverEnv = baseEnv({ SNAPLINE_ROOT_ID: 'hsm-root' });
  let custody = /^mk1_/;
  if (!unavailable) {
    const hsm = await softHsm();
    const label = `store-${process.pid}`;
    hsm.initToken(label);
    serverEnv = { ...serverEnv, SNAPLINE_KEY_CUSTODY: 'pkcs11', SNAPLINE_PKCS11_MODULE: hsm.module, SNAPLINE_PKCS11_TOKEN: label, SNAPLINE_PKCS11_PIN: USER_PIN };
    custody = new RegExp(`^pkcs11:${label}$`);
  }
  // Server: the store key, made in custody; only its public key goes out.
  const made = await runCli(['root', 'store-key', '--data', serverDir, '--out', join(offline, 'store.pub')], { env: serverEnv });
  assert.equal(made.code, 0, made.err);
  assert.match(made.err, /Certify it on the offline root machine: snapline root init hsm-root --store-public-key FILE/);
  const again = await runCli(['root', 'store-key', '--data', serverDir], { env: serverEnv });
  assert.equal(again.out, await readFile(join(offline, 'store.pub'), 'utf8'), 'asked again, the same key');

  // Offline: the root certifies that store key; the bundle carries no private key at all.
  const env = { SNAPLINE_KEYRING: join(offline, 'keyring'), SNAPLINE_PASSPHRASE: 'keyring words' };
  const init = await runCli(['root', 'init', 'hsm-root', '--store-public-key', join(offline, 'store.pub'), '--out', join(offline, 'trusted.assert')], { env });
  assert.equal(init.code, 0, init.err);
  assert.deepEqual((await runCli(['key', 'list', '--json'], { env })).out.includes('"store"'), false, 'no store key offline');
  const bundled = await runCli(['root', 'bundle', '--trusted', join(offline, 'trusted.assert'), '--out', join(offline, 'root-bundle.json')], { env });
  assert.equal(bundled.code, 0, bundled.err);
  assert.equal(parseRootBundle(await readFile(join(offline, 'root-bundle.json'))).storeKey, undefined);

  // Server: import (no transfer passphrase needed), then run.
  const imported = await runCli(['root', 'import', join(offline, 'root-bundle.json'), '--data', serverDir], { env: serverEnv });
  assert.equal(imported.code, 0, imported.err);
  const server = await start(serverDir, serverEnv);
  try {
    const trusted = (await server.app.inject({ method: 'GET', url: '/api/root/trusted' })).rawPayload;
    assert.ok(trusted.equals(await readFile(join(offline, 'trusted.assert'))));
    const keys = await server.ctx.keys.list();
    assert.deepEqual(keys.map((k) => k.name), ['root', 'store']);
    assert.equal(keys[0]!.masterKeyId, 'offline');
    assert.match(keys[1]!.masterKeyId, custody);
    const account = await server.app.inject({ method: 'POST', url: '/api/accounts', headers: auth, payload: { accountId: 'acme' } });
    assert.equal(account.statusCode, 201, account.body);
    new TrustDatabase({ trusted: decodeStream(trusted), now: () => new Date() }).add(decode(account.json().assertion));
  } finally {
    await server.close();
  }
  // Once the server has a root, no more store keys for a ceremony.
  const late = await runCli(['root', 'store-key', '--data', serverDir], { env: serverEnv });
  assert.notEqual(late.code, 0);
  assert.match(late.err, /already has a root/);
});
