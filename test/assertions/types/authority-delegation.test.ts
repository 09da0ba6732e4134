import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError, AuthorityDelegationType, assertionType, decode, type Assertion, type AuthorityDelegationData } from '../../../src/assertions/index.ts';
import { account, assembleUnregistered, fakeView, lit, mutate } from './helpers.ts';

const assertionsLines =
  'assertions:\n  -\n    type: snap-revision\n    headers:\n      snap-id:\n        - snap-id-1\n        - snap-id-2\n      provenance: prov-key1\n' +
  '    since: 2022-01-12T00:00:00.0Z\n    until: 2032-01-01T00:00:00.0Z\n';
const valid =
  'type: authority-delegation\nauthority-id: canonical\naccount-id: canonical\ndelegate-id: acc-id1\n' +
  assertionsLines +
  'sign-key-sha3-384: Jv8_JiHiIzJVcO9M55pPdqSDWUvuhfDIBJUS-3VW7F_idjix7Ffn5qMxB21ZQuij\n\nAXNpZw==';

test('not registered: decoding fails like snapd 2.57.6', () => {
  assert.equal(assertionType('authority-delegation'), undefined);
  assert.throws(
    () => decode(valid),
    (err: unknown) => err instanceof AssertionError && err.code === 'assertion-unknown-type' && err.message === 'unknown assertion type: "authority-delegation"',
  );
});

test('the opt-in type assembles typed constraints', () => {
  const d = assembleUnregistered(AuthorityDelegationType, valid);
  assert.equal(d.accountId, 'canonical');
  assert.equal(d.delegateId, 'acc-id1');
  assert.equal(d.assertions.length, 1);
  const [c] = d.assertions;
  assert.equal(c!.type, 'snap-revision');
  assert.deepEqual(c!.since, new Date('2022-01-12T00:00:00Z'));
  assert.deepEqual(c!.until, new Date('2032-01-01T00:00:00Z'));
  assert.deepEqual(c!.headers, {
    kind: 'map',
    entries: new Map<string, unknown>([
      ['snap-id', { kind: 'alternatives', alternatives: [{ kind: 'regexp', pattern: 'snap-id-1' }, { kind: 'regexp', pattern: 'snap-id-2' }] }],
      ['provenance', { kind: 'regexp', pattern: 'prov-key1' }],
    ]),
  });
  const noHeaders = assembleUnregistered(AuthorityDelegationType, mutate(valid, '    headers:\n      snap-id:\n        - snap-id-1\n        - snap-id-2\n      provenance: prov-key1\n', ''));
  assert.deepEqual(noHeaders.assertions[0]!.headers, { kind: 'map', entries: new Map() }, 'no header constraints: any assertion of the type');
});

function fails(text: string, expected: string): void {
  assert.throws(
    () => assembleUnregistered(AuthorityDelegationType, text),
    (err: unknown) => {
      assert.ok(err instanceof AssertionError);
      assert.match(err.message, new RegExp(`^assertion authority-delegation: ${expected}$`));
      return true;
    },
  );
}

// snapd asserts/authority_delegation_test.go, TestDecodeInvalid (assembler part; the
// primary key rows are the generic decoder's) and TestDecodeDeviceScope
test('invalid constraints are rejected with snapd messages', () => {
  const hdrs = '    headers:\n      snap-id:\n        - snap-id-1\n        - snap-id-2\n      provenance: prov-key1\n';
  const rows: Array<[string, string, string]> = [
    [assertionsLines, '', lit('assertions constraints are mandatory')],
    [assertionsLines, 'assertions: \n', lit('assertions constraints must be a list of maps')],
    [assertionsLines, 'assertions: foo\n', lit('assertions constraints must be a list of maps')],
    [assertionsLines, 'assertions:\n  foo: bar\n', lit('assertions constraints must be a list of maps')],
    [assertionsLines, 'assertions:\n  - foo\n', lit('assertions constraints must be a list of maps')],
    ['    type: snap-revision\n', '', lit('"type" constraint is mandatory')],
    ['type: snap-revision', 'type: ', lit('"type" constraint should not be empty')],
    ['type: snap-revision', 'type: foo', lit('"foo" is not a valid assertion type')],
    ['type: snap-revision', 'type: 1', lit('"1" is not a valid assertion type')],
    ['type: snap-revision', 'type: authority-delegation', lit('"authority-delegation" is not a valid assertion type')],
    [hdrs, '    headers: \n', lit('"headers" constraint must be a map')],
    [hdrs, '    headers: foo\n', lit('"headers" constraint must be a map')],
    [hdrs, '    headers:\n      provenance: $FOO\n', lit('cannot compile headers constraint: cannot compile "provenance" constraint "$FOO": no $OP() constraints supported')],
    [hdrs, '    headers:\n      provenance: $SLOT(x)\n', lit('cannot compile headers constraint: ') + '.*'],
    [hdrs, '    headers:\n      provenance: [\n', lit('cannot compile headers constraint: cannot compile "provenance" constraint "[": error parsing regexp: missing closing ]: `[)$`')],
    ['    since: 2022-01-12T00:00:00.0Z\n', '', lit('"since" constraint is mandatory')],
    ['    until: 2032-01-01T00:00:00.0Z', '    until: 2012-01-01T00:00:00.0Z', lit(`'until' time cannot be before 'since' time`)],
  ];
  for (const [original, replacement, expected] of rows) fails(mutate(valid, original, replacement), expected);
  for (const scope of ['on-store: store1', 'on-brand: brand-id-1', 'on-model: brand-id-1/model1']) {
    fails(mutate(valid, '    since: ', `    ${scope}\n    since: `), lit('device scope constraints not yet implemented'));
  }
  assert.ok(assembleUnregistered(AuthorityDelegationType, mutate(valid, '      provenance: prov-key1\n', '      provenance: $MISSING\n')));
});

test('prerequisites and consistency', () => {
  const d = assembleUnregistered(AuthorityDelegationType, valid);
  const a = { data: d, authorityId: 'canonical' } as unknown as Assertion<AuthorityDelegationData>;
  assert.deepEqual(AuthorityDelegationType.prerequisites!(a), [
    { type: 'account', primaryKey: ['canonical'] },
    { type: 'account', primaryKey: ['acc-id1'] },
  ]);
  const check = (view: ReturnType<typeof fakeView>) => {
    try {
      AuthorityDelegationType.checkConsistency!(view, a, a);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  const accounts = [account('canonical'), account('acc-id1')];
  assert.equal(check(fakeView(accounts, ['canonical'])), 'ok');
  assert.equal(check(fakeView(accounts, ['other'])), 'authority-delegation assertion for "canonical" is not signed by a directly trusted authority: canonical');
  assert.equal(check(fakeView([accounts[1]!], ['canonical'])), 'authority-delegation assertion for "canonical" does not have a matching account assertion');
  assert.equal(check(fakeView([accounts[0]!], ['canonical'])), 'authority-delegation assertion for "canonical" does not have a matching account assertion for delegated "acc-id1"');
});
