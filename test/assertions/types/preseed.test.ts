import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreseedType, decode, type Assertion, type PreseedData } from '../../../src/assertions/index.ts';
import { assertDecodeFails, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion preseed: ';
const TS = '2024-01-15T10:00:00Z';
const ARTIFACT = 'KPIl7M4vQ9d4AUjkoU41TGAwtOMLc_bWUCeW8AvdRWD4_xcP60Oo4ABs1No7BtXj';
const valid = signedText(
  PreseedType,
  {
    'authority-id': 'brand-id1',
    series: '16',
    'brand-id': 'brand-id1',
    model: 'baz-3000',
    'system-label': '20220210',
    'artifact-sha3-384': ARTIFACT,
    snaps: [{ name: 'baz-linux', id: 'bazlinuxidididididididididididid', revision: '99' }],
    timestamp: TS,
  },
  { key: 'brand' },
);
const snapsStanza = 'snaps:\n  -\n    id: bazlinuxidididididididididididid\n    name: baz-linux\n    revision: 99\n';

function data(a: Assertion): PreseedData {
  assert.ok(a.is(PreseedType));
  return a.data;
}

test('decodes into typed data; unasserted snaps have neither id nor revision', () => {
  assert.ok(valid.includes(snapsStanza));
  assert.deepEqual(data(decode(valid)), {
    series: '16',
    brandId: 'brand-id1',
    model: 'baz-3000',
    systemLabel: '20220210',
    snaps: [{ name: 'baz-linux', snapId: 'bazlinuxidididididididididididid', revision: 99 }],
    artifactSha3384: ARTIFACT,
    timestamp: new Date(TS),
  });
  const unasserted = mutate(valid, '    id: bazlinuxidididididididididididid\n', '');
  assert.deepEqual(data(decode(mutate(unasserted, '    revision: 99\n', ''))).snaps, [{ name: 'baz-linux', snapId: '', revision: 0 }]);
  assert.equal(consistency(decode(valid), fakeView([])), 'ok');
});

// snapd asserts/preseed_test.go
const other = '    revision: 99\n';
const rows: InvalidRow[] = [
  ['series: 16\n', '', lit('"series" header is mandatory')],
  ['series: 16\n', 'series: \n', lit('"series" header should not be empty')],
  ['model: baz-3000\n', 'model: \n', lit('"model" header should not be empty')],
  ['model: baz-3000\n', 'model: -\n', lit('"model" header contains invalid characters: "-"')],
  ['model: baz-3000\n', 'model: Baz-3000\n', lit('"model" header cannot contain uppercase letters')],
  ['brand-id: brand-id1\n', '', lit('"brand-id" header is mandatory')],
  ['brand-id: brand-id1\n', 'brand-id: \n', lit('"brand-id" header should not be empty')],
  ['brand-id: brand-id1\n', 'brand-id: brand-id2\n', lit('authority-id and brand-id must match, preseed assertions are expected to be signed by the brand: "brand-id1" != "brand-id2"')],
  ['system-label: 20220210\n', 'system-label: \n', lit('"system-label" header should not be empty')],
  ['system-label: 20220210\n', 'system-label: -x\n', lit('"system-label" header contains invalid characters: "-x"')],
  [`timestamp: ${TS}\n`, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
  [`artifact-sha3-384: ${ARTIFACT}\n`, 'artifact-sha3-384: 1\n', lit('"artifact-sha3-384" header cannot be decoded: illegal base64 data') + '.*'],
  [`artifact-sha3-384: ${ARTIFACT}\n`, '', lit('"artifact-sha3-384" header is mandatory')],
  ['revision: 99\n', 'revision: 0\n', lit('"revision" of snap "baz-linux" must be >=1: 0')],
  [snapsStanza, '', lit('"snaps" header is mandatory')],
  [snapsStanza, 'snaps: snap\n', lit('"snaps" header must be a list of maps')],
  [snapsStanza, 'snaps:\n  - snap\n', lit('"snaps" header must be a list of maps')],
  ['name: baz-linux\n', 'other: 1\n', lit('"name" of snap is mandatory')],
  ['name: baz-linux\n', 'name: linux_2\n', lit('invalid snap name "linux_2"')],
  ['id: bazlinuxidididididididididididid\n', 'id: 2\n', lit('"id" of snap "baz-linux" contains invalid characters: "2"')],
  [other, `${other}  -\n    name: baz-linux\n    id: bazlinuxidididididididididididid\n    revision: 1\n`, lit('cannot list the same snap "baz-linux" multiple times')],
  [
    other,
    `${other}  -\n    name: baz-linux2\n    id: bazlinuxidididididididididididid\n    revision: 1\n`,
    lit('cannot specify the same snap id "bazlinuxidididididididididididid" multiple times, specified for snaps "baz-linux" and "baz-linux2"'),
  ],
];

test('invalid preseeds are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, rows);
  assertDecodeFails(mutate(valid, '    revision: 99\n', ''), PREFIX, lit('snap revision is required when snap id is set'));
  assertDecodeFails(mutate(valid, '    id: bazlinuxidididididididididididid\n', ''), PREFIX, lit('snap id is required when revision is set'));
});
