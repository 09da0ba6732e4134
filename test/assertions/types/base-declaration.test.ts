import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaseDeclarationType, assertionType, decode, type BaseDeclarationData } from '../../../src/assertions/index.ts';
import { checkInvalidRows, consistency, fakeView, lit, signedText } from './helpers.ts';

const TS = '2016-09-29T19:50:49Z';
const valid = signedText(BaseDeclarationType, {
  'authority-id': 'vectors-root',
  series: '16',
  plugs: { interface1: 'true' },
  slots: { interface2: 'true', network: { 'allow-installation': { 'slot-snap-type': ['core'] } } },
  timestamp: TS,
});

test('base-declaration is registered, as in snapd 2.57.6, and decodes into rules', () => {
  assert.equal(assertionType('base-declaration'), BaseDeclarationType);
  const a = decode(valid);
  assert.ok(a.is(BaseDeclarationType));
  const d: BaseDeclarationData = a.data;
  assert.equal(d.series, '16');
  assert.deepEqual(d.timestamp, new Date(TS));
  assert.deepEqual([...d.plugRules.keys()], ['interface1']);
  assert.deepEqual(d.slotRules.get('network')!.allowInstallation[0]!.slotSnapTypes, ['core']);
  assert.equal(d.plugRules.get('interface1')!.allowAutoConnection[0]!.slotAttributes.kind, 'always');
  assert.equal(BaseDeclarationType.maxFormat, 0, 'no format analysis for base-declaration');
});

// snapd asserts/snap_asserts_test.go, baseDeclSuite.TestDecodeInvalid
test('invalid base-declarations are rejected with snapd messages', () => {
  const tsLine = `timestamp: ${TS}\n`;
  const slots = 'slots:\n  interface2: true\n  network:\n    allow-installation:\n      slot-snap-type:\n        - core\n';
  checkInvalidRows(valid, 'assertion base-declaration: ', [
    ['series: 16\n', '', lit('"series" header is mandatory')],
    ['series: 16\n', 'series: \n', lit('"series" header should not be empty')],
    ['plugs:\n  interface1: true\n', 'plugs: \n', lit('"plugs" header must be a map')],
    ['plugs:\n  interface1: true\n', 'plugs:\n  intf1:\n    foo: bar\n', lit('plug rule for interface "intf1" must specify at least one of') + '.*'],
    [slots, 'slots: \n', lit('"slots" header must be a map')],
    [slots, 'slots:\n  intf1:\n    foo: bar\n', lit('slot rule for interface "intf1" must specify at least one of') + '.*'],
    ['        - core\n', '        - snapd\n', lit('slot-snap-type in allow-installation in slot rule for interface "network" contains an invalid element: "snapd"')],
    [tsLine, '', lit('"timestamp" header is mandatory')],
    [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
  ]);
});

// baseDeclSuite.TestBaseDeclarationCheckUntrustedAuthority
test('consistency: signed by a directly trusted authority', () => {
  const a = decode(valid);
  assert.equal(consistency(a, fakeView([])), 'ok');
  assert.equal(
    consistency(a, fakeView([], ['canonical'])),
    'assertion-untrusted: base-declaration assertion for series 16 is not signed by a directly trusted authority: vectors-root',
  );
});
