import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapBuildType, decode } from '../../../src/assertions/index.ts';
import { checkInvalidRows, lit, signedText } from './helpers.ts';

const TS = '2024-01-15T10:00:00+01:00';
const DIGEST = 'QlqR0uAWEAWF5Nwnzj5kqmmwFslYPu1IL16MKtLKhwhv0kpBv5wKZ_axf_nf_2cL';
const valid = signedText(
  SnapBuildType,
  { 'authority-id': 'dev-id1', 'snap-sha3-384': DIGEST, grade: 'stable', 'snap-id': 'snap-id-1', 'snap-size': '10000', timestamp: TS },
  { key: 'brand' },
);

test('decodes into typed data (snap sign-build writes local time with an offset)', () => {
  const a = decode(valid);
  assert.ok(a.is(SnapBuildType));
  assert.deepEqual(a.data, { snapSha3384: DIGEST, snapId: 'snap-id-1', grade: 'stable', snapSize: 10000, timestamp: new Date('2024-01-15T09:00:00Z') });
  assert.deepEqual(SnapBuildType.timestamp!(a.data), new Date('2024-01-15T09:00:00Z'));
  assert.equal(SnapBuildType.checkConsistency, undefined, 'no database checks beyond the key chain');
});

// snapd asserts/snap_asserts_test.go, snapBuildSuite.TestDecodeInvalid
test('invalid snap-builds are rejected with snapd messages', () => {
  const digestHdr = `snap-sha3-384: ${DIGEST}\n`;
  const tsLine = `timestamp: ${TS}\n`;
  checkInvalidRows(valid, 'assertion snap-build: ', [
    ['snap-id: snap-id-1\n', '', lit('"snap-id" header is mandatory')],
    ['snap-id: snap-id-1\n', 'snap-id: \n', lit('"snap-id" header should not be empty')],
    [digestHdr, '', lit('"snap-sha3-384" header is mandatory')],
    [digestHdr, 'snap-sha3-384: \n', lit('"snap-sha3-384" header should not be empty')],
    [digestHdr, 'snap-sha3-384: #\n', lit('"snap-sha3-384" header cannot be decoded:') + '.*'],
    ['snap-size: 10000\n', '', lit('"snap-size" header is mandatory')],
    ['snap-size: 10000\n', 'snap-size: -1\n', lit('"snap-size" header is not an unsigned integer: -1')],
    ['snap-size: 10000\n', 'snap-size: zzz\n', lit('"snap-size" header is not an unsigned integer: zzz')],
    ['snap-size: 10000\n', 'snap-size: 010\n', lit('"snap-size" header has invalid prefix zeros: 010')],
    ['snap-size: 10000\n', 'snap-size: 99999999999999999999\n', lit('"snap-size" header is out of range: 99999999999999999999')],
    ['grade: stable\n', '', lit('"grade" header is mandatory')],
    ['grade: stable\n', 'grade: \n', lit('"grade" header should not be empty')],
    [tsLine, '', lit('"timestamp" header is mandatory')],
    [tsLine, 'timestamp: \n', lit('"timestamp" header should not be empty')],
    [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
  ]);
});
