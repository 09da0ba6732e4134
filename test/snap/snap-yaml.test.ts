// snap.yaml: one valid example and a table of mutations, each with the error
// snapd gives (snapd 2.57.6 wording).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSnapYaml, parseEpoch, snapFileName, versionError, snapNameError } from '../../src/snap/snap-yaml.ts';
import { SnapYamlError } from '../../src/snap/errors.ts';

const VALID = `name: hello-pack
version: "1.0"
summary: s
description: d
base: core22
grade: stable
confinement: strict
architectures: [amd64]
epoch: 1*
plugs:
  home-plug: home
  data:
    interface: content
    target: $SNAP/data
slots:
  dbus-svc:
    interface: dbus
    bus: session
apps:
  hello:
    command: bin/hello --flag
    plugs: [home-plug, network]
  svc:
    command: bin/svc
    daemon: simple
    restart-condition: on-failure
    stop-mode: sigterm
    after: [svc2]
  svc2:
    command: bin/svc2
    daemon: notify
    daemon-scope: user
hooks:
  configure:
    plugs: [network]
  not-a-known-hook: {}
`;

test('a valid snap.yaml parses to typed values', () => {
  const y = parseSnapYaml(VALID);
  assert.equal(y.name, 'hello-pack');
  assert.equal(y.version, '1.0');
  assert.equal(y.type, 'app');
  assert.equal(y.base, 'core22');
  assert.equal(y.confinement, 'strict');
  assert.equal(y.grade, 'stable');
  assert.deepEqual(y.architectures, ['amd64']);
  assert.deepEqual(y.epoch, { read: [0, 1], write: [1] });
  assert.deepEqual(Object.keys(y.apps), ['hello', 'svc', 'svc2']);
  assert.equal(y.apps['svc']!.daemonScope, 'system');
  assert.equal(y.apps['svc2']!.daemonScope, 'user');
  assert.deepEqual(Object.keys(y.hooks), ['configure']);
  assert.equal(y.plugs['data']!.interface, 'content');
  assert.equal(y.plugs['data']!.attrs['target'], '$SNAP/data');
  assert.equal(y.slots['dbus-svc']!.interface, 'dbus');
  assert.equal(snapFileName(y), 'hello-pack_1.0_amd64.snap');
});

test('defaults: type app, confinement strict, grade stable, architectures all, epoch 0; version 1.0 unquoted stays "1.0"', () => {
  const y = parseSnapYaml('name: ab\nversion: 1.0\n');
  assert.deepEqual([y.type, y.confinement, y.grade, y.architectures, y.epoch, y.version], ['app', 'strict', 'stable', ['all'], { read: [0], write: [0] }, '1.0']);
  assert.equal(parseSnapYaml('name: snapd\nversion: 1\n').type, 'snapd');
  assert.equal(parseSnapYaml('name: ab\nversion: 1\ntype: application\n').type, 'app');
  assert.equal(snapFileName(parseSnapYaml('name: ab\nversion: 1\narchitectures: [amd64, arm64]\n')), 'ab_1_multi.snap');
  assert.equal(snapFileName(parseSnapYaml('name: ab\nversion: 1\n')), 'ab_1_all.snap');
});

function mutate(from: string, to: string): string {
  assert.ok(VALID.includes(from), `mutation source ${JSON.stringify(from)} is in the example`);
  return VALID.replace(from, to);
}

