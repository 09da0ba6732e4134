import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapDeclarationType, SnapRevisionType, decode, type Assertion, type SnapRevisionData } from '../../../src/assertions/index.ts';
import { vectorBytes, vectorIndex } from '../../helpers/vectors.ts';
import { account, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion snap-revision: ';
const TS = '2024-01-15T10:00:00Z';
const DIGEST = 'QlqR0uAWEAWF5Nwnzj5kqmmwFslYPu1IL16MKtLKhwhv0kpBv5wKZ_axf_nf_2cL';

const base = {
  'authority-id': 'vectors-root',
  'snap-sha3-384': DIGEST,
  'snap-id': 'snap-id-1',
  'snap-size': '123',
  'snap-revision': '1',
  'developer-id': 'dev-id1',
  revision: '1',
  timestamp: TS,
};
// An explicit default provenance is left out of the text (as the store signs
// them); an absent one would be written among the sorted headers, as snap sign does.
const valid = signedText(SnapRevisionType, { ...base, provenance: 'global-upload' });

function data(a: Assertion): SnapRevisionData {
  assert.ok(a.is(SnapRevisionType));
  return a.data;
}

test('decodes with the default provenance, which is not written', () => {
  assert.ok(!valid.includes('provenance'));
  const a = decode(valid);
  assert.deepEqual(data(a), {
    snapSha3384: DIGEST,
    provenance: 'global-upload',
    snapId: 'snap-id-1',
    snapSize: 123,
    snapRevision: 1,
    developerId: 'dev-id1',
    timestamp: new Date(TS),
  });
  assert.equal(a.revision, 1);
  assert.deepEqual(a.primaryKey, [DIGEST, 'global-upload']);
  assert.deepEqual(a.shortPrimaryKey, [DIGEST]);
});

test('decodes with another provenance, part of the primary key', () => {
  const a = decode(mutate(valid, 'snap-id: snap-id-1\n', 'provenance: foo\nsnap-id: snap-id-1\n'));
  assert.equal(data(a).provenance, 'foo');
  assert.deepEqual(a.primaryKey, [DIGEST, 'foo']);
  const signed = signedText(SnapRevisionType, { ...base, provenance: 'prov1' });
  assert.match(signed, /^type: snap-revision\nauthority-id: vectors-root\nrevision: 1\nsnap-sha3-384: \S+\nprovenance: prov1\n/);
});

// snapd asserts/snap_asserts_test.go, snapRevSuite.TestDecodeInvalid
const digestHdr = `snap-sha3-384: ${DIGEST}\n`;
const rows: InvalidRow[] = [
  ['snap-id: snap-id-1\n', '', lit('"snap-id" header is mandatory')],
  ['snap-id: snap-id-1\n', 'snap-id: \n', lit('"snap-id" header should not be empty')],
  [digestHdr, '', lit('"snap-sha3-384" header is mandatory')],
  [digestHdr, 'snap-sha3-384: \n', lit('"snap-sha3-384" header should not be empty')],
  [digestHdr, 'snap-sha3-384: #\n', lit('"snap-sha3-384" header cannot be decoded:') + '.*'],
  [digestHdr, 'snap-sha3-384: eHl6\n', lit('"snap-sha3-384" header does not have the expected bit length: 24')],
  ['snap-id: snap-id-1\n', 'provenance: \nsnap-id: snap-id-1\n', lit('"provenance" header should not be empty')],
  ['snap-id: snap-id-1\n', 'provenance: *\nsnap-id: snap-id-1\n', lit('"provenance" header contains invalid characters: "*"')],
  ['snap-id: snap-id-1\n', 'provenance: a/b\nsnap-id: snap-id-1\n', lit(`"provenance" primary key header cannot contain '/'`)],
  ['snap-size: 123\n', '', lit('"snap-size" header is mandatory')],
  ['snap-size: 123\n', 'snap-size: \n', lit('"snap-size" header should not be empty')],
  ['snap-size: 123\n', 'snap-size: -1\n', lit('"snap-size" header is not an unsigned integer: -1')],
  ['snap-size: 123\n', 'snap-size: zzz\n', lit('"snap-size" header is not an unsigned integer: zzz')],
  ['snap-size: 123\n', 'snap-size: 0123\n', lit('"snap-size" header has invalid prefix zeros: 0123')],
  ['snap-revision: 1\n', '', lit('"snap-revision" header is mandatory')],
  ['snap-revision: 1\n', 'snap-revision: \n', lit('"snap-revision" header should not be empty')],
  ['snap-revision: 1\n', 'snap-revision: -1\n', lit('"snap-revision" header must be >=1: -1')],
  ['snap-revision: 1\n', 'snap-revision: 0\n', lit('"snap-revision" header must be >=1: 0')],
  ['snap-revision: 1\n', 'snap-revision: zzz\n', lit('"snap-revision" header is not an integer: zzz')],
  ['developer-id: dev-id1\n', '', lit('"developer-id" header is mandatory')],
  ['developer-id: dev-id1\n', 'developer-id: \n', lit('"developer-id" header should not be empty')],
  [`timestamp: ${TS}\n`, '', lit('"timestamp" header is mandatory')],
  [`timestamp: ${TS}\n`, 'timestamp: \n', lit('"timestamp" header should not be empty')],
  [`timestamp: ${TS}\n`, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
];

test('invalid snap-revisions are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, rows);
});

// snapRevSuite.TestPrerequisites
test('prerequisites: the snap-declaration (series 16) and the developer account', () => {
  const a = decode(valid) as Assertion<SnapRevisionData>;
  assert.deepEqual(SnapRevisionType.prerequisites!(a), [
    { type: 'snap-declaration', primaryKey: ['16', 'snap-id-1'] },
    { type: 'account', primaryKey: ['dev-id1'] },
  ]);
});

function declaration(extra: Record<string, unknown> = {}): Assertion {
  return decode(
    signedText(SnapDeclarationType, {
      'authority-id': 'vectors-root',
      series: '16',
      'snap-id': 'snap-id-1',
      'snap-name': 'foo',
      'publisher-id': 'delegated-id',
      timestamp: TS,
      ...extra,
    }),
  );
}

test('consistency of a global-upload revision: store signer, developer account, snap-declaration', () => {
  const a = decode(valid);
  assert.equal(consistency(a, fakeView([account('dev-id1'), declaration()])), 'ok');
  assert.equal(
    consistency(a, fakeView([account('dev-id1'), declaration()], ['other'])),
    'assertion-untrusted: snap-revision assertion for snap id "snap-id-1" is not signed by a store: vectors-root',
  );
  assert.equal(
    consistency(a, fakeView([declaration()])),
    'assertion-inconsistent: snap-revision assertion for snap id "snap-id-1" does not have a matching account assertion for the developer "dev-id1"',
  );
  assert.equal(
    consistency(a, fakeView([account('dev-id1')])),
    'assertion-inconsistent: snap-revision assertion for snap id "snap-id-1" does not have a matching snap-declaration assertion',
  );
});

// snapRevSuite.TestSnapRevisionDelegation and ...RevisionOutOfRange
test('consistency of a delegated provenance: needs a matching revision-authority', () => {
  const delegated = decode(
    signedText(SnapRevisionType, { ...base, 'authority-id': 'delegated-id', 'developer-id': 'delegated-id', provenance: 'prov1', 'snap-revision': '200' }),
  );
  const notAuthorized =
    'assertion-untrusted: snap-revision assertion with provenance "prov1" for snap id "snap-id-1" is not signed by an authorized authority: delegated-id';
  const dev = account('delegated-id');
  // Not a directly trusted signer, but other provenances do not need one.
  assert.equal(consistency(delegated, fakeView([dev, declaration()])), notAuthorized);
  const ra = (over: Record<string, unknown>) => declaration({ 'revision-authority': [{ 'account-id': 'delegated-id', provenance: ['prov1'], ...over }] });
  assert.equal(consistency(delegated, fakeView([dev, ra({ 'on-store': ['store1'] })])), 'ok', 'device scope is not checked here');
  assert.equal(consistency(delegated, fakeView([dev, ra({ 'max-revision': '199' })])), notAuthorized);
  assert.equal(consistency(delegated, fakeView([dev, ra({ 'min-revision': '201' })])), notAuthorized);
  assert.equal(consistency(delegated, fakeView([dev, ra({ provenance: ['prov2'] })])), notAuthorized);
  assert.equal(consistency(delegated, fakeView([dev, ra({ 'account-id': 'someone-else' })])), notAuthorized);
  assert.equal(
    consistency(delegated, fakeView([dev, declaration({ 'revision-authority': [{ 'account-id': 'other', provenance: ['prov1'] }, { 'account-id': 'delegated-id', provenance: ['prov2', 'prov1'] }] })])),
    'ok',
    'any matching entry will do',
  );
});

test('the snapd-made vector decodes into the typed data', () => {
  const entry = vectorIndex.vectors.find((v) => v.file === 'snap-revision.snap-revision')!;
  const d = data(decode(vectorBytes(entry.file)));
  assert.equal(d.snapSha3384, entry.headers['snap-sha3-384']);
  assert.equal(d.snapId, entry.headers['snap-id']);
  assert.equal(d.snapSize, Number(entry.headers['snap-size']));
  assert.equal(d.snapRevision, Number(entry.headers['snap-revision']));
  assert.equal(d.developerId, entry.headers['developer-id']);
  assert.equal(d.provenance, 'global-upload');
  const broken = decode(vectorBytes('broken-snap-revision-not-by-store.snap-revision'));
  assert.equal(
    consistency(broken, fakeView([], ['vectors-root'])),
    `assertion-untrusted: ${vectorIndex.vectors.find((v) => v.file === 'broken-snap-revision-not-by-store.snap-revision')!['snapd-error']}`,
  );
});
