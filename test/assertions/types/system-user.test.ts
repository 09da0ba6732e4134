import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError, SystemUserType, decode, parseHeaders, sign, systemUserValidAt, type Assertion, type SystemUserData } from '../../../src/assertions/index.ts';
import { vectorBytes, vectorIndex, vectorKey } from '../../helpers/vectors.ts';
import { SIGNED_AT, assertDecodeFails, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion system-user: ';
const SINCE = '2024-01-01T00:00:00Z';
const UNTIL = '2024-02-01T00:00:00Z';
const headers = {
  'authority-id': 'vectors-brand',
  'brand-id': 'vectors-brand',
  email: 'foo@example.com',
  series: ['16'],
  models: ['frobinator'],
  name: 'Nice Guy',
  username: 'guy',
  password: '$6$salt$hash',
  'ssh-keys': ['ssh-rsa AAAABcdefg'],
  since: SINCE,
  until: UNTIL,
};
const valid = signedText(SystemUserType, headers, { key: 'brand' });
const modelsLine = 'models:\n  - frobinator\n';
const sinceLine = `since: ${SINCE}\n`;
const untilLine = `until: ${UNTIL}\n`;
const pwLine = 'password: $6$salt$hash\n';

function data(a: Assertion): SystemUserData {
  assert.ok(a.is(SystemUserType));
  return a.data;
}

test('decodes into typed data', () => {
  assert.deepEqual(data(decode(valid)), {
    brandId: 'vectors-brand',
    email: 'foo@example.com',
    series: ['16'],
    models: ['frobinator'],
    serials: [],
    name: 'Nice Guy',
    username: 'guy',
    password: '$6$salt$hash',
    forcePasswordChange: false,
    sshKeys: ['ssh-rsa AAAABcdefg'],
    since: new Date(SINCE),
    until: new Date(UNTIL),
  });
  assert.equal(SystemUserType.timestamp, undefined, 'validity is since/until, not a timestamp');
  assert.equal(consistency(decode(valid), fakeView([])), 'ok', 'no database checks: policy applies at use');
});

test('passwords: rounds are optional, the password itself too; force-password-change', () => {
  assert.equal(data(decode(mutate(valid, pwLine, 'password: $6$rounds=9999$salt$hash\n'))).password, '$6$rounds=9999$salt$hash');
  assert.equal(data(decode(mutate(valid, pwLine, ''))).password, '');
  assert.equal(data(decode(mutate(valid, pwLine, `${pwLine}force-password-change: true\n`))).forcePasswordChange, true);
});

test('email: RFC 5322 addresses as Go parses them', () => {
  for (const email of ['Foo Bar <foo@example.com>', 'foo@example.com (Foo)', '"foo bar"@example.com', 'jörg@example.com']) {
    assert.equal(data(decode(mutate(valid, 'email: foo@example.com\n', `email: ${email}\n`))).email, email);
  }
});

// snapd asserts/system_user_test.go, TestDecodeInvalid
const rows: InvalidRow[] = [
  ['brand-id: vectors-brand\n', '', lit('"brand-id" header is mandatory')],
  ['brand-id: vectors-brand\n', 'brand-id: \n', lit('"brand-id" header should not be empty')],
  ['email: foo@example.com\n', '', lit('"email" header is mandatory')],
  ['email: foo@example.com\n', 'email: \n', lit('"email" header should not be empty')],
  ['email: foo@example.com\n', 'email: <alice!example.com>\n', lit('"email" header must be a RFC 5322 compliant email address: mail: missing @ in addr-spec')],
  ['email: foo@example.com\n', 'email: no-mail\n', lit('"email" header must be a RFC 5322 compliant email address:') + '.*'],
  ['email: foo@example.com\n', 'email: Foo <foo@example.com\n', lit('"email" header must be a RFC 5322 compliant email address: mail: unclosed angle-addr')],
  ['email: foo@example.com\n', 'email: a@b, c@d\n', lit('"email" header must be a RFC 5322 compliant email address: mail: expected single address, got ", c@d"')],
  ['series:\n  - 16\n', 'series: \n', lit('"series" header must be a list of strings')],
  ['series:\n  - 16\n', 'series: something\n', lit('"series" header must be a list of strings')],
  [modelsLine, 'models: \n', lit('"models" header must be a list of strings')],
  [modelsLine, 'models: something\n', lit('"models" header must be a list of strings')],
  ['ssh-keys:\n  - ssh-rsa AAAABcdefg\n', 'ssh-keys: \n', lit('"ssh-keys" header must be a list of strings')],
  ['ssh-keys:\n  - ssh-rsa AAAABcdefg\n', 'ssh-keys: something\n', lit('"ssh-keys" header must be a list of strings')],
  ['name: Nice Guy\n', 'name:\n  - foo\n', lit('"name" header must be a string')],
  ['username: guy\n', 'username:\n  - foo\n', lit('"username" header must be a string')],
  ['username: guy\n', 'username: bäää\n', lit('"username" header contains invalid characters: "bäää"')],
  ['username: guy\n', 'username: -guy\n', lit('"username" header contains invalid characters: "-guy"')],
  ['username: guy\n', '', lit('"username" header is mandatory')],
  [pwLine, 'password:\n  - foo\n', lit('"password" header must be a string')],
  [pwLine, 'password: cleartext\n', lit('"password" header invalid: hashed password must be of the form "$integer-id$salt$hash", see crypt(3)')],
  [pwLine, 'password: $ni!$salt$hash\n', lit('"password" header must start with "$integer-id$", got "ni!"')],
  [pwLine, 'password: $3$salt$hash\n', lit('"password" header only supports $id$ values of 6 (sha512crypt) or higher')],
  [pwLine, 'password: $7$invalid-salt$hash\n', lit('"password" header has invalid chars in salt "invalid-salt"')],
  [pwLine, 'password: $8$salt$invalid-hash\n', lit('"password" header has invalid chars in hash "invalid-hash"')],
  [pwLine, 'password: $8$rounds=9999$hash\n', lit('"password" header invalid: missing hash field')],
  [pwLine, 'password: $8$rounds=xxx$salt$hash\n', lit('"password" header has invalid number of rounds: strconv.Atoi: parsing "xxx": invalid syntax')],
  [pwLine, 'password: $8$rounds=1$salt$hash\n', lit('"password" header rounds parameter out of bounds: 1')],
  [pwLine, 'password: $8$rounds=1999999999$salt$hash\n', lit('"password" header rounds parameter out of bounds: 1999999999')],
  [pwLine, 'force-password-change: true\n', lit('cannot use "force-password-change" with an empty "password"')],
  [pwLine, `${pwLine}force-password-change: xxx\n`, lit(`"force-password-change" header must be 'true' or 'false'`)],
  [sinceLine, '', lit('"since" header is mandatory')],
  [sinceLine, 'since: \n', lit('"since" header should not be empty')],
  [sinceLine, 'since: 12:30\n', lit('"since" header is not a RFC3339 date: ') + '.*'],
  [untilLine, 'until: \n', lit('"until" header should not be empty')],
  [untilLine, 'until: 12:30\n', lit('"until" header is not a RFC3339 date: ') + '.*'],
  [untilLine, 'until: 1002-11-01T22:08:41+00:00\n', lit(`'until' time cannot be before 'since' time`)],
  [modelsLine, `${modelsLine}serials: \n`, lit('"serials" header must be a list of strings')],
  [modelsLine, `${modelsLine}serials: something\n`, lit('"serials" header must be a list of strings')],
  [modelsLine, `${modelsLine}serials:\n  - 7c7f435d-ed28-4281-bd77-e271e0846904\n`, lit('the "serials" header is only supported for format 1 or greater')],
];

test('invalid system-users are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, rows);
});

