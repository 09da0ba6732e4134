import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SnapDeclarationType, SnapDeveloperType, decode, type Assertion, type SnapDeveloperData } from '../../../src/assertions/index.ts';
import { account, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion snap-developer: ';
const developersLines = 'developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-01T00:00:00.0Z\n    until: 2017-02-01T00:00:00.0Z\n';
const valid = signedText(
  SnapDeveloperType,
  {
    'authority-id': 'dev-id1',
    'snap-id': 'snap-id-1',
    'publisher-id': 'dev-id1',
    developers: [{ 'developer-id': 'dev-id2', since: '2017-01-01T00:00:00.0Z', until: '2017-02-01T00:00:00.0Z' }],
  },
  { key: 'brand' },
);

function data(a: Assertion): SnapDeveloperData {
  assert.ok(a.is(SnapDeveloperType));
  return a.data;
}

function withDevelopers(lines: string): Assertion {
  return decode(mutate(valid, developersLines, lines));
}

test('decodes into typed data; developers and until are optional', () => {
  assert.ok(valid.includes(developersLines));
  const d = data(decode(valid));
  assert.equal(d.snapId, 'snap-id-1');
  assert.equal(d.publisherId, 'dev-id1');
  assert.deepEqual([...d.developers], [['dev-id2', [{ since: new Date('2017-01-01T00:00:00Z'), until: new Date('2017-02-01T00:00:00Z') }]]]);
  assert.equal(data(withDevelopers('')).developers.size, 0);
  const open = data(withDevelopers('developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-01T00:00:00.0Z\n'));
  assert.deepEqual(open.developers.get('dev-id2'), [{ since: new Date('2017-01-01T00:00:00Z'), until: undefined }]);
  assert.equal(SnapDeveloperType.timestamp, undefined, 'not a timestamped type');
});

// snapDevSuite.TestDevelopersRevoked / TestRevokedValidation
test('revocations (since == until) must be standalone per developer', () => {
  const item = (id: string, since: string, until?: string) =>
    `  -\n    developer-id: ${id}\n    since: ${since}T00:00:00.0Z\n${until ? `    until: ${until}T00:00:00.0Z\n` : ''}`;
  assert.ok(withDevelopers(`developers:\n${item('dev-id2', '2017-01-01', '2017-01-01')}`));
  assert.ok(withDevelopers(`developers:\n${item('dev-id2', '2017-01-01', '2017-02-01')}${item('dev-id2', '2017-03-01')}`));
  assert.ok(withDevelopers(`developers:\n${item('dev-id2', '2017-01-01', '2017-01-01')}${item('dev-id3', '2017-02-01', '2017-02-01')}`));
  const standalone = lit('revocation for developer "dev-id2" must be standalone but found other "developers" items');
  checkInvalidRows(valid, PREFIX, [
    [developersLines, `developers:\n${item('dev-id2', '2017-01-01', '2017-01-01')}${item('dev-id2', '2017-02-01', '2017-02-01')}`, standalone],
    [developersLines, `developers:\n${item('dev-id2', '2017-01-01')}${item('dev-id2', '2017-03-01', '2017-03-01')}`, standalone],
    [developersLines, `developers:\n${item('dev-id2', '2017-01-01', '2017-01-01')}${item('dev-id2', '2017-02-01')}`, standalone],
  ]);
});

// snapDevSuite.TestDecodeInvalid
const rows: InvalidRow[] = [
  ['publisher-id: dev-id1\n', '', lit('"publisher-id" header is mandatory')],
  ['publisher-id: dev-id1\n', 'publisher-id: \n', lit('"publisher-id" header should not be empty')],
  ['snap-id: snap-id-1\n', '', lit('"snap-id" header is mandatory')],
  ['snap-id: snap-id-1\n', 'snap-id: \n', lit('"snap-id" header should not be empty')],
  [developersLines, 'developers: \n', lit('"developers" must be a list of developer maps')],
  [developersLines, 'developers: foo\n', lit('"developers" must be a list of developer maps')],
  [developersLines, 'developers:\n  foo: bar\n', lit('"developers" must be a list of developer maps')],
  [developersLines, 'developers:\n  - foo\n', lit('"developers" must be a list of developer maps')],
  [developersLines, 'developers:\n  -\n    foo: bar\n', lit('"developer-id" in "developers" item 1 is mandatory')],
  [developersLines, 'developers:\n  -\n    developer-id: a\n', lit('"developer-id" in "developers" item 1 contains invalid characters: "a"')],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n', lit('"since" in "developers" item 1 for developer "dev-id2" is mandatory')],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n    since: \n', lit('"since" in "developers" item 1 for developer "dev-id2" should not be empty')],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n    since: foo\n', lit('"since" in "developers" item 1 for developer "dev-id2" is not a RFC3339 date') + '.*'],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-01T00:00:00.0Z\n    until: \n', lit('"until" in "developers" item 1 for developer "dev-id2" is not a RFC3339 date') + '.*'],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-01T00:00:00.0Z\n    until: foo\n', lit('"until" in "developers" item 1 for developer "dev-id2" is not a RFC3339 date') + '.*'],
  [developersLines, 'developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-01T00:00:00.0Z\n  -\n    foo: bar\n', lit('"developer-id" in "developers" item 2 is mandatory')],
  [
    developersLines,
    'developers:\n  -\n    developer-id: dev-id2\n    since: 2017-01-02T00:00:00.0Z\n    until: 2017-01-01T00:00:00.0Z\n',
    lit('"since" in "developers" item 1 for developer "dev-id2" must be less than or equal to "until"'),
  ],
];

