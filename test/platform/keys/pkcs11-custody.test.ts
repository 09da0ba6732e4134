// Key custody in a PKCS#11 token (SoftHSM2): keys generated in the token sign
// assertions the core verifies, imported keys sign exactly as the database
// custody does, private keys cannot be read out, and a server started with
// pkcs11 custody creates its root and store keys in the token.
import assert from 'node:assert/strict';
import { sign as rsaSign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AccountType, TrustDatabase, createAccountKeyRequest, decode, decodeStream, signWithRawRsa } from '../../../src/assertions/index.ts';
import {
  CKA,
  Pkcs11Token,
  pkcs11Code,
} from '../../../src/platform/keys/pkcs11-token.ts';
import {
  KeyCustody,
  KeyCustodyError,
  MasterKeyRing,
  generateMasterKey,
  masterKeyFromBase64,
  signAssertion,
  type KeyCustodyErrorCode,
} from '../../../src/platform/keys/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { startServer } from '../../../src/platform/server.ts';
import { forEachEngine } from '../../helpers/databases.ts';
import { vectorKey } from '../../helpers/vectors.ts';
import { USER_PIN, cleanupSoftHsm, softHsm, softHsmUnavailable } from './softhsm.ts';

const CONTENT = Buffer.from('type: account\nauthority-id: root\n');
const WHEN = new Date('2025-02-01T00:00:00Z');
const ring = new MasterKeyRing(masterKeyFromBase64(generateMasterKey()));
const unavailable = softHsmUnavailable();
if (unavailable) console.log(`# PKCS#11 tests skipped: ${unavailable}`);
test.after(() => cleanupSoftHsm());

let tokens = 0;
/** A fresh SoftHSM2 token, opened and logged in; closed after the test. */
async function freshToken(t: { after(fn: () => unknown): void }): Promise<Pkcs11Token> {
  const hsm = await softHsm();
  const label = `t${process.pid}-${++tokens}`;
  hsm.initToken(label);
  const token = Pkcs11Token.open({ module: hsm.module, token: label, pin: USER_PIN });
  t.after(() => token.close());
  return token;
}