// TestUntilNoModels / TestUntilWithModels: without models, at most a year.
test('without models, until may be at most one year after since (in since\'s own zone)', () => {
  const noModels = mutate(valid, modelsLine, '');
  const until = (u: string) => mutate(noModels, untilLine, `until: ${u}\n`);
  assert.ok(decode(until('2025-01-01T00:00:00Z')), 'exactly one year');
  const tooLong = lit(`'until' time cannot be more than 365 days in the future when no models are specified`);
  assertDecodeFails(until('2025-01-01T00:00:01Z'), PREFIX, tooLong);
  assert.ok(decode(mutate(valid, untilLine, 'until: 2034-01-01T00:00:00Z\n')), 'with models it can be valid for longer');
  // A leap day: Go adds the year to the wall clock of since's zone (Feb 29 -> Mar 1).
  const leap = (since: string, u: string) => mutate(mutate(noModels, sinceLine, `since: ${since}\n`), untilLine, `until: ${u}\n`);
  assert.ok(decode(leap('2024-02-29T23:00:00-02:00', '2025-03-02T01:00:00Z')));
  assertDecodeFails(leap('2024-02-29T23:00:00-02:00', '2025-03-02T01:00:01Z'), PREFIX, tooLong);
  assertDecodeFails(leap('2024-02-29T23:00:00Z', '2025-03-02T01:00:00Z'), PREFIX, tooLong);
});

