import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssertionError,
  SnapDeclarationType,
  decode,
  parseHeaders,
  revisionAuthorityMismatch,
  sign,
  type Assertion,
  type SnapDeclarationData,
} from '../../../src/assertions/index.ts';
import { vectorBytes, vectorIndex, vectorKey } from '../../helpers/vectors.ts';
import { SIGNED_AT, account, assertDecodeFails, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion snap-declaration: ';
const TS = '2024-01-15T10:00:00Z';

const base = {
  'authority-id': 'vectors-root',
  series: '16',
  'snap-id': 'snap-id-1',
  'snap-name': 'first',
  'publisher-id': 'dev-id1',
  'refresh-control': ['foo', 'bar'],
  'auto-aliases': ['cmd1', 'cmd2'],
  aliases: [{ name: 'cmd_1', target: 'cmd-1' }],
  plugs: { interface1: 'true' },
  slots: { interface2: 'true' },
  format: '1',
  timestamp: TS,
};

const valid = signedText(SnapDeclarationType, base);
const aliases = 'aliases:\n  -\n    name: cmd_1\n    target: cmd-1\n';
const tsLine = `timestamp: ${TS}\n`;

function data(a: Assertion): SnapDeclarationData {
  assert.ok(a.is(SnapDeclarationType));
  return a.data;
}

test('the example decodes into typed data', () => {
  const d = data(decode(valid));
  assert.equal(d.series, '16');
  assert.equal(d.snapId, 'snap-id-1');
  assert.equal(d.snapName, 'first');
  assert.equal(d.publisherId, 'dev-id1');
  assert.deepEqual(d.timestamp, new Date(TS));
  assert.deepEqual(d.refreshControl, ['foo', 'bar']);
  assert.deepEqual(d.autoAliases, ['cmd1', 'cmd2']);
  assert.deepEqual([...d.aliases], [['cmd_1', 'cmd-1']]);
  assert.deepEqual([...d.plugRules.keys()], ['interface1']);
  assert.deepEqual([...d.slotRules.keys()], ['interface2']);
  assert.deepEqual(d.revisionAuthorities, []);
});

test('snap-name may be empty (revoked declaration); refresh-control and aliases are optional', () => {
  const text = signedText(SnapDeclarationType, {
    'authority-id': 'vectors-root',
    series: '16',
    'snap-id': 'snap-id-1',
    'snap-name': '',
    'publisher-id': 'dev-id1',
    timestamp: TS,
  });
  const d = data(decode(text));
  assert.equal(d.snapName, '');
  assert.deepEqual(d.refreshControl, []);
  assert.deepEqual(d.autoAliases, []);
  assert.equal(d.aliases.size, 0);
  assert.equal(d.plugRules.size, 0);
});

test('snapd aliases and auto-aliases syntax', () => {
  const text = signedText(SnapDeclarationType, {
    ...base,
    'auto-aliases': ['cmd1', 'cmd_2', 'Cmd-3', 'CMD.4'],
    aliases: [
      { name: 'cmd1', target: 'cmd-1' },
      { name: 'cmd_2', target: 'cmd-2' },
      { name: 'Cmd-3', target: 'cmd-3' },
      { name: 'CMD.4', target: 'cmd-4' },
    ],
  });
  const d = data(decode(text));
  assert.deepEqual(d.autoAliases, ['cmd1', 'cmd_2', 'Cmd-3', 'CMD.4']);
  assert.deepEqual(Object.fromEntries(d.aliases), { cmd1: 'cmd-1', cmd_2: 'cmd-2', 'Cmd-3': 'cmd-3', 'CMD.4': 'cmd-4' });
});

// snapd asserts/snap_asserts_test.go, snapDeclSuite.TestDecodeInvalid
const invalidRows: InvalidRow[] = [
  ['series: 16\n', '', lit('"series" header is mandatory')],
  ['series: 16\n', 'series: \n', lit('"series" header should not be empty')],
  ['snap-id: snap-id-1\n', '', lit('"snap-id" header is mandatory')],
  ['snap-id: snap-id-1\n', 'snap-id: \n', lit('"snap-id" header should not be empty')],
  ['snap-id: snap-id-1\n', 'snap-id: a/b\n', lit(`"snap-id" primary key header cannot contain '/'`)],
  ['snap-name: first\n', '', lit('"snap-name" header is mandatory')],
  ['snap-name: first\n', 'snap-name:\n  - x\n', lit('"snap-name" header must be a string')],
  ['publisher-id: dev-id1\n', '', lit('"publisher-id" header is mandatory')],
  ['publisher-id: dev-id1\n', 'publisher-id: \n', lit('"publisher-id" header should not be empty')],
  ['refresh-control:\n  - foo\n  - bar\n', 'refresh-control: foo\n', lit('"refresh-control" header must be a list of strings')],
  ['refresh-control:\n  - foo\n  - bar\n', 'refresh-control:\n  -\n    - nested\n', lit('"refresh-control" header must be a list of strings')],
  ['plugs:\n  interface1: true\n', 'plugs: \n', lit('"plugs" header must be a map')],
  ['plugs:\n  interface1: true\n', 'plugs:\n  intf1:\n    foo: bar\n', lit('plug rule for interface "intf1" must specify at least one of') + '.*'],
  ['slots:\n  interface2: true\n', 'slots: \n', lit('"slots" header must be a map')],
  ['slots:\n  interface2: true\n', 'slots:\n  intf1:\n    foo: bar\n', lit('slot rule for interface "intf1" must specify at least one of') + '.*'],
  ['auto-aliases:\n  - cmd1\n  - cmd2\n', 'auto-aliases: cmd0\n', lit('"auto-aliases" header must be a list of strings')],
  ['auto-aliases:\n  - cmd1\n  - cmd2\n', 'auto-aliases:\n  -\n    - nested\n', lit('"auto-aliases" header must be a list of strings')],
  ['auto-aliases:\n  - cmd1\n  - cmd2\n', 'auto-aliases:\n  - _cmd-1\n  - cmd2\n', lit('"auto-aliases" header contains an invalid element: "_cmd-1"')],
  [aliases, 'aliases: cmd0\n', lit('"aliases" header must be a list of alias maps')],
  [aliases, 'aliases:\n  - cmd1\n', lit('"aliases" header must be a list of alias maps')],
  ['    name: cmd_1\n', '', lit('"name" in "aliases" item 1 is mandatory')],
  ['name: cmd_1\n', 'name: .cmd1\n', lit('"name" in "aliases" item 1 contains invalid characters: ".cmd1"')],
  ['    target: cmd-1\n', '', lit('"target" for alias "cmd_1" is mandatory')],
  ['target: cmd-1\n', 'target: -cmd-1\n', lit('"target" for alias "cmd_1" contains invalid characters: "-cmd-1"')],
  [aliases, `${aliases}  -\n    name: cmd_1\n    target: foo\n`, lit('duplicated definition in "aliases" for alias "cmd_1"')],
  [tsLine, '', lit('"timestamp" header is mandatory')],
  [tsLine, 'timestamp: \n', lit('"timestamp" header should not be empty')],
  [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
];

test('invalid snap-declarations are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, invalidRows);
});

const revAuth =
  'revision-authority:\n  -\n    account-id: delegated-acc-id\n    max-revision: 1000000\n    min-revision: 100\n' +
  '    on-store:\n      - store1\n    provenance:\n      - prov1\n      - prov2\n';

const withRevAuth = signedText(SnapDeclarationType, {
  ...base,
  'revision-authority': [
    { 'account-id': 'delegated-acc-id', provenance: ['prov1', 'prov2'], 'min-revision': '100', 'max-revision': '1000000', 'on-store': ['store1'] },
  ],
});

test('revision-authority decodes with its defaults', () => {
  assert.ok(withRevAuth.includes(revAuth));
  assert.deepEqual(data(decode(withRevAuth)).revisionAuthorities, [
    { accountId: 'delegated-acc-id', provenance: ['prov1', 'prov2'], minRevision: 100, maxRevision: 1000000, deviceScope: { store: ['store1'], brand: [], model: [] } },
  ]);
  const cases: Array<[string, string, { minRevision: number; maxRevision: number }]> = [
    ['    max-revision: 1000000\n', '', { minRevision: 100, maxRevision: 0 }],
    ['    max-revision: 1000000\n    min-revision: 100\n', '    max-revision: 100\n', { minRevision: 1, maxRevision: 100 }],
    ['    max-revision: 1000000\n    min-revision: 100\n', '', { minRevision: 1, maxRevision: 0 }],
  ];
  for (const [original, replacement, expected] of cases) {
    const [ra] = data(decode(mutate(withRevAuth, original, replacement))).revisionAuthorities;
    assert.deepEqual({ minRevision: ra!.minRevision, maxRevision: ra!.maxRevision }, expected);
  }
});

// snapDeclSuite.TestDecodeInvalidWithRevisionAuthority
test('invalid revision-authority entries are rejected', () => {
  checkInvalidRows(withRevAuth, PREFIX, [
    [revAuth, 'revision-authority: x\n', lit('revision-authority stanza must be a list of maps')],
    [revAuth, 'revision-authority:\n  - x\n', lit('revision-authority stanza must be a list of maps')],
    ['    account-id: delegated-acc-id\n', '', lit('"account-id" in revision authority is mandatory')],
    ['account-id: delegated-acc-id\n', 'account-id: *\n', lit('"account-id" in revision authority contains invalid characters: "*"')],
    ['    provenance:\n      - prov1\n      - prov2\n', '    provenance: \n', lit('provenance in revision authority must be a list of strings')],
    ['    provenance:\n      - prov1\n      - prov2\n', '', lit('provenance in revision authority cannot be empty')],
    ['prov2\n', '*\n', lit('provenance in revision authority contains an invalid element: "*"')],
    ['    min-revision: 100\n', '    min-revision: 0\n', lit('"min-revision" in revision authority must be >=1: 0')],
    ['    min-revision: 100\n', '    min-revision: x\n', lit('"min-revision" in revision authority is not an integer: x')],
    ['    max-revision: 1000000\n', '    max-revision: 0\n', lit('"max-revision" in revision authority must be >=1: 0')],
    ['    max-revision: 1000000\n', '    max-revision: 10\n', lit('optional max-revision cannot be less than min-revision in revision-authority')],
    ['    on-store:\n      - store1\n', '    on-store: foo\n', lit('on-store in revision-authority must be a list of strings')],
    ['    on-store:\n      - store1\n', '    on-brand:\n      - Brand!\n', lit('on-brand in revision-authority contains an invalid element: "Brand!"')],
  ]);
});

/** A snap-declaration with the given plugs/slots stanza text (indented under "plugs:"/"slots:"). */
function withStanza(side: 'plugs' | 'slots', stanza: string): string {
  const indented = stanza
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  const original = side === 'plugs' ? 'plugs:\n  interface1: true\n' : 'slots:\n  interface2: true\n';
  return mutate(valid, original, `${side}:\n${indented}\n`);
}

// snapd asserts/ifacedecls_test.go, TestCompilePlugRuleErrors (the slot table mirrors it).
const ruleErrors: ReadonlyArray<[stanza: string, expected: string]> = [
  ['iface: foo', `SIDE rule for interface "iface" must be a map or one of the shortcuts 'true' or 'false'`],
  ['iface:\n  - allow', `SIDE rule for interface "iface" must be a map or one of the shortcuts 'true' or 'false'`],
  ['iface:\n  allow-installation: foo', `allow-installation in SIDE rule for interface "iface" must be a map or one of the shortcuts 'true' or 'false'`],
  ['iface:\n  deny-installation: foo', `deny-installation in SIDE rule for interface "iface" must be a map or one of the shortcuts 'true' or 'false'`],
  ['iface:\n  allow-connection: foo', `allow-connection in SIDE rule for interface "iface" must be a map or one of the shortcuts 'true' or 'false'`],
  ['iface:\n  allow-connection:\n    - foo', 'alternative 1 of allow-connection in SIDE rule for interface "iface" must be a map'],
  ['iface:\n  allow-connection:\n    - true', 'alternative 1 of allow-connection in SIDE rule for interface "iface" must be a map'],
  ['iface:\n  allow-connection:\n    -\n      on-classic: true\n    - false', 'alternative 2 of allow-connection in SIDE rule for interface "iface" must be a map'],
  ['iface:\n  allow-installation:\n    OWN-attributes:\n      a1: [', 'cannot compile OWN-attributes in allow-installation in SIDE rule for interface "iface": cannot compile "a1" constraint "\\[": error parsing regexp: missing closing \\]: `\\[\\)\\$`'],
  ['iface:\n  allow-connection:\n    slot-attributes:\n      a2: [', 'cannot compile slot-attributes in allow-connection in SIDE rule for interface "iface": cannot compile "a2" constraint .*'],
  ['iface:\n  allow-connection:\n    OTHER-snap-id:\n      -\n        foo: 1', 'OTHER-snap-id in allow-connection in SIDE rule for interface "iface" must be a list of strings'],
  ['iface:\n  allow-connection:\n    OTHER-snap-id:\n      - foo', 'OTHER-snap-id in allow-connection in SIDE rule for interface "iface" contains an invalid element: "foo"'],
  ['iface:\n  allow-connection:\n    OTHER-snap-type:\n      - foo', 'OTHER-snap-type in allow-connection in SIDE rule for interface "iface" contains an invalid element: "foo"'],
  ['iface:\n  allow-connection:\n    OTHER-snap-type:\n      - xapp', 'OTHER-snap-type in allow-connection in SIDE rule for interface "iface" contains an invalid element: "xapp"'],
  ['iface:\n  allow-connection:\n    OTHER-publisher-id:\n      - Not_An_Account', 'OTHER-publisher-id in allow-connection in SIDE rule for interface "iface" contains an invalid element: "Not_An_Account"'],
  ['iface:\n  allow-installation:\n    OWN-snap-type:\n      - foo', 'OWN-snap-type in allow-installation in SIDE rule for interface "iface" contains an invalid element: "foo"'],
  ...(['allow-connection', 'deny-connection', 'allow-auto-connection', 'deny-auto-connection'] as const).map(
    (subrule): [string, string] => [
      `iface:\n  ${subrule}:\n    slot-snap-ids:\n      - foo`,
      `${subrule} in SIDE rule for interface "iface" must specify at least one of plug-names, slot-names, plug-attributes, slot-attributes, CONN-IDS, slots-per-plug, plugs-per-slot, on-classic, on-store, on-brand, on-model`,
    ],
  ),
  ['iface:\n  allow-connect: true', 'SIDE rule for interface "iface" must specify at least one of allow-installation, deny-installation, allow-connection, deny-connection, allow-auto-connection, deny-auto-connection'],
  ['iface:\n  allow-installation:\n    on-store: true', 'on-store in allow-installation in SIDE rule for interface "iface" must be a list of strings'],
  ['iface:\n  allow-installation:\n    on-store: store1', 'on-store in allow-installation in SIDE rule for interface "iface" must be a list of strings'],
  ['iface:\n  allow-installation:\n    on-store:\n      - zoom!', 'on-store in allow-installation in SIDE rule for interface "iface" contains an invalid element: "zoom!"'],
  ['iface:\n  allow-connection:\n    on-brand: true', 'on-brand in allow-connection in SIDE rule for interface "iface" must be a list of strings'],
  ['iface:\n  allow-connection:\n    on-brand:\n      - zoom!', 'on-brand in allow-connection in SIDE rule for interface "iface" contains an invalid element: "zoom!"'],
  ['iface:\n  allow-auto-connection:\n    on-model: foo/bar', 'on-model in allow-auto-connection in SIDE rule for interface "iface" must be a list of strings'],
  ['iface:\n  allow-auto-connection:\n    on-model:\n      - foo/!qz', 'on-model in allow-auto-connection in SIDE rule for interface "iface" contains an invalid element: "foo/!qz"'],
  ['iface:\n  allow-auto-connection:\n    -\n      on-classic: true\n    -\n      on-model:\n        - foo/!qz', 'on-model in alternative 2 of allow-auto-connection in SIDE rule for interface "iface" contains an invalid element: "foo/!qz"'],
  ['iface:\n  allow-installation:\n    on-classic: maybe', `on-classic in allow-installation in SIDE rule for interface "iface" must be 'true', 'false' or a list of operating system IDs`],
  ['iface:\n  allow-installation:\n    on-classic:\n      - Ubuntu', 'on-classic in allow-installation in SIDE rule for interface "iface" contains an invalid element: "Ubuntu"'],
  ['iface:\n  allow-installation:\n    slots-per-plug: 1', 'allow-installation in SIDE rule for interface "iface" cannot specify a slots-per-plug constraint, they apply only to allow-\\*connection'],
  ['iface:\n  deny-connection:\n    slots-per-plug: 1', 'deny-connection in SIDE rule for interface "iface" cannot specify a slots-per-plug constraint, they apply only to allow-\\*connection'],
  ['iface:\n  allow-auto-connection:\n    plugs-per-slot: any', 'plugs-per-slot in allow-auto-connection in SIDE rule for interface "iface" must be an integer >=1 or \\*'],
  ['iface:\n  allow-auto-connection:\n    slots-per-plug: 00', 'slots-per-plug in allow-auto-connection in SIDE rule for interface "iface" has invalid prefix zeros: 00'],
  ['iface:\n  allow-auto-connection:\n    slots-per-plug: 99999999999999999999', 'slots-per-plug in allow-auto-connection in SIDE rule for interface "iface" is out of range: 99999999999999999999'],
  ['iface:\n  allow-auto-connection:\n    slots-per-plug: 0', 'slots-per-plug in allow-auto-connection in SIDE rule for interface "iface" must be an integer >=1 or \\*'],
  ['iface:\n  allow-auto-connection:\n    slots-per-plug: -1', 'slots-per-plug in allow-auto-connection in SIDE rule for interface "iface" must be an integer >=1 or \\*'],
  ['iface:\n  allow-auto-connection:\n    slots-per-plug:\n      what: 1', 'slots-per-plug in allow-auto-connection in SIDE rule for interface "iface" must be an integer >=1 or \\*'],
  ['iface:\n  allow-auto-connection:\n    plug-names: true', 'plug-names constraints must be a list of regexps and special \\$ values'],
  ['iface:\n  allow-auto-connection:\n    slot-names: true', 'slot-names constraints must be a list of regexps and special \\$ values'],
  // nameConstraintsSuite.TestCompileErrors
  ['iface:\n  allow-connection:\n    slot-names:\n      -\n        foo: bar', 'slot-names constraint entry must be a regexp or special \\$ value'],
  ['iface:\n  allow-connection:\n    plug-names:\n      - [', 'cannot compile plug-names constraint entry "\\[":.*'],
  ['iface:\n  allow-connection:\n    plug-names:\n      - $', 'plug-names constraint entry special value "\\$" is invalid'],
  ['iface:\n  allow-connection:\n    slot-names:\n      - $12', 'slot-names constraint entry special value "\\$12" is invalid'],
  ['iface:\n  allow-connection:\n    plug-names:\n      - a b', 'plug-names constraint entry regexp contains unexpected spaces'],
  // attrConstraintsSuite / attrMatcherSuite.TestCompileErrors, through the rule
  ...['$', '$FOO(a)', '$SLOT', '$SLOT()', '$SLOT(x,y,z)'].map((wrong): [string, string] => [
    `iface:\n  allow-connection:\n    plug-attributes:\n      foo: ${wrong}`,
    `cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": cannot compile "foo" constraint "${lit(wrong)}": not a valid \\$SLOT\\(\\)/\\$PLUG\\(\\) constraint`,
  ]),
  ['iface:\n  allow-connection:\n    plug-attributes:\n      foo: $SLOT(x,y)', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": cannot compile "foo" constraint "\\$SLOT\\(x,y\\)": \\$SLOT\\(\\) constraint expects 1 argument'],
  ['iface:\n  allow-connection:\n    plug-attributes:\n      foo:\n        - foo\n        - [', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": cannot compile "foo/alt#2/" constraint "\\[": error parsing regexp:.*'],
  ['iface:\n  allow-connection:\n    plug-attributes:\n      foo:\n        - foo\n        -\n          - bar\n          - baz', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": cannot nest alternative constraints directly at "foo/alt#2/"'],
  ['iface:\n  allow-connection:\n    plug-attributes: FOO', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": first level of non alternative constraints must be a set of key-value contraints'],
  ['iface:\n  allow-connection:\n    plug-attributes:\n      - FOO', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": first level of non alternative constraints must be a set of key-value contraints'],
  ['iface:\n  allow-connection:\n    plug-attributes:\n      a:\n        b: (?=x)', 'cannot compile plug-attributes in allow-connection in SIDE rule for interface "iface": cannot compile "a.b" constraint "\\(\\?=x\\)": error parsing regexp: invalid or unsupported Perl syntax: `\\(\\?=`'],
];

for (const side of ['plug', 'slot'] as const) {
  test(`${side} rule structure errors, as snapd's compile tests list them`, () => {
    const other = side === 'plug' ? 'slot' : 'plug';
    for (const [stanza, expected] of ruleErrors) {
      const s = stanza.replaceAll('OWN', side).replaceAll('OTHER', other);
      const e = expected
        .replaceAll('SIDE', side)
        .replaceAll('OWN', side)
        .replaceAll('OTHER', other)
        .replaceAll('CONN-IDS', `${other}-snap-type, ${other}-publisher-id, ${other}-snap-id`);
      assertDecodeFails(withStanza(`${side}s`, s), PREFIX, e);
    }
  });
}

test('installation constraints with only unknown keys are accepted, as in snapd 2.57.6', () => {
  // snapd counts two attribute constraints where installation has one, so its
  // "must specify at least one of" check never fires for installation.
  const d = data(decode(withStanza('plugs', 'iface:\n  allow-installation:\n    foo: bar')));
  const rule = d.plugRules.get('iface')!;
  assert.equal(rule.allowInstallation.length, 1);
  assert.deepEqual(rule.allowInstallation[0]!.plugAttributes, { kind: 'always' });
});

// snapDeclSuite.TestDecodePlugsAndSlots
test('plug and slot rules decode into typed constraints', () => {
  const plugs = {
    interface1: {
      'deny-installation': 'false',
      'allow-auto-connection': {
        'slot-snap-type': ['app'],
        'slot-publisher-id': ['acme'],
        'slot-attributes': { a1: '/foo/.*' },
        'plug-attributes': { b1: 'B1' },
      },
      'deny-auto-connection': { 'slot-attributes': { a1: '!A1' }, 'plug-attributes': { b1: '!B1' } },
    },
    interface2: {
      'allow-installation': 'true',
      'allow-connection': { 'plug-attributes': { a2: 'A2' }, 'slot-attributes': { b2: 'B2' } },
      'deny-connection': {
        'slot-snap-id': ['snapidsnapidsnapidsnapidsnapid01', 'snapidsnapidsnapidsnapidsnapid02'],
        'plug-attributes': { a2: '!A2' },
        'slot-attributes': { b2: '!B2' },
      },
    },
  };
  const slots = {
    interface3: {
      'deny-installation': 'false',
      'allow-auto-connection': { 'plug-snap-type': ['app'], 'plug-publisher-id': ['acme'], 'slot-attributes': { c1: '/foo/.*' } },
    },
    interface4: {
      'allow-installation': { 'slot-snap-type': ['app'], 'slot-attributes': { e1: 'E1' }, 'on-classic': ['ubuntu', 'debian'] },
      'allow-connection': { 'plugs-per-slot': '3', 'slots-per-plug': '2', 'on-brand': ['acme'] },
      'allow-auto-connection': [{ 'slots-per-plug': '*' }, { 'slots-per-plug': '2', 'plug-names': ['$INTERFACE', 'p[0-9]'] }],
    },
  };
  const d = data(decode(signedText(SnapDeclarationType, { ...base, plugs, slots, format: '4' })));
  assert.equal(d.plugRules.get('interfaceX'), undefined);
  const p1 = d.plugRules.get('interface1')!;
  assert.equal(p1.interface, 'interface1');
  assert.deepEqual(p1.denyInstallation[0]!.plugAttributes, { kind: 'never' });
  assert.deepEqual(p1.allowInstallation[0]!.plugAttributes, { kind: 'always' }, 'absent allow subrules default to true');
  const auto = p1.allowAutoConnection[0]!;
  assert.deepEqual(auto.slotSnapTypes, ['app']);
  assert.deepEqual(auto.slotPublisherIds, ['acme']);
  assert.deepEqual(auto.slotAttributes, { kind: 'map', entries: new Map([['a1', { kind: 'regexp', pattern: '/foo/.*' }]]) });
  assert.equal(auto.slotsPerPlug, 1, 'auto-connection slots-per-plug normalizes to 1');
  assert.equal(auto.plugsPerSlot, '*');
  assert.equal(p1.denyAutoConnection[0]!.slotsPerPlug, undefined, 'no arity on deny rules');
  const p2 = d.plugRules.get('interface2')!;
  assert.deepEqual(p2.denyConnection[0]!.slotSnapIds, ['snapidsnapidsnapidsnapidsnapid01', 'snapidsnapidsnapidsnapidsnapid02']);
  assert.deepEqual(p2.denyInstallation[0]!.plugAttributes, { kind: 'never' }, 'absent deny subrules default to false');
  assert.equal(p2.allowConnection[0]!.slotsPerPlug, '*');

  const s3 = d.slotRules.get('interface3')!;
  assert.deepEqual(s3.denyInstallation[0]!.slotAttributes, { kind: 'never' });
  assert.deepEqual(s3.allowAutoConnection[0]!.plugSnapTypes, ['app']);
  assert.deepEqual(s3.allowAutoConnection[0]!.plugPublisherIds, ['acme']);
  const s4 = d.slotRules.get('interface4')!;
  assert.deepEqual(s4.allowInstallation[0]!.slotSnapTypes, ['app']);
  assert.deepEqual(s4.allowInstallation[0]!.onClassic, { classic: true, systemIds: ['ubuntu', 'debian'] });
  assert.equal(s4.allowConnection[0]!.slotsPerPlug, '*', 'connection slots-per-plug is always *');
  assert.equal(s4.allowConnection[0]!.plugsPerSlot, '*', 'plugs-per-slot is always *');
  assert.deepEqual(s4.allowConnection[0]!.deviceScope, { store: [], brand: ['acme'], model: [] });
  assert.equal(s4.allowAutoConnection.length, 2);
  assert.equal(s4.allowAutoConnection[0]!.slotsPerPlug, '*');
  assert.equal(s4.allowAutoConnection[1]!.slotsPerPlug, 1);
  assert.deepEqual(s4.allowAutoConnection[1]!.plugNames, {
    matchers: [
      { kind: 'special', name: '$INTERFACE' },
      { kind: 'regexp', pattern: 'p[0-9]' },
    ],
  });
});

// snapDeclSuite.TestSuggestedFormat
test('suggestFormat picks the lowest format covering the features used', () => {
  const fmt = (text: string) => SnapDeclarationType.suggestFormat!(parseHeaders(text), undefined);
  assert.equal(fmt('snap-name: x'), 0);
  assert.equal(fmt('plugs:\n  interface1: true'), 1);
  assert.equal(fmt('slots:\n  interface2: true'), 1);
  for (const side of ['plugs', 'slots']) {
    assert.equal(fmt(`${side}:\n  i:\n    allow-auto-connection:\n      plug-attributes:\n        x: $SLOT(x)`), 2);
    assert.equal(fmt(`${side}:\n  i:\n    deny-connection:\n      slot-attributes:\n        x: $MISSING`), 2);
    for (const [k, v] of [['on-store', 'store'], ['on-brand', 'brand'], ['on-model', 'brand/model']]) {
      for (const subrule of ['allow-installation', 'allow-connection', 'allow-auto-connection']) {
        assert.equal(fmt(`${side}:\n  i:\n    ${subrule}:\n      ${k}:\n        - ${v}`), 3, `${side} ${subrule} ${k}`);
      }
    }
    for (const names of ['plug-names', 'slot-names']) {
      assert.equal(fmt(`${side}:\n  i:\n    allow-connection:\n      ${names}:\n        - foo`), 4);
    }
    assert.equal(fmt(`${side}:\n  i:\n    allow-installation:\n      ${side.slice(0, 4)}-names:\n        - foo`), 4);
    assert.equal(fmt(`${side}:\n  i:\n    allow-auto-connection:\n      ${side.slice(0, 4)}-attributes:\n        x:\n          - alt1\n          - alt2`), 5);
  }
  // higher format features win, across plugs and slots
  assert.equal(fmt('plugs:\n  i:\n    allow-auto-connection:\n      on-store:\n        - store\nslots:\n  j:\n    allow-auto-connection:\n      plug-attributes:\n        x: $SLOT(x)'), 3);
  assert.throws(() => fmt('plugs: what'), /"plugs" header must be a map/);
  assert.throws(() => fmt('slots: what'), /"slots" header must be a map/);
});

test('signing refuses a format lower than the features need, or above 5', () => {
  const headers = { ...base, plugs: { i: { 'allow-connection': { 'plug-attributes': { x: '$SLOT(x)' } } } } };
  assert.throws(
    () => sign(SnapDeclarationType, { headers }, vectorKey('root'), SIGNED_AT),
    (err: unknown) => err instanceof AssertionError && /format set to 1 lower than min format 2/.test(err.message),
  );
  assert.throws(
    () => sign(SnapDeclarationType, { headers: { ...base, format: '6' } }, vectorKey('root'), SIGNED_AT),
    (err: unknown) => err instanceof AssertionError && /format 6 higher than max supported format 5/.test(err.message),
  );
  assert.ok(decode(signedText(SnapDeclarationType, { ...headers, format: '2' })));
});

test('prerequisites: the publisher account', () => {
  assert.deepEqual(SnapDeclarationType.prerequisites!(decode(valid) as Assertion<SnapDeclarationData>), [{ type: 'account', primaryKey: ['dev-id1'] }]);
});

test('consistency: directly trusted signer and publisher account', () => {
  const a = decode(valid);
  assert.equal(consistency(a, fakeView([account('dev-id1')])), 'ok');
  assert.equal(
    consistency(a, fakeView([account('dev-id1')], ['someone-else'])),
    'assertion-untrusted: snap-declaration assertion for "first" (id "snap-id-1") is not signed by a directly trusted authority: vectors-root',
  );
  assert.equal(
    consistency(a, fakeView([])),
    'assertion-inconsistent: snap-declaration assertion for "first" (id "snap-id-1") does not have a matching account assertion for the publisher "dev-id1"',
  );
});

test('revision authority matching (without device scope)', () => {
  const [ra] = data(decode(withRevAuth)).revisionAuthorities;
  const rev = { provenance: 'prov1', authorityId: 'delegated-acc-id', snapRevision: 200 };
  assert.equal(revisionAuthorityMismatch(ra!, rev), undefined);
  assert.equal(revisionAuthorityMismatch(ra!, { ...rev, provenance: 'prov3' }), 'provenance mismatch');
  assert.equal(revisionAuthorityMismatch(ra!, { ...rev, authorityId: 'other' }), 'authority-id mismatch');
  assert.equal(revisionAuthorityMismatch(ra!, { ...rev, snapRevision: 99 }), 'snap revision 99 is less than min-revision 100');
  assert.equal(revisionAuthorityMismatch(ra!, { ...rev, snapRevision: 1000001 }), 'snap revision 1000001 is greater than max-revision 1000000');
});

test('the snapd-made vector decodes into the typed data', () => {
  const entry = vectorIndex.vectors.find((v) => v.file === 'snap-declaration.snap-declaration')!;
  const d = data(decode(vectorBytes(entry.file)));
  assert.equal(d.snapId, entry.headers['snap-id']);
  assert.equal(d.snapName, entry.headers['snap-name']);
  assert.equal(d.publisherId, entry.headers['publisher-id']);
  assert.deepEqual(d.timestamp, new Date(entry.headers['timestamp'] as string));
  assert.equal(d.series, '16');
});
