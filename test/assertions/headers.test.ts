import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendEntry, parseHeaders, HeaderError, type HeaderValue } from '../../src/assertions/index.ts';

/** The example of the protocol doc, section 1.2, verified against snapd's encoder and decoder. */
const EXAMPLE = [
  'name: single line value',
  'empty: ',
  'multi:',
  '    line1',
  '    line2',
  'list:',
  '  - a',
  '  -',
  '    - nested-a',
  '    - nested-b',
  '  -',
  '      multi-line',
  '      element',
  'map:',
  '  k1:',
  '    - v1',
  '    -',
  '      deep: d',
  '  k2:',
  '      multi',
  '      line',
  '  k3: ',
].join('\n');

const EXAMPLE_VALUES: Record<string, HeaderValue> = {
  name: 'single line value',
  empty: '',
  multi: 'line1\nline2',
  list: ['a', ['nested-a', 'nested-b'], 'multi-line\nelement'],
  map: { k1: ['v1', { deep: 'd' }], k2: 'multi\nline', k3: '' },
};

function encodeAll(values: Record<string, HeaderValue>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) appendEntry(out, `${k}:`, v, 0);
  return out.join('').slice(1);
}

test('parses every value shape as snapd does', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(parseHeaders(EXAMPLE))), EXAMPLE_VALUES);
});

test('encodes every value shape as snapd does', () => {
  assert.equal(encodeAll(EXAMPLE_VALUES), EXAMPLE);
});

test('a string ending in a newline keeps a last line of indentation only', () => {
  const text = encodeAll({ body: 'a\n' });
  assert.equal(text, 'body:\n    a\n    ');
  assert.deepEqual({ ...parseHeaders(text) }, { body: 'a\n' });
});

test('empty lists and maps disappear on encoding', () => {
  assert.equal(encodeAll({ a: 'x', l: [], m: {}, n: [[], 'y'] }), 'a: x\nn:\n  - y');
});

test('map keys are written in byte order', () => {
  assert.equal(encodeAll({ m: { b: '1', a: '2', 'a-b': '3' } }), 'm:\n  a: 2\n  a-b: 3\n  b: 1');
});

const INVALID: [string, RegExp][] = [
  ['novalue', /header entry missing ':' separator: "novalue"/],
  ['Name: x', /invalid header name: "Name"/],
  ['a-: x', /invalid header name: "a-"/],
  ['name:value', /header entry should have a space or newline \(for multiline\) before value/],
  ['a: 1\na: 2', /repeated header: "a"/],
  ['multi:\n   x', /expected 4 chars nesting prefix after multiline introduction "multi:": " {3}x"/],
  ['multi:\n  x', /map entry missing ':' separator: "x"/],
  ['multi:', /expected 4 chars nesting prefix after multiline introduction "multi:": EOF/],
  ['m:\n  k1: a\n  k1: b', /repeated map entry: "k1"/],
  ['m:\n  K: a', /invalid map entry key: "K"/],
  ['m:\n  kx', /map entry missing ':' separator: "kx"/],
  ['a: x\n\n', /header entry missing ':' separator: ""/],
];

for (const [text, err] of INVALID) {
  test(`rejects ${JSON.stringify(text)}`, () => {
    assert.throws(() => parseHeaders(text), (e: unknown) => e instanceof HeaderError && err.test(e.message));
  });
}

test('bounds nesting instead of recursing without limit', () => {
  let text = 'deep:';
  for (let i = 0; i < 200; i++) text += `\n${' '.repeat(i * 2)}  -`;
  text += ` x`;
  assert.throws(() => parseHeaders(text), /nesting deeper than 64 levels/);
});