// Format 1: serials (TestDecodeInvalidFormat1Serials, TestDecodeOKFormat1Serials, TestSuggestedFormat).
test('format 1 adds serials, with exactly one model', () => {
  const serialsLine = 'serials:\n  - 7c7f435d-ed28-4281-bd77-e271e0846904\n';
  const f1 = signedText(SystemUserType, { ...headers, format: '1', serials: ['7c7f435d-ed28-4281-bd77-e271e0846904'] }, { key: 'brand' });
  assert.match(f1, /^type: system-user\nformat: 1\n/);
  assert.deepEqual(data(decode(f1)).serials, ['7c7f435d-ed28-4281-bd77-e271e0846904']);
  assert.ok(f1.includes(serialsLine));
  assertDecodeFails(mutate(f1, modelsLine, 'models:\n  - m1\n  - m2\n'), PREFIX, lit('in the presence of the "serials" header "models" must specify exactly one model'));
  assertDecodeFails(mutate(f1, modelsLine, ''), PREFIX, lit('in the presence of the "serials" header "models" must specify exactly one model'));
  assert.equal(SystemUserType.suggestFormat!(parseHeaders('email: x'), undefined), 0);
  assert.equal(SystemUserType.suggestFormat!(parseHeaders('serials:\n  - serialserial'), undefined), 1);
  assert.throws(
    () => sign(SystemUserType, { headers: { ...headers, serials: ['s1'] } }, vectorKey('brand'), SIGNED_AT),
    (err: unknown) => err instanceof AssertionError && /format set to 0 lower than min format 1/.test(err.message),
  );
});

// TestValidAt / TestValidAtRevoked
test('validity window [since, until); since == until revokes', () => {
  const d = data(decode(valid));
  assert.ok(systemUserValidAt(d, d.since));
  assert.ok(!systemUserValidAt(d, new Date(d.since.getTime() - 1)));
  assert.ok(!systemUserValidAt(d, d.until));
  const revoked = data(decode(mutate(valid, sinceLine, `since: ${UNTIL}\n`)));
  assert.ok(!systemUserValidAt(revoked, revoked.since));
});

test('the snapd-made vector decodes into the typed data', () => {
  const entry = vectorIndex.vectors.find((v) => v.file === 'system-user.system-user')!;
  const d = data(decode(vectorBytes(entry.file)));
  assert.equal(d.email, entry.headers['email']);
  assert.equal(d.username, entry.headers['username']);
  assert.equal(d.name, entry.headers['name']);
  assert.deepEqual(d.models, entry.headers['models']);
  assert.deepEqual(d.series, entry.headers['series']);
  assert.deepEqual(d.sshKeys, entry.headers['ssh-keys']);
  assert.deepEqual(d.since, new Date(entry.headers['since'] as string));
  assert.deepEqual(d.until, new Date(entry.headers['until'] as string));
});
