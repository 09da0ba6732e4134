import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderError, attributeMatcherHas, compileAttributeMatcher, compileDeviceScopeConstraint, parseHeaders, type HeaderValue } from '../../../src/assertions/index.ts';

const SLOT_PLUG = ['SLOT', 'PLUG'];

function compileError(constraints: HeaderValue, ops: readonly string[] = SLOT_PLUG): string {
  try {
    compileAttributeMatcher(constraints, ops);
  } catch (err) {
    assert.ok(err instanceof HeaderError);
    return err.message;
  }
  return 'ok';
}

// snapd asserts/constraint_test.go, attrMatcherSuite.TestCompileErrors
test('attribute matcher compile errors', () => {
  assert.match(compileError({ foo: '[' }), /^cannot compile "foo" constraint "\[": error parsing regexp: missing closing \]: `\[\)\$`$/);
  assert.match(compileError({ foo: ['foo', '['] }), /^cannot compile "foo\/alt#2\/" constraint "\[": error parsing regexp:/);
  assert.equal(compileError({ foo: ['foo', ['bar', 'baz']] }), 'cannot nest alternative constraints directly at "foo/alt#2/"');
  assert.equal(compileError('FOO'), 'first level of non alternative constraints must be a set of key-value contraints');
  assert.equal(compileError(['FOO']), 'first level of non alternative constraints must be a set of key-value contraints');
  assert.equal(compileError({ foo: '$FOO()' }, []), 'cannot compile "foo" constraint "$FOO()": no $OP() constraints supported');
  for (const wrong of ['$', '$FOO(a)', '$SLOT', '$SLOT()', '$SLOT(x,y,z)']) {
    assert.equal(compileError({ foo: wrong }, ['SLOT', 'OP']), `cannot compile "foo" constraint "${wrong}": not a valid $SLOT()/$OP() constraint`);
  }
  assert.equal(compileError({ foo: '$SLOT(x,y)' }, ['SLOT', 'OP']), 'cannot compile "foo" constraint "$SLOT(x,y)": $SLOT() constraint expects 1 argument');
  assert.equal(compileError({ foo: '$PLUG(x)' }, ['SLOT']), 'cannot compile "foo" constraint "$PLUG(x)": not a valid $SLOT() constraint');
  assert.equal(compileError({ a: { b: { c: '(?<n>x)' } } }), 'cannot compile "a.b.c" constraint "(?<n>x)": error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  assert.equal(compileError({ foo: '$MISSING' }, []), 'ok', '$MISSING is not an operation');
});

test('attribute matchers keep their structure and report format features', () => {
  const m = compileAttributeMatcher(parseHeaders('attrs:\n  foo: $SLOT(foo)\n  bar: $PLUG(bar.baz)\n  baz: x.*')['attrs'], SLOT_PLUG);
  assert.equal(m.kind, 'map');
  assert.ok(attributeMatcherHas(m, 'dollar-attr-constraints'));
  assert.ok(!attributeMatcherHas(m, 'alt-attr-matcher'));
  const alt = compileAttributeMatcher({ a: ['x', { b: '$MISSING' }] }, SLOT_PLUG);
  assert.ok(attributeMatcherHas(alt, 'alt-attr-matcher'));
  assert.ok(attributeMatcherHas(alt, 'dollar-attr-constraints'));
  assert.ok(!attributeMatcherHas(compileAttributeMatcher({ a: 'x', b: { c: 'y' } }, SLOT_PLUG), 'dollar-attr-constraints'));
  assert.deepEqual(compileAttributeMatcher(undefined, []), { kind: 'map', entries: new Map() });
});

