import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPAIR_MAX_BODY_SIZE, RepairType, decode, decodeStream, type Assertion, type RepairData } from '../../../src/assertions/index.ts';
import { assertDecodeFails, checkInvalidRows, consistency, fakeView, lit, mutate, signedText, type InvalidRow } from './helpers.ts';

const PREFIX = 'assertion repair: ';
const TS = '2024-01-15T10:00:00Z';
const script = '#!/bin/sh\nset -e\necho "Unpack embedded payload"\n\nexit 0\n';
const headers = {
  'authority-id': 'acme',
  'brand-id': 'acme',
  summary: 'example repair',
  architectures: ['amd64', 'arm64'],
  'repair-id': '42',
  series: ['16'],
  models: ['acme/frobinator'],
  bases: ['core20'],
  modes: ['run'],
  timestamp: TS,
};
const valid = signedText(RepairType, headers, { key: 'brand', body: script });

function data(a: Assertion): RepairData {
  assert.ok(a.is(RepairType));
  return a.data;
}

test('decodes into typed data, the body being the script', () => {
  const d = data(decode(valid));
  assert.deepEqual({ ...d, script: d.script?.toString() }, {
    brandId: 'acme',
    repairId: 42,
    summary: 'example repair',
    series: ['16'],
    models: ['acme/frobinator'],
    architectures: ['amd64', 'arm64'],
    modes: ['run'],
    bases: ['core20'],
    disabled: false,
    timestamp: new Date(TS),
    script,
  });
  assert.equal(RepairType.sequenceForming, true);
  assert.equal(consistency(decode(valid), fakeView([])), 'ok', 'checks happen when the repair runs');
});

// TestDisabled
test('disabled is an optional boolean', () => {
  assert.equal(data(decode(mutate(valid, 'series:', 'disabled: true\nseries:'))).disabled, true);
  assert.equal(data(decode(mutate(valid, 'series:', 'disabled: false\nseries:'))).disabled, false);
  assertDecodeFails(mutate(valid, 'series:', 'disabled: foo\nseries:'), PREFIX, lit(`"disabled" header must be 'true' or 'false'`));
});

// TestDecodeModesAndBases
test('modes and bases', () => {
  const make = (bases: string[], modes: string[]) => signedText(RepairType, { ...headers, bases, modes }, { key: 'brand' });
  const ok: Array<[string[], string[]]> = [
    [['core20'], ['run']],
    [['core20'], ['recover']],
    [['core20'], ['recover', 'run']],
    [['core22'], ['run']],
    [['core20', 'core22'], ['run', 'recover']],
    [[], ['run']],
    [['core20'], []],
    [['core18'], []],
    [['core'], []],
  ];
  for (const [bases, modes] of ok) {
    const d = data(decode(make(bases, modes)));
    assert.deepEqual([d.bases, d.modes], [bases, modes]);
  }
  const base = make(['core20'], ['run']);
  const invalidMode = (m: string) => lit(`header "modes" contains an invalid element: "${m}" (valid values are run and recover)`);
  const recovery = lit('in the presence of a non-empty "modes" header, "bases" must only contain base snaps supporting recovery modes');
  checkInvalidRows(base, PREFIX, [
    ['  - run\n', '  - not-a-real-uc20-mode\n', invalidMode('not-a-real-uc20-mode')],
    ['  - run\n', '  - run\n  - not-a-real-uc20-mode\n', invalidMode('not-a-real-uc20-mode')],
    ['  - run\n', '  - install\n', invalidMode('install')],
    ['  - core20\n', '  - core18\n', recovery],
    ['  - core20\n', '  - core\n', recovery],
    ['  - core20\n', '  - core16\n', recovery],
    ['  - core20\n', '  - foo....bar\n', lit('invalid snap name "foo....bar" in "bases"')],
  ]);
});

// TestDecodeInvalid
const tsLine = `timestamp: ${TS}\n`;
const rows: InvalidRow[] = [
  ['series:\n  - 16\n', 'series: \n', lit('"series" header must be a list of strings')],
  ['series:\n  - 16\n', 'series: something\n', lit('"series" header must be a list of strings')],
  ['architectures:\n  - amd64\n  - arm64\n', 'architectures: foo\n', lit('"architectures" header must be a list of strings')],
  ['models:\n  - acme/frobinator\n', 'models: \n', lit('"models" header must be a list of strings')],
  ['models:\n  - acme/frobinator\n', 'models: something\n', lit('"models" header must be a list of strings')],
  ['repair-id: 42\n', 'repair-id: no-number\n', lit('"repair-id" header is not an integer: no-number')],
  ['repair-id: 42\n', 'repair-id: 0\n', lit('"repair-id" must be >=1: 0')],
  ['repair-id: 42\n', 'repair-id: 01\n', lit('"repair-id" header has invalid prefix zeros: 01')],
  ['repair-id: 42\n', 'repair-id: 99999999999999999999\n', lit('"repair-id" header is out of range: 99999999999999999999')],
  ['brand-id: acme\n', 'brand-id: brand-id-not-eq-authority-id\n', lit('authority-id and brand-id must match, repair assertions are expected to be signed by the brand: "acme" != "brand-id-not-eq-authority-id"')],
  ['summary: example repair\n', '', lit('"summary" header is mandatory')],
  ['summary: example repair\n', 'summary: \n', lit('"summary" header should not be empty')],
  ['summary: example repair\n', 'summary:\n    multi\n    line\n', lit('"summary" header cannot have newlines')],
  [tsLine, '', lit('"timestamp" header is mandatory')],
  [tsLine, 'timestamp: \n', lit('"timestamp" header should not be empty')],
  [tsLine, 'timestamp: 12:30\n', lit('"timestamp" header is not a RFC3339 date: ') + '.*'],
];

test('invalid repairs are rejected with snapd messages', () => {
  checkInvalidRows(valid, PREFIX, rows);
});

test('snap-repair body limit: 24 MiB instead of the stream default of 2 MiB', () => {
  assert.equal(REPAIR_MAX_BODY_SIZE, 24 * 1024 * 1024);
  const big = 'x'.repeat(3 * 1024 * 1024);
  const text = signedText(RepairType, headers, { key: 'brand', body: big });
  assert.throws(() => decodeStream(text), /exceeds maximum body size/);
  const [a] = decodeStream(text, { maxBodySize: { repair: REPAIR_MAX_BODY_SIZE } });
  assert.equal(data(a!).script?.length, big.length);
});