test('invalid snap-developers are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, rows);
});

// snapDevSuite.TestPrerequisites*
test('prerequisites: snap-declaration, publisher and each other developer once', () => {
  const prereqs = (lines: string) => SnapDeveloperType.prerequisites!(withDevelopers(lines) as Assertion<SnapDeveloperData>);
  const decl = { type: 'snap-declaration', primaryKey: ['16', 'snap-id-1'] };
  const acct = (id: string) => ({ type: 'account', primaryKey: [id] });
  assert.deepEqual(prereqs(''), [decl, acct('dev-id1')]);
  const item = (id: string) => `  -\n    developer-id: ${id}\n    since: 2017-01-01T00:00:00.0Z\n`;
  assert.deepEqual(prereqs(`developers:\n${item('dev-id2')}${item('dev-id3')}`), [decl, acct('dev-id1'), acct('dev-id2'), acct('dev-id3')]);
  assert.deepEqual(prereqs(`developers:\n${item('dev-id2')}${item('dev-id2')}`), [decl, acct('dev-id1'), acct('dev-id2')]);
  assert.deepEqual(prereqs(`developers:\n${item('dev-id1')}`), [decl, acct('dev-id1')]);
});

test('consistency: signed by the publisher or a trusted authority; declaration and accounts exist', () => {
  const decl = decode(
    signedText(SnapDeclarationType, {
      'authority-id': 'vectors-root',
      series: '16',
      'snap-id': 'snap-id-1',
      'snap-name': 'snap-name-1',
      'publisher-id': 'dev-id1',
      timestamp: '2024-01-01T00:00:00Z',
    }),
  );
  const a = decode(valid);
  const all = [decl, account('dev-id1'), account('dev-id2')];
  assert.equal(consistency(a, fakeView(all)), 'ok', 'signed by the publisher');
  const byStore = decode(signedText(SnapDeveloperType, { 'authority-id': 'vectors-root', 'snap-id': 'snap-id-1', 'publisher-id': 'dev-id1' }));
  assert.equal(consistency(byStore, fakeView(all)), 'ok', 'signed by a trusted authority');
  const notPublisher = decode(signedText(SnapDeveloperType, { 'authority-id': 'dev-id1', 'snap-id': 'snap-id-1', 'publisher-id': 'dev-id2' }, { key: 'brand' }));
  assert.equal(
    consistency(notPublisher, fakeView(all)),
    'assertion-untrusted: snap-developer must be signed by the publisher or a trusted authority but got authority "dev-id1" and publisher "dev-id2"',
  );
  assert.equal(
    consistency(a, fakeView([account('dev-id1'), account('dev-id2')])),
    'assertion-inconsistent: snap-developer assertion for snap id "snap-id-1" does not have a matching snap-declaration assertion',
  );
  const futurePublisher = decode(signedText(SnapDeveloperType, { 'authority-id': 'vectors-root', 'snap-id': 'snap-id-1', 'publisher-id': 'dev-id3' }));
  assert.equal(
    consistency(futurePublisher, fakeView(all)),
    'assertion-inconsistent: snap-developer assertion for snap-id "snap-id-1" does not have a matching account assertion for the publisher "dev-id3"',
  );
  assert.equal(consistency(futurePublisher, fakeView([...all, account('dev-id3')])), 'ok', 'the declaration may name another publisher');
  assert.equal(
    consistency(a, fakeView([decl, account('dev-id1')])),
    'assertion-inconsistent: snap-developer assertion for snap-id "snap-id-1" does not have a matching account assertion for the developer "dev-id2"',
  );
});