const INVALID: [string, string, RegExp][] = [
  ['name: hello-pack\n', '', /snap name cannot be empty/],
  ['name: hello-pack', 'name: Hello', /invalid snap name: "Hello"/],
  ['name: hello-pack', 'name: a', /invalid snap name: "a"/],
  ['name: hello-pack', 'name: hello--pack', /invalid snap name/],
  ['name: hello-pack', 'name: 1234', /invalid snap name/],
  ['name: hello-pack', `name: ${'a'.repeat(41)}`, /invalid snap name/],
  ['version: "1.0"', 'version: ""', /invalid snap version: cannot be empty/],
  ['version: "1.0"', 'version: "1.0 beta"', /must be printable, non-whitespace ASCII/],
  ['version: "1.0"', 'version: "-1.0"', /must start with an ASCII alphanumeric \(and not '-'\)/],
  ['version: "1.0"', 'version: "1.0."', /must end with an ASCII alphanumeric or one of '\+' or '~' \(and not '\.'\)/],
  ['version: "1.0"', `version: "${'1'.repeat(33)}"`, /cannot be longer than 32 characters \(got: 33\)/],
  ['version: "1.0"', 'version: "1_0_0"', /contains invalid characters: "_", "_"/],
  ['summary: s', 'type: core', /invalid snap type: "core"/],
  ['confinement: strict', 'confinement: loose', /invalid confinement type: "loose"/],
  ['grade: stable', 'grade: beta', /invalid grade: "beta"/],
  ['epoch: 1*', 'epoch: 0*', /0\* is an invalid epoch/],
  ['epoch: 1*', 'epoch: 01', /base 10 with no zero padding/],
  ['epoch: 1*', 'epoch: {read: [], write: [1]}', /cannot be explicitly empty/],
  ['epoch: 1*', 'epoch: {read: [2, 1]}', /strictly increasing/],
  ['epoch: 1*', 'epoch: {read: [1, 2], write: [3]}', /non-empty intersection/],
  ['epoch: 1*', 'epoch: 4294967296', /less than 2³²/],
  ['base: core22', 'base: core22\ntype: base', /cannot have "base" field on "base" snap "hello-pack"/],
  ['base: core22', 'base: core22_x', /base cannot specify a snap instance name/],
  ['base: core22', 'base: Core', /invalid base name: invalid snap name: "Core"/],
  ['base: core22', 'base: none', /cannot have apps or hooks with base "none"/],
  ['  hello:\n', '  hello_world:\n', /cannot have "hello_world" as app name/],
  ['command: bin/hello --flag', 'command: "bin/hello \'x\'"', /app description field 'command' contains illegal/],
  ['daemon: simple', 'daemon: always', /"daemon" field contains invalid value "always"/],
  ['daemon-scope: user', 'daemon-scope: group', /invalid "daemon-scope": "group"/],
  ['    plugs: [home-plug, network]', '    plugs: [home-plug, network]\n    daemon-scope: user', /"daemon-scope" can only be set for daemons/],
  ['stop-mode: sigterm', 'stop-mode: sigkill', /"stop-mode" field contains invalid value "sigkill"/],
  ['restart-condition: on-failure', 'restart-condition: sometimes', /invalid restart condition/],
  ['after: [svc2]', 'after: [hello]', /after references non-service application "hello"/],
  ['after: [svc2]', 'after: [nope]', /after references unknown application "nope"/],
  ['  home-plug: home', '  Home: home', /invalid plug name: "Home"/],
  ['  home-plug: home', '  home-plug: Home', /invalid interface name "Home" for plug "home-plug"/],
  ['  dbus-svc:', '  home-plug:', /cannot have plug and slot with the same name: "home-plug"/],
  ['  configure:', '  Configure:', /invalid hook name: "Configure"/],
  ['summary: s', 'summary: s\nlayouts: {}', /typo detected/],
  ['summary: s', `title: ${'t'.repeat(41)}`, /title can have up to 40 codepoints, got 41/],
  ['summary: s', 'provenance: global-upload', /provenance cannot be set to default/],
  ['name: hello-pack', 'name: [a, b]', /"name" must be a string/],
];

test('invalid snap.yaml: snapd rules with snapd-shaped messages', () => {
  for (const [from, to, re] of INVALID) {
    assert.throws(
      () => parseSnapYaml(mutate(from, to)),
      (e: unknown) => e instanceof SnapYamlError && e.code === 'snap-yaml-invalid' && re.test(e.message),
      `${JSON.stringify(to)} should fail with ${re}`,
    );
  }
});

test('not YAML, not a map, aliases bomb', () => {
  assert.throws(() => parseSnapYaml('name: [unclosed\n'), /cannot parse snap.yaml/);
  assert.throws(() => parseSnapYaml('- a\n- b\n'), /not a map/);
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 12; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`);
  assert.throws(() => parseSnapYaml(`name: ab\nversion: 1\n${bomb.join('\n')}\n`), SnapYamlError);
});

test('helpers: versions, names, epochs', () => {
  assert.equal(versionError('1.0+git~x'), undefined);
  assert.equal(snapNameError('core22'), undefined);
  assert.deepEqual(parseEpoch({ read: ['1', '2'] }), { read: [1, 2], write: [2] });
  assert.deepEqual(parseEpoch({ write: ['3'] }), { read: [3], write: [3] });
});
