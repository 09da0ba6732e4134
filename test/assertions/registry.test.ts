import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASSERTION_TYPES, assertionType, decode, AssertionError } from '../../src/assertions/index.ts';
import { vectorBytes } from '../helpers/vectors.ts';

/** Every type snapd 2.57.6 registers (asserts.go typeRegistry), with its primary key. */
const SNAPD_257: Record<string, string[]> = {
  account: ['account-id'],
  'account-key': ['public-key-sha3-384'],
  'account-key-request': ['public-key-sha3-384'],
  model: ['series', 'brand-id', 'model'],
  serial: ['brand-id', 'model', 'serial'],
  'serial-request': [],
  'device-session-request': ['brand-id', 'model', 'serial'],
  'snap-declaration': ['series', 'snap-id'],
  'snap-revision': ['snap-sha3-384', 'provenance'],
  'snap-build': ['snap-sha3-384'],
  'snap-developer': ['snap-id', 'publisher-id'],
  store: ['store'],
  'system-user': ['brand-id', 'email'],
  validation: ['series', 'snap-id', 'approved-snap-id', 'approved-snap-revision'],
  'validation-set': ['series', 'account-id', 'name', 'sequence'],
  repair: ['brand-id', 'repair-id'],
  preseed: ['series', 'brand-id', 'model', 'system-label'],
  'base-declaration': ['series'],
};

test('the registry holds exactly the types snapd 2.57 knows, with their primary keys', () => {
  assert.deepEqual(ASSERTION_TYPES.map((t) => t.name).sort(), Object.keys(SNAPD_257).sort());
  for (const [name, pk] of Object.entries(SNAPD_257)) assert.deepEqual(assertionType(name)?.primaryKey, pk, name);
  assert.equal(new Set(ASSERTION_TYPES.map((t) => t.name)).size, ASSERTION_TYPES.length);
});

test('authority-delegation is unknown, as in snapd 2.57', () => {
  const text = vectorBytes('model-core18.model').toString().replace('type: model', 'type: authority-delegation');
  assert.throws(() => decode(text), (e: unknown) => e instanceof AssertionError && e.code === 'assertion-unknown-type');
});

test('only sequence-forming types have sequences, and only snap-revision has an optional key', () => {
  assert.deepEqual(ASSERTION_TYPES.filter((t) => t.sequenceForming).map((t) => t.name).sort(), ['repair', 'validation-set']);
  assert.deepEqual(ASSERTION_TYPES.filter((t) => t.optionalPrimaryKeyDefaults).map((t) => t.name), ['snap-revision']);
  assert.deepEqual(
    ASSERTION_TYPES.filter((t) => t.maxFormat > 0).map((t) => [t.name, t.maxFormat]),
    [['snap-declaration', 5], ['system-user', 1]],
  );
});
