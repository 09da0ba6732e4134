import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccountKeyType,
  AccountType,
  AssertionError,
  ModelType,
  SerialType,
  TrustDatabase,
  decode,
  sign,
  type Assertion,
  type AssertionType,
} from '../../src/assertions/index.ts';
import { vectorBytes, vectorIndex, vectorKey } from '../helpers/vectors.ts';

const NOW = new Date('2026-06-01T00:00:00Z');
const root = () => vectorIndex.trusted.map((f) => decode(vectorBytes(f)));

function db(now = NOW): TrustDatabase {
  return new TrustDatabase({ trusted: root(), now: () => now });
}

function signed(type: AssertionType, headers: Record<string, unknown>, key: string, body?: string): Assertion {
  return sign(type, { headers, ...(body ? { body } : {}) }, vectorKey(key), NOW);
}

const brandAccount = () => decode(vectorBytes('brand.account'));
const brandKey = () => decode(vectorBytes('brand.account-key'));

function model(extra: Record<string, unknown> = {}): Assertion {
  return signed(
    ModelType,
    {
      'authority-id': 'vectors-brand',
      series: '16',
      'brand-id': 'vectors-brand',
      model: 'm1',
      architecture: 'amd64',
      gadget: 'pc',
      kernel: 'pc-kernel',
      timestamp: '2025-01-01T00:00:00Z',
      ...extra,
    },
    'brand',
  );
}

function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AssertionError);
    return err.code;
  }
  return 'ok';
}

test('a chain root → account → account-key → model is accepted, in any input order', () => {
  const d = db();
  const added = d.addBatch([model(), brandKey(), brandAccount()]);
  assert.deepEqual(added.map((a) => a.type).sort(), ['account', 'account-key', 'model']);
  assert.equal(d.find('model', ['16', 'vectors-brand', 'm1'])?.headerString('gadget'), 'pc');
  // Adding the same again is a no-op for a batch, a revision error for add.
  assert.deepEqual(d.addBatch([brandAccount()]), []);
  assert.throws(() => d.add(brandAccount()), /revision 0 is already the current revision/);
});

test('the signing key must exist, belong to the authority and be valid', () => {
  const d = db();
  assert.equal(codeOf(() => d.add(model())), 'assertion-key-not-found');
  d.addBatch([brandAccount(), brandKey()]);
  const byRoot = signed(ModelType, { ...model().headers, 'authority-id': 'vectors-brand' }, 'root');
  assert.match(String((() => { try { d.add(byRoot); } catch (e) { return (e as Error).message; } })()), /found public key .* from "vectors-root" but expected it from: vectors-brand/);
  const expiredKey = decode(vectorBytes('brand-expired.account-key'));
  d.add(expiredKey);
  const late = signed(ModelType, { ...model().headers }, 'brand-expired');
  assert.equal(codeOf(() => d.add(late)), 'assertion-key-expired');
});

test('a timestamp outside the signing key validity is refused', () => {
  const d = db();
  d.addBatch([brandAccount(), brandKey()]);
  const early = model({ timestamp: '2015-01-01T00:00:00Z' });
  assert.throws(() => d.add(early), /model assertion timestamp "2015-01-01 00:00:00 \+0000 UTC" outside of signing key validity/);
});

test('accounts and account-keys must be signed by a directly trusted authority', () => {
  const d = db();
  d.addBatch([brandAccount(), brandKey()]);
  const byBrand = signed(AccountType, { 'authority-id': 'vectors-brand', 'account-id': 'other', 'display-name': 'O', validation: 'unproven', timestamp: '2025-01-01T00:00:00Z' }, 'brand');
  assert.throws(() => d.add(byBrand), /account assertion for "other" is not signed by a directly trusted authority: vectors-brand/);
});

test('an account-key needs its account first, and names are unique per account', () => {
  const d = db();
  assert.throws(() => d.add(brandKey()), /does not have a matching account assertion/);
  d.addBatch([brandAccount(), brandKey()]);
  const device = vectorKey('device').publicKey;
  const clash = signed(
    AccountKeyType,
    { 'authority-id': 'vectors-root', 'account-id': 'vectors-brand', name: 'models', 'public-key-sha3-384': device.id, since: '2020-01-01T00:00:00Z' },
    'root',
    device.encode(),
  );
  assert.throws(() => d.add(clash), /has the same name "models" as existing ID/);
});

test('newer revisions replace older ones; older are refused', () => {
  const d = db();
  d.addBatch([brandAccount(), brandKey(), model({ revision: '2' })]);
  assert.throws(() => d.add(model({ revision: '1' })), /revision 1 is older than current revision 2/);
  d.add(model({ revision: '3', 'display-name': 'three' }));
  assert.equal(d.find('model', ['16', 'vectors-brand', 'm1'])?.headerString('display-name'), 'three');
});

test('a serial by another authority needs the model to list it in serial-authority', () => {
  const d = db();
  d.addBatch([brandAccount(), brandKey()]);
  const device = vectorKey('device').publicKey;
  const serial = signed(
    SerialType,
    { 'authority-id': 'vectors-root', 'brand-id': 'vectors-brand', model: 'm1', serial: 's1', 'device-key': device.encode(), 'device-key-sha3-384': device.id, timestamp: '2025-01-01T00:00:00Z' },
    'root',
  );
  assert.throws(() => d.add(serial), /serial with authority "vectors-root" different from brand "vectors-brand"/);
  d.add(model({ 'serial-authority': ['vectors-root'] }));
  d.add(serial);
});

test('trusted layers accept only accounts and account-keys, and cannot be shadowed', () => {
  assert.throws(() => new TrustDatabase({ trusted: [model()], now: () => NOW }), /only accounts and account-keys/);
  const d = db();
  assert.ok(d.isDirectlyTrusted('vectors-root'));
  assert.ok(!d.isDirectlyTrusted('vectors-brand'));
});

test('while seeding only a lower bound of the clock is known', () => {
  const d = db(new Date('2000-01-01T00:00:00Z'));
  d.setEarliestTime(new Date('2020-01-01T00:00:00Z'));
  d.addBatch([brandAccount(), brandKey(), model()]);
});
