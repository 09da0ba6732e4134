import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderError, compileInterfaceRules, compilePlugRule, compileSlotRule, parseHeaders, ruleHas } from '../../../src/assertions/index.ts';

const plugRule = (stanza: string) => compilePlugRule('iface', parseHeaders(stanza)['iface']!);

test('rule shortcuts: true allows, false denies, for every subrule', () => {
  const yes = compilePlugRule('iface', 'true');
  const no = compilePlugRule('iface', 'false');
  for (const f of ['allowInstallation', 'allowConnection', 'allowAutoConnection'] as const) {
    assert.equal(yes[f][0]!.plugAttributes.kind, 'always');
    assert.equal(no[f][0]!.plugAttributes.kind, 'never');
  }
  for (const f of ['denyInstallation', 'denyConnection', 'denyAutoConnection'] as const) {
    assert.equal(yes[f][0]!.plugAttributes.kind, 'never');
    assert.equal(no[f][0]!.plugAttributes.kind, 'always');
  }
  assert.equal(compileSlotRule('iface', 'false').allowAutoConnection[0]!.slotsPerPlug, 1);
});

// snapd asserts/ifacedecls_test.go, TestCompilePlugRuleAllAllowDenyOrStanzas and the side arity tests
test('alternatives, ids, on-classic and side arity normalization', () => {
  const rule = plugRule(`iface:
  allow-installation:
    -
      plug-snap-type:
        - app
      plug-snap-id:
        - snapidsnapidsnapidsnapidsnapid01
    -
      on-classic:
        - ubuntu
        - debian
  deny-installation:
    plug-attributes:
      a: $MISSING
  allow-connection:
    slots-per-plug: 3
    plugs-per-slot: 2
  allow-auto-connection:
    -
      slots-per-plug: *
    -
      slots-per-plug: 5
    -
      slot-publisher-id:
        - $PLUG_PUBLISHER_ID
  deny-auto-connection:
    on-classic: false`);
  assert.deepEqual(rule.allowInstallation.map((c) => [c.plugSnapTypes, c.plugSnapIds, c.onClassic]), [
    [['app'], ['snapidsnapidsnapidsnapidsnapid01'], undefined],
    [[], [], { classic: true, systemIds: ['ubuntu', 'debian'] }],
  ]);
  assert.equal(rule.denyInstallation[0]!.plugAttributes.kind, 'map');
  assert.deepEqual([rule.allowConnection[0]!.slotsPerPlug, rule.allowConnection[0]!.plugsPerSlot], ['*', '*']);
  assert.deepEqual(rule.allowAutoConnection.map((c) => c.slotsPerPlug), ['*', 1, 1]);
  assert.deepEqual(rule.allowAutoConnection[2]!.slotPublisherIds, ['$PLUG_PUBLISHER_ID']);
  assert.deepEqual(rule.denyAutoConnection[0]!.onClassic, { classic: false, systemIds: [] });
  assert.equal(rule.denyAutoConnection[0]!.plugsPerSlot, undefined);
});

// TestPlugRuleFeatures / TestSlotRuleFeatures
test('rule features used for format selection', () => {
  const attrs = plugRule('iface:\n  allow-connection:\n    plug-attributes:\n      a: ATTR');
  for (const f of ['dollar-attr-constraints', 'device-scope-constraints', 'name-constraints', 'alt-attr-matcher'] as const) assert.ok(!ruleHas(attrs, f));
  assert.ok(ruleHas(plugRule('iface:\n  deny-installation:\n    plug-attributes:\n      a: $MISSING'), 'dollar-attr-constraints'));
  assert.ok(ruleHas(plugRule('iface:\n  allow-connection:\n    slot-attributes:\n      a:\n        - $SLOT(a)'), 'dollar-attr-constraints'));
  for (const k of ['on-store:\n      - s', 'on-brand:\n      - br', 'on-model:\n      - br/m']) {
    assert.ok(ruleHas(plugRule(`iface:\n  deny-auto-connection:\n    ${k}`), 'device-scope-constraints'));
  }
  assert.ok(ruleHas(plugRule('iface:\n  allow-installation:\n    plug-names:\n      - foo'), 'name-constraints'));
  assert.ok(ruleHas(compileSlotRule('iface', parseHeaders('iface:\n  allow-connection:\n    plug-names:\n      - foo')['iface']!), 'name-constraints'));
  assert.ok(ruleHas(plugRule('iface:\n  allow-connection:\n    plug-attributes:\n      a:\n        - x\n        - y'), 'alt-attr-matcher'));
});

test('plugs and slots stanzas must be maps', () => {
  assert.throws(() => compileInterfaceRules({ plugs: 'x' }), (err: unknown) => err instanceof HeaderError && err.message === '"plugs" header must be a map');
  assert.throws(() => compileInterfaceRules({ slots: ['x'] }), (err: unknown) => err instanceof HeaderError && err.message === '"slots" header must be a map');
  const { plugRules, slotRules } = compileInterfaceRules(parseHeaders('plugs:\n  a: true\n  b: false\nslots:\n  constructor: true'));
  assert.deepEqual([...plugRules.keys()], ['a', 'b']);
  assert.equal(slotRules.get('constructor')!.interface, 'constructor', 'interface names are map keys, not object properties');
});

test('the "at least one" check quirk: installation constraints with unknown keys only', () => {
  assert.equal(plugRule('iface:\n  allow-installation:\n    foo: bar').allowInstallation[0]!.plugAttributes.kind, 'always');
  assert.throws(() => plugRule('iface:\n  allow-connection:\n    foo: bar'), /must specify at least one of/);
});
