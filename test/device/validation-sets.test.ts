// The model's enforced validation sets, pure: what seeding demands (snapd
// 2.60+) and what they pin for a refresh (snapd's CheckPresenceRequired).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTimestamp, sign, ValidationSetType, type Assertion, type ValidationSetData } from '../../src/assertions/index.ts';
import { checkSeedAgainstSets, pinsFor } from '../../src/device/validation-sets.ts';
import type { InstalledSnap } from '../../src/device/state.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { testModel } from './helpers.ts';

const ID_A = 'a'.repeat(32);
const ID_B = 'b'.repeat(32);

function set(name: string, sequence: number, snaps: Record<string, string>[]): Assertion<ValidationSetData> {
  return sign(
    ValidationSetType,
    { headers: { 'authority-id': 'vectors-brand', series: '16', 'account-id': 'vectors-brand', name, sequence: String(sequence), snaps, timestamp: formatTimestamp(new Date('2025-12-01T00:00:00Z')) } },
    vectorKey('brand'),
    new Date('2026-01-01T00:00:00Z'),
  ) as Assertion<ValidationSetData>;
}

const model = (sets: Record<string, string>[]) => testModel({ 'validation-sets': sets });
const seedSnaps = [
  { name: 'app-a', snapId: ID_A, revision: 3 },
  { name: 'app-b', snapId: ID_B, revision: 7 },
];

test('seeding: an enforced set must be in the seed and the seed must meet it', () => {
  const enforce = model([{ 'account-id': 'vectors-brand', name: 'fleet', mode: 'enforce' }]);
  const ok = set('fleet', 2, [{ name: 'app-a', id: ID_A, revision: '3' }, { name: 'app-b', id: ID_B }, { name: 'other', id: 'c'.repeat(32), presence: 'optional' }]);
  checkSeedAgainstSets(enforce, [ok], seedSnaps);
  // The newest sequence in the seed counts, unless the model pins one.
  const older = set('fleet', 1, [{ name: 'app-a', id: ID_A, revision: '2' }]);
  checkSeedAgainstSets(enforce, [older, ok], seedSnaps);
  assert.throws(() => checkSeedAgainstSets(model([{ 'account-id': 'vectors-brand', name: 'fleet', sequence: '1', mode: 'enforce' }]), [older, ok], seedSnaps), /fleet\/1 requires app-a at revision 2; the seed carries revision 3/);

  const refuse = (assertions: Assertion[], pattern: RegExp) =>
    assert.throws(
      () => checkSeedAgainstSets(enforce, assertions, seedSnaps),
      (err: Error & { code?: string }) => err.code === 'device-seed-invalid' && pattern.test(err.message),
    );
  refuse([], /enforces validation set vectors-brand\/fleet, which the seed does not carry/);
  refuse([set('fleet', 1, [{ name: 'app-c', id: 'c'.repeat(32) }])], /requires app-c, which the seed does not carry/);
  refuse([set('fleet', 1, [{ name: 'app-b', id: ID_B, presence: 'invalid' }])], /declares app-b invalid, and the seed carries it/);
  // prefer-enforce is not a condition of seeding.
  checkSeedAgainstSets(model([{ 'account-id': 'vectors-brand', name: 'fleet', mode: 'prefer-enforce' }]), [], seedSnaps);
});

const installed = (name: string, snapId: string, revision: number): InstalledSnap => ({ name, snapId, revision, channel: 'latest/stable', refreshedDate: '', cohort: '', type: 'app', version: '1', epoch: { read: [0], write: [0] }, file: '' });

test('refresh pins: the sets requiring a snap and their revision; disagreeing sets are refused', () => {
  const snaps = [installed('app-a', ID_A, 1), installed('app-b', ID_B, 1)];
  const pins = pinsFor(snaps, [set('one', 4, [{ name: 'app-a', id: ID_A, revision: '3' }]), set('two', 1, [{ name: 'app-a', id: ID_A, revision: '3' }, { name: 'app-b', id: ID_B, presence: 'optional' }])]);
  assert.deepEqual(pins.get(ID_A), { sets: [['16', 'vectors-brand', 'one', '4'], ['16', 'vectors-brand', 'two', '1']], revision: 3 });
  assert.equal(pins.get(ID_B), undefined, 'optional: no pin');
  assert.throws(() => pinsFor(snaps, [set('one', 1, [{ name: 'app-a', id: ID_A, revision: '3' }]), set('two', 1, [{ name: 'app-a', id: ID_A, revision: '5' }])]), /disagree on app-a: revision 3 and revision 5/);
});