// deviceScopeConstraintSuite.TestCompile
test('device scope constraints compile', () => {
  assert.equal(compileDeviceScopeConstraint({}, 'constraint'), undefined);
  assert.deepEqual(compileDeviceScopeConstraint({ 'on-store': ['foo', 'bar'] }, 'constraint'), { store: ['foo', 'bar'], brand: [], model: [] });
  assert.deepEqual(compileDeviceScopeConstraint({ 'on-brand': ['foo', 'bar'], 'on-model': ['foo/model1', 'bar/model-2'], 'on-store': ['foo', 'bar'] }, 'constraint'), {
    store: ['foo', 'bar'],
    brand: ['foo', 'bar'],
    model: ['foo/model1', 'bar/model-2'],
  });
  assert.throws(() => compileDeviceScopeConstraint({ 'on-store': '' }, 'constraint'), { message: 'on-store in constraint must be a list of strings' });
  assert.throws(() => compileDeviceScopeConstraint({ 'on-brand': 'foo' }, 'constraint'), { message: 'on-brand in constraint must be a list of strings' });
  assert.throws(() => compileDeviceScopeConstraint({ 'on-model': { brand: 'x' } }, 'constraint'), { message: 'on-model in constraint must be a list of strings' });
});

// deviceScopeConstraintSuite.TestValidOnStoreBrandModel
test('on-store, on-brand and on-model value syntax', () => {
  const cases: Array<[string, string, boolean]> = [
    ['on-store', '', false],
    ['on-store', 'foo', true],
    ['on-store', 'F_o-O88', true],
    ['on-store', 'foo!', false],
    ['on-store', 'foo.', false],
    ['on-store', 'foo/', false],
    ['on-brand', '', false],
    ['on-brand', 'dwell', true],
    ['on-brand', 'Dwell', false],
    ['on-brand', 'dwell-88', true],
    ['on-brand', 'dwell_88', false],
    ['on-brand', 'dwell.88', false],
    ['on-brand', 'dwell:88', false],
    ['on-brand', 'dwell!88', false],
    ['on-brand', 'a', false],
    ['on-brand', 'ab', true],
    ['on-brand', '0123456789012345678901234567', true],
    ['on-brand', '01234567890123456789012345678', false],
    ['on-brand', '012345678901234567890123456789', false],
    ['on-brand', '0123456789012345678901234567890', false],
    ['on-brand', '01234567890123456789012345678901', true],
    ['on-brand', 'abcdefghijklmnopqrstuvwxyz678901', true],
    ['on-brand', 'ABCDEFGHIJKLMNOPQRSTUVWCYZ678901', true],
    ['on-brand', 'ABCDEFGHIJKLMNOPQRSTUVWCYZ678901X', false],
    ['on-brand', 'ABCDEFGHIJKLMNOPQ!STUVWCYZ678901', false],
    ['on-brand', 'ABCDEFGHIJKLMNOPQ_STUVWCYZ678901', false],
    ['on-brand', 'ABCDEFGHIJKLMNOPQ-STUVWCYZ678901', false],
    ['on-model', '', false],
    ['on-model', '/', false],
    ['on-model', 'dwell/dwell1', true],
    ['on-model', 'dwell', false],
    ['on-model', 'dwell/', false],
    ['on-model', 'dwell//dwell1', false],
    ['on-model', 'dwell/-dwell1', false],
    ['on-model', 'dwell/dwell1-', false],
    ['on-model', 'dwell/dwell1-23', true],
    ['on-model', 'dwell/dwell1!', false],
    ['on-model', 'dwell/dwe_ll1', false],
    ['on-model', 'dwell/dwe.ll1', false],
    ['on-model', 'dwell/Dwell1', true],
  ];
  const check = (field: string, value: string, valid: boolean) => {
    const compile = () => compileDeviceScopeConstraint({ [field]: [value] }, 'constraint');
    if (valid) assert.ok(compile(), `${field} ${value}`);
    else assert.throws(compile, { message: `${field} in constraint contains an invalid element: ${JSON.stringify(value)}` });
  };
  for (const [field, value, valid] of cases) {
    check(field, value, valid);
    if (field === 'on-brand') check('on-model', `${value}/foo`, valid);
  }
});
