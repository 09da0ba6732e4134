// KeyCustody.signer(ref, { keepOpenMs }): the key is opened once per period
// (not per signature), and a disable still takes effect when it reopens.
import assert from 'node:assert/strict';
import { KeyCustody, KeyCustodyError, MasterKeyRing, generateMasterKey, masterKeyFromBase64 } from '../../../src/platform/keys/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';
import { vectorKey } from '../../helpers/vectors.ts';

const ring = new MasterKeyRing(masterKeyFromBase64(generateMasterKey()));
const CONTENT = Buffer.from('type: account\nauthority-id: root\n');

forEachEngine('a kept-open signer opens its key once per period and honours a disable when it reopens', async (db) => {
  const custody = new KeyCustody(db.kysely, ring);
  const brand = vectorKey('brand');
  await custody.import('hot', brand.toPem(), { accountId: 'acme' });
  const signer = await custody.signer({ name: 'hot' }, { keepOpenMs: 200 });
  let opened = 0;
  const open = (custody as unknown as { openKey: (id: string) => Promise<unknown> }).openKey.bind(custody);
  (custody as unknown as { openKey: (id: string) => Promise<unknown> }).openKey = (id: string) => {
    opened++;
    return open(id);
  };
  const sigs = await Promise.all(Array.from({ length: 5 }, () => signer.sign(CONTENT, new Date())));
  for (const s of sigs) signer.publicKey.verify(CONTENT, s);
  assert.equal(opened, 1);
  await custody.disable({ name: 'hot' });
  // Still open for the rest of the period...
  await signer.sign(CONTENT, new Date());
  await new Promise((r) => setTimeout(r, 250));
  // ...then it reopens, reads the row and refuses.
  await assert.rejects(signer.sign(CONTENT, new Date()), (err: unknown) => err instanceof KeyCustodyError && err.code === 'key-disabled');
  assert.equal(opened, 2);
});