function fails(code: KeyCustodyErrorCode, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KeyCustodyError, `expected KeyCustodyError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

test('the signature block around a raw RSA signature is byte for byte the core\'s', async () => {
  const key = vectorKey('brand');
  for (const content of [CONTENT, Buffer.alloc(70_000, 'x'), Buffer.alloc(0)]) {
    const ours = await signWithRawRsa(content, WHEN, async (signed) => rsaSign('sha512', signed, key.key));
    assert.equal(ours, await key.signAsync(content, WHEN));
  }
});

forEachEngine('pkcs11: a key generated in the token signs assertions that verify; its row holds no secret', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  const custody = new KeyCustody(db.kysely, ring, () => WHEN, { token });
  const info = await custody.generate('brand-key', { accountId: 'acme' });
  assert.equal(info.bits, 4096);
  assert.equal(info.masterKeyId, `pkcs11:${token.label}`);
  // The key id is the one of the public key read back from the token.
  assert.equal(token.find(info.keyId)!.publicKey.id, info.keyId);
  const row = await db.kysely.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
  assert.deepEqual([row.iv, row.ciphertext, row.auth_tag], ['', '', '']);

  const signer = await custody.signer({ name: 'brand-key' });
  assert.equal(signer.selfChecking, false, 'token signatures are verified before use');
  const a = await signAssertion(AccountType, { headers: { 'authority-id': 'acme', 'account-id': 'acme', 'display-name': 'ACME', username: 'acme', validation: 'unproven', timestamp: WHEN.toISOString().replace('.000', '') } }, signer, WHEN);
  const again = decode(a.encode());
  info.publicKey.verify(again.content, again.signatureText);
  assert.equal(again.signKeyId, info.keyId);

  // Disabling takes effect at once, as for sealed keys.
  await custody.disable({ name: 'brand-key' });
  await assert.rejects(signer.sign(CONTENT, WHEN), fails('key-disabled'));
  // Master key rotation leaves token keys alone.
  assert.deepEqual(await custody.rotate(), { resealed: 0 });
  assert.deepEqual(await custody.countByMasterKey(), {});
});

forEachEngine('pkcs11: an imported key signs exactly as the database custody does (RSA PKCS#1 v1.5 is deterministic)', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  const brand = vectorKey('brand');
  const inToken = new KeyCustody(db.kysely, ring, () => WHEN, { token });
  const info = await inToken.import('brand-key', brand.toPem('pw'), { passphrase: 'pw', accountId: 'acme' });
  assert.equal(info.keyId, brand.id);
  const fromToken = await (await inToken.signer({ keyId: brand.id })).sign(CONTENT, WHEN);
  assert.equal(fromToken, brand.sign(CONTENT, WHEN));

  // The same key sealed in the database (another name is refused: same key).
  await assert.rejects(inToken.import('other-name', brand.toPem()), fails('key-exists'));
  const sealed = new KeyCustody(db.kysely, ring, () => WHEN);
  await db.kysely.deleteFrom('signing_keys').execute();
  await sealed.import('brand-key', brand.toPem());
  assert.equal(await (await sealed.signer({ keyId: brand.id })).sign(CONTENT, WHEN), fromToken);
});

forEachEngine('pkcs11: signers that keep the key found (keepOpenMs) sign many at once through the session pool', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  const custody = new KeyCustody(db.kysely, ring, () => WHEN, { token });
  const brand = vectorKey('brand');
  await custody.import('brand-key', brand.toPem());
  const signer = await custody.signer({ name: 'brand-key' }, { keepOpenMs: 10_000 });
  const contents = Array.from({ length: 12 }, (_, i) => Buffer.from(`type: test\nn: ${i}\n`));
  const signatures = await Promise.all(contents.map((c) => signer.sign(c, WHEN)));
  contents.forEach((c, i) => assert.equal(signatures[i], brand.sign(c, WHEN)));
});

forEachEngine('pkcs11: the private key cannot be read out of the token', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  const custody = new KeyCustody(db.kysely, ring, () => WHEN, { token });
  for (const info of [await custody.generate('generated'), await custody.import('imported', vectorKey('store').toPem())]) {
    const key = token.find(info.keyId)!;
    const [sensitive, extractable] = token.attributes(key.privateKey, [CKA.SENSITIVE, CKA.EXTRACTABLE]);
    assert.deepEqual([sensitive!.value, extractable!.value], [Buffer.from([1]), Buffer.from([0])], `${info.name}: CKA_SENSITIVE true, CKA_EXTRACTABLE false`);
    for (const [name, type] of Object.entries({ VALUE: CKA.VALUE, PRIVATE_EXPONENT: CKA.PRIVATE_EXPONENT, PRIME_1: CKA.PRIME_1, PRIME_2: CKA.PRIME_2, COEFFICIENT: CKA.COEFFICIENT })) {
      assert.throws(
        () => token.attributes(key.privateKey, [type]),
        (err: unknown) => [0x11 /* CKR_ATTRIBUTE_SENSITIVE */, 0x12 /* CKR_ATTRIBUTE_TYPE_INVALID */].includes(pkcs11Code(err)!),
        `${info.name}: CKA_${name} refused`,
      );
    }
  }
});

forEachEngine('pkcs11: a server without the token refuses token keys with a clear error; a wrong PIN is refused', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  await new KeyCustody(db.kysely, ring, () => WHEN, { token }).generate('brand-key');
  await assert.rejects(new KeyCustody(db.kysely, ring).signer({ name: 'brand-key' }), fails('key-unusable', /runs with database key custody/));
  const hsm = await softHsm();
  assert.throws(() => Pkcs11Token.open({ module: hsm.module, token: 'no-such-token', pin: USER_PIN }), fails('key-unusable', /has no token labelled "no-such-token"/));
  // The login is per token and application: log out (close) first.
  token.close();
  assert.throws(() => Pkcs11Token.open({ module: hsm.module, token: token.label, pin: '000000' }), fails('key-unusable', /cannot log in/));
});

forEachEngine('pkcs11: keys sealed before the switch to a token still sign; new ones go to the token', async (db, { t }) => {
  if (unavailable) return t.skip(unavailable);
  const token = await freshToken(t);
  const brand = vectorKey('brand');
  await new KeyCustody(db.kysely, ring, () => WHEN).import('sealed', brand.toPem());
  const custody = new KeyCustody(db.kysely, ring, () => WHEN, { token });
  assert.equal(await (await custody.signer({ name: 'sealed' })).sign(CONTENT, WHEN), brand.sign(CONTENT, WHEN));
  const added = await custody.import('added', vectorKey('store').toPem());
  assert.deepEqual((await custody.list()).map((k) => [k.name, k.masterKeyId]), [['added', `pkcs11:${token.label}`], ['sealed', ring.current.id]]);
  assert.equal(added.keyId, vectorKey('store').id);
});

test('pkcs11: a server started with pkcs11 custody creates its root and store keys in the token and serves a root that verifies', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const hsm = await softHsm();
  const label = `server-${process.pid}`;
  hsm.initToken(label);
  const dataDir = await mkdtemp(join(tmpdir(), 'snapline-pkcs11-server-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    SNAPLINE_MASTER_KEY: generateMasterKey(),
    SNAPLINE_ADMIN_TOKEN: 'snl_test-admin-token-0123456789',
    SNAPLINE_ROOT_ID: 'hsm-root',
    SNAPLINE_LOG_LEVEL: 'silent',
    SNAPLINE_KEY_CUSTODY: 'pkcs11',
    SNAPLINE_PKCS11_MODULE: hsm.module,
    SNAPLINE_PKCS11_TOKEN: label,
    SNAPLINE_PKCS11_PIN: USER_PIN,
  };
  const config = loadConfig({ data: dataDir, listen: '127.0.0.1:0' }, env, dataDir);
  assert.deepEqual(config.keys, { custody: 'pkcs11', pkcs11: { module: hsm.module, token: label } });
  const start = () => startServer({ config, env, listen: false });
  let server = await start();
  try {
    const trusted = await server.app.inject({ method: 'GET', url: '/api/root/trusted' });
    assert.equal(trusted.statusCode, 200);
    const stream = decodeStream(trusted.rawPayload);
    const trust = new TrustDatabase({ trusted: [stream[0]!, stream[1]!], now: () => new Date() });
    trust.add(stream[2]!);
    const keys = await server.ctx.keys.list();
    assert.deepEqual(keys.map((k) => [k.name, k.masterKeyId]), [['root', `pkcs11:${label}`], ['store', `pkcs11:${label}`]]);
    assert.equal(stream[1]!.headerString('public-key-sha3-384'), keys[0]!.keyId);

    // The root key in the token certifies a brand key (account-key registration).
    const auth = { authorization: `Bearer ${env.SNAPLINE_ADMIN_TOKEN}` };
    const created = await server.app.inject({ method: 'POST', url: '/api/accounts', headers: auth, payload: { accountId: 'acme', displayName: 'ACME' } });
    assert.equal(created.statusCode, 201, created.body);
    const brand = vectorKey('brand');
    const request = createAccountKeyRequest({ key: brand, accountId: 'acme', name: 'models', since: new Date(Date.now() - 3600_000) });
    const registered = await server.app.inject({ method: 'POST', url: '/api/accounts/acme/account-keys', headers: auth, payload: { accountKeyRequest: request.toString() } });
    assert.equal(registered.statusCode, 201, registered.body);
    trust.add(decode(Buffer.from(created.json().assertion)));
    trust.add(decode(Buffer.from(registered.json().assertion)));
  } finally {
    await server.close();
  }
  // A restart finds the same root in the token.
  server = await start();
  try {
    assert.equal(server.ctx.root.rootSigner.keyId, (await server.ctx.keys.get({ name: 'root' })).keyId);
    const trusted = await server.app.inject({ method: 'GET', url: '/api/root/trusted' });
    assert.equal(decodeStream(trusted.rawPayload)[1]!.headerString('public-key-sha3-384'), server.ctx.root.rootSigner.keyId);
  } finally {
    await server.close();
  }
});
