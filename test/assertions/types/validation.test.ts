import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapDeclarationType, ValidationType, decode, type Assertion, type ValidationData } from '../../../src/assertions/index.ts';
import { checkInvalidRows, consistency, fakeView, lit, mutate, signedText } from './helpers.ts';

const TS = '2024-01-15T10:00:00Z';
const valid = signedText(
  ValidationType,
  { 'authority-id': 'dev-id1', series: '16', 'snap-id': 'snap-id-1', 'approved-snap-id': 'snap-id-2', 'approved-snap-revision': '42', revision: '1', timestamp: TS },
  { key: 'brand' },
);

test('decodes into typed data; revoked is an optional boolean', () => {
  const a = decode(valid);
  assert.ok(a.is(ValidationType));
  assert.deepEqual(a.data, { series: '16', snapId: 'snap-id-1', approvedSnapId: 'snap-id-2', approvedSnapRevision: 42, revoked: false, timestamp: new Date(TS) });
  assert.deepEqual(a.primaryKey, ['16', 'snap-id-1', 'snap-id-2', '42']);
  const revoked = decode(mutate(valid, 'revision: 1\n', 'revision: 1\nrevoked: true\n'));
  assert.equal((revoked.data as ValidationData).revoked, true);
  assert.equal((decode(mutate(valid, 'revision: 1\n', 'revision: 1\nrevoked: false\n')).data as ValidationData).revoked, false);
});

// snapd asserts/snap_asserts_test.go, validationSuite.TestDecodeInvalid
test('invalid validations are rejected with snapd messages', () => {
  const tsLine = `timestamp: ${TS}\n`;
  checkInvalidRows(valid, 'assertion validation: ', [
    ['series: 16\n', '', lit('"series" header is mandatory')],
    ['series: 16\n', 'series: \n', lit('"series" header should not be empty')],
    ['snap-id: snap-id-1\n', '', lit('"snap-id" header is mandatory')],
    ['snap-id: snap-id-1\n', 'snap-id: \n', lit('"snap-id" header should not be empty')],
    ['approved-snap-id: snap-id-2\n', '', lit('"approved-snap-id" header is mandatory')],
    ['approved-snap-id: snap-id-2\n', 'approved-snap-id: \n', lit('"approved-snap-id" header should not be empty')],
    ['approved-snap-revision: 42\n', '', lit('"approved-snap-revision" header is mandatory')],
    ['approved-snap-revision: 42\n', 'approved-snap-revision: z\n', lit('"approved-snap-revision" header is not an integer: z')],
    ['approved-snap-revision: 42\n', 'approved-snap-revision: 0\n', lit('"approved-snap-revision" header must be >=1: 0')],
    ['approved-snap-revision: 42\n', 'approved-snap-revision: -1\n', lit('"approved-snap-revision" header must be >=1: -1')],
    ['revision: 1\n', 'revision: 1\nrevoked: foo\n', lit(`"revoked" header must be 'true' or 'false'`)],
    [tsLine, '', lit('"timestamp" header is mandatory')],
    [tsLine, 'timestamp: \n', lit('"timestamp" header should not be empty')],
    [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
  ]);
});

function decl(snapId: string, name: string): Assertion {
  return decode(
    signedText(SnapDeclarationType, {
      'authority-id': 'vectors-root',
      series: '16',
      'snap-id': snapId,
      'snap-name': name,
      'publisher-id': 'dev-id1',
      timestamp: TS,
    }),
  );
}

test('prerequisites and consistency: both declarations, signed by the gating publisher', () => {
  const a = decode(valid) as Assertion<ValidationData>;
  assert.deepEqual(ValidationType.prerequisites!(a), [
    { type: 'snap-declaration', primaryKey: ['16', 'snap-id-1'] },
    { type: 'snap-declaration', primaryKey: ['16', 'snap-id-2'] },
  ]);
  const both = [decl('snap-id-1', 'foo'), decl('snap-id-2', 'bar')];
  assert.equal(consistency(a, fakeView(both)), 'ok');
  assert.equal(
    consistency(a, fakeView([both[0]!])),
    'assertion-inconsistent: validation assertion by snap-id "snap-id-1" does not have a matching snap-declaration assertion for approved-snap-id "snap-id-2"',
  );
  assert.equal(
    consistency(a, fakeView([both[1]!])),
    'assertion-inconsistent: validation assertion by snap-id "snap-id-1" does not have a matching snap-declaration assertion',
  );
  const byOther = decode(mutate(valid, 'authority-id: dev-id1', 'authority-id: vectors-root'));
  assert.equal(consistency(byOther, fakeView(both)), 'assertion-untrusted: validation assertion by snap "foo" (id "snap-id-1") not signed by its publisher');
});
