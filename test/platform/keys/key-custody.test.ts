import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountType, PrivateKey, sign } from '../../../src/assertions/index.ts';
import {
  KeyCustody,
  KeyCustodyError,
  MasterKeyRing,
  generateMasterKey,
  masterKeyFromBase64,
  privateKeySigner,
  signAssertion,
  type KeyCustodyErrorCode,
  type Signer,
} from '../../../src/platform/keys/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';
import { vectorKey } from '../../helpers/vectors.ts';

const CONTENT = Buffer.from('type: account\nauthority-id: root\n');
const WHEN = new Date('2025-02-01T00:00:00Z');

const masterA = masterKeyFromBase64(generateMasterKey());
const masterB = masterKeyFromBase64(generateMasterKey());
const ringA = new MasterKeyRing(masterA);

function fails(code: KeyCustodyErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof KeyCustodyError, `expected KeyCustodyError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

forEachEngine('import: listed with its public part, signs verifiable signatures, stored only sealed', async (db) => {
  const custody = new KeyCustody(db.kysely, ringA, () => WHEN);
  const brand = vectorKey('brand');
  const info = await custody.import('brand-key', brand.toPem('secret'), { passphrase: 'secret', accountId: 'acme' });
  assert.deepEqual(
    { keyId: info.keyId, name: info.name, accountId: info.accountId, bits: info.bits, masterKeyId: info.masterKeyId, createdAt: info.createdAt, disabledAt: info.disabledAt },
    { keyId: brand.id, name: 'brand-key', accountId: 'acme', bits: 4096, masterKeyId: masterA.id, createdAt: WHEN, disabledAt: null },
  );
  assert.equal(info.publicKey.id, brand.id);
  assert.deepEqual((await custody.list()).map((k) => k.name), ['brand-key']);
  assert.equal((await custody.get({ keyId: brand.id })).name, 'brand-key');

  const signer = await custody.signer({ name: 'brand-key' });
  assert.equal(signer.keyId, brand.id);
  const signature = await signer.sign(CONTENT, WHEN);
  assert.equal(signature, brand.sign(CONTENT, WHEN), 'RSA PKCS#1 v1.5 is deterministic: same as signing in the clear');
  signer.publicKey.verify(CONTENT, signature);

  const row = await db.kysely.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
  const der = brand.key.export({ type: 'pkcs8', format: 'der' });
  const everything = JSON.stringify(row);
  assert.ok(!everything.includes(der.toString('base64').slice(0, 40)), 'no clear DER');
  assert.ok(!everything.includes(brand.toPem().split('\n')[1]!), 'no clear PEM');
  assert.ok(!Buffer.from(row.ciphertext, 'base64').equals(der));
});

forEachEngine('generate makes a 4096-bit key that signs', async (db) => {
  const custody = new KeyCustody(db.kysely, ringA);
  const info = await custody.generate('root', { accountId: 'snapline-root' });
  assert.equal(info.bits, 4096);
  const signer = await custody.signer({ keyId: info.keyId });
  signer.publicKey.verify(CONTENT, await signer.sign(CONTENT, WHEN));
});

forEachEngine('refuses duplicate names, the same key twice, bad names, bad PEM and small keys', async (db) => {
  const custody = new KeyCustody(db.kysely, ringA);
  await custody.import('store', vectorKey('store').toPem());
  await assert.rejects(custody.import('store', vectorKey('root').toPem()), fails('key-exists'));
  await assert.rejects(custody.import('store-again', vectorKey('store').toPem()), fails('key-exists'));
  await assert.rejects(custody.import('../x', vectorKey('root').toPem()), fails('key-invalid'));
  await assert.rejects(custody.import('garbage', 'not a pem'), fails('key-invalid'));
  await assert.rejects(custody.import('wrong-pass', vectorKey('root').toPem('a'), { passphrase: 'b' }), fails('key-invalid'));
  await assert.rejects(custody.import('small', PrivateKey.generate(2048).toPem()), fails('key-invalid'));
  await assert.rejects(custody.signer({ name: 'nope' }), fails('key-not-found'));
  assert.deepEqual((await custody.list()).map((k) => k.name), ['store']);
});

forEachEngine('a disabled key signs nothing, even through a signer obtained before', async (db) => {
  const custody = new KeyCustody(db.kysely, ringA, () => WHEN);
  await custody.import('brand', vectorKey('brand').toPem());
  const signer = await custody.signer({ name: 'brand' });
  const info = await custody.disable({ name: 'brand' });
  assert.deepEqual(info.disabledAt, WHEN);
  await assert.rejects(signer.sign(CONTENT, WHEN), fails('key-disabled'));
  await assert.rejects(custody.signer({ name: 'brand' }), fails('key-disabled'));
  assert.equal((await custody.list()).length, 1, 'still listed');
});

// Each case alters the stored row; the signer must refuse with a typed error and return no signature.
const tamperings: { what: string; code: KeyCustodyErrorCode; alter(row: Record<string, string>): Record<string, string> }[] = [
  { what: 'a flipped ciphertext byte', code: 'key-decrypt-failed', alter: (r) => ({ ciphertext: flipByte(r['ciphertext']!, 100) }) },
  { what: 'a flipped first ciphertext byte', code: 'key-decrypt-failed', alter: (r) => ({ ciphertext: flipByte(r['ciphertext']!, 0) }) },
  { what: 'a flipped tag byte', code: 'key-decrypt-failed', alter: (r) => ({ auth_tag: flipByte(r['auth_tag']!, 15) }) },
  { what: 'a flipped nonce byte', code: 'key-decrypt-failed', alter: (r) => ({ iv: flipByte(r['iv']!, 3) }) },
  { what: 'a truncated ciphertext', code: 'key-decrypt-failed', alter: (r) => ({ ciphertext: Buffer.from(r['ciphertext']!, 'base64').subarray(0, 500).toString('base64') }) },
  { what: 'an unknown master key id', code: 'master-key-unknown', alter: () => ({ master_key_id: masterB.id }) },
];

function flipByte(base64: string, index: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString('base64');
}

for (const t of tamperings) {
  forEachEngine(`tamper: ${t.what} fails with ${t.code}, never signs`, async (db) => {
    const custody = new KeyCustody(db.kysely, ringA);
    const { keyId } = await custody.import('brand', vectorKey('brand').toPem());
    const signer = await custody.signer({ keyId });
    const row = await db.kysely.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow();
    await db.kysely.updateTable('signing_keys').set(t.alter(row as unknown as Record<string, string>)).where('key_id', '=', keyId).execute();
    let signature: string | undefined;
    await assert.rejects(
      (async () => {
        signature = await signer.sign(CONTENT, WHEN);
      })(),
      fails(t.code),
    );
    assert.equal(signature, undefined);
  });
}

forEachEngine('tamper: a sealed key moved to another key\'s row does not open (key id is authenticated)', async (db) => {
  const custody = new KeyCustody(db.kysely, ringA);
  const root = await custody.import('root', vectorKey('root').toPem());
  const brand = await custody.import('brand', vectorKey('brand').toPem());
  const rootRow = await db.kysely.selectFrom('signing_keys').selectAll().where('key_id', '=', root.keyId).executeTakeFirstOrThrow();
  await db.kysely
    .updateTable('signing_keys')
    .set({ iv: rootRow.iv, ciphertext: rootRow.ciphertext, auth_tag: rootRow.auth_tag })
    .where('key_id', '=', brand.keyId)
    .execute();
  await assert.rejects((await custody.signer({ name: 'brand' })).sign(CONTENT, WHEN), fails('key-decrypt-failed'));
});

forEachEngine('a ring without the sealing master key cannot open the keys', async (db) => {
  await new KeyCustody(db.kysely, ringA).import('brand', vectorKey('brand').toPem());
  const other = new KeyCustody(db.kysely, new MasterKeyRing(masterB));
  await assert.rejects((await other.signer({ name: 'brand' })).sign(CONTENT, WHEN), fails('master-key-unknown'));
});

forEachEngine('master key rotation: old+new ring keeps signing, rotate re-seals in batches, then the old key can go', async (db, { reopen, engine }) => {
  const before = new KeyCustody(db.kysely, ringA);
  for (const label of ['root', 'store', 'brand']) await before.import(label, vectorKey(label).toPem());

  const both = new MasterKeyRing(masterB, [masterA]);
  const during = new KeyCustody(db.kysely, both);
  const signer = await during.signer({ name: 'store' });
  signer.publicKey.verify(CONTENT, await signer.sign(CONTENT, WHEN));
  const added = await during.import('stranger', vectorKey('stranger').toPem());
  assert.equal(added.masterKeyId, masterB.id, 'new rows are sealed under the current key');
  assert.deepEqual(await during.countByMasterKey(), { [masterA.id]: 3, [masterB.id]: 1 });

  // Two rotations at once (a second process on PostgreSQL) re-seal each row once between them.
  const second = engine === 'postgres' ? new KeyCustody(reopen().kysely, both) : during;
  const results = await Promise.all([during.rotate({ batchSize: 2 }), second.rotate({ batchSize: 2 })]);
  assert.equal(results[0].resealed + results[1].resealed, 3);
  assert.deepEqual(await during.countByMasterKey(), { [masterB.id]: 4 });
  assert.deepEqual(await during.rotate(), { resealed: 0 });

  const after = new KeyCustody(db.kysely, new MasterKeyRing(masterB));
  for (const label of ['root', 'store', 'brand', 'stranger']) {
    const s = await after.signer({ name: label });
    assert.equal(await s.sign(CONTENT, WHEN), vectorKey(label).sign(CONTENT, WHEN));
  }
});

forEachEngine('rotate stops at a row whose master key is not configured', async (db) => {
  await new KeyCustody(db.kysely, ringA).import('brand', vectorKey('brand').toPem());
  await assert.rejects(new KeyCustody(db.kysely, new MasterKeyRing(masterB)).rotate(), fails('master-key-unknown'));
  const row = await db.kysely.selectFrom('signing_keys').select('master_key_id').executeTakeFirstOrThrow();
  assert.equal(row.master_key_id, masterA.id);
});

test('signAssertion through a custody-style signer matches the core signing in the clear', async () => {
  const key = vectorKey('root');
  const input = {
    headers: { 'authority-id': 'root', 'account-id': 'acme', 'display-name': 'Acme', username: 'acme', validation: 'verified', timestamp: '2025-01-01T00:00:00Z' },
  };
  const viaSigner = await signAssertion(AccountType, input, privateKeySigner(key), WHEN);
  const inTheClear = sign(AccountType, input, key, WHEN);
  assert.ok(viaSigner.encode().equals(inTheClear.encode()));
  assert.equal(viaSigner.type, 'account');
});

test('signAssertion refuses a signer whose signature does not verify', async () => {
  const key = vectorKey('root');
  const liar: Signer = { keyId: key.id, publicKey: key.publicKey, sign: (content, when) => vectorKey('stranger').signAsync(content, when) };
  const input = { headers: { 'authority-id': 'root', 'account-id': 'acme', 'display-name': 'Acme', validation: 'verified', timestamp: '2025-01-01T00:00:00Z' } };
  await assert.rejects(signAssertion(AccountType, input, liar, WHEN), fails('key-signature-invalid'));
});
