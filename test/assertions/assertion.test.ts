import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccountType,
  AssertionError,
  ModelType,
  buildContent,
  decode,
  decodeStream,
  encodeStream,
  sign,
  MAX_BODY_SIZE,
  type Assertion,
} from '../../src/assertions/index.ts';
import { vectorBytes, vectorKey } from '../helpers/vectors.ts';
import { WORKED_EXAMPLE_CONTENT_HEAD, WORKED_EXAMPLE_INPUT } from '../helpers/worked-example.ts';

const WHEN = new Date('2026-01-01T00:00:00Z');

const WORKED_EXAMPLE = WORKED_EXAMPLE_INPUT;
const WORKED_EXAMPLE_CONTENT = `${WORKED_EXAMPLE_CONTENT_HEAD}sign-key-sha3-384: 0-aLaeZhMfWmDiQuPjdktEGE-PM1OwWXdOIftxZiVHRc6ZK5b9IH0wWbfUo2pYTK`;

test('content is laid out byte for byte as `snap sign` lays it out', () => {
  const { content } = buildContent(ModelType, { headers: WORKED_EXAMPLE }, '0-aLaeZhMfWmDiQuPjdktEGE-PM1OwWXdOIftxZiVHRc6ZK5b9IH0wWbfUo2pYTK');
  assert.equal(content.toString(), WORKED_EXAMPLE_CONTENT);
  assert.equal(content.length, 860);
});

function signAccount(extra: Record<string, unknown> = {}, body?: string): Assertion {
  return sign(
    AccountType,
    {
      headers: { 'authority-id': 'vectors-root', 'account-id': 'acct-1', 'display-name': 'A', validation: 'unproven', timestamp: '2026-01-01T00:00:00Z', ...extra },
      ...(body === undefined ? {} : { body }),
    },
    vectorKey('root'),
    WHEN,
  );
}

test('a signed assertion decodes back to the same bytes and verifies', () => {
  const a = signAccount({ revision: '3' }, 'some body\n\nwith a blank line\n');
  const text = a.encode();
  assert.ok(text.toString().endsWith('\n'));
  const b = decode(text);
  assert.equal(b.revision, 3);
  assert.equal(b.body?.toString(), 'some body\n\nwith a blank line\n');
  assert.ok(b.content.equals(a.content));
  vectorKey('root').publicKey.verify(b.content, b.signatureText);
});

test('format, revision and body-length of 0 are omitted when signing', () => {
  const a = signAccount({ format: '0', revision: '0' });
  assert.doesNotMatch(a.content.toString(), /format|revision|body-length/);
});

test('signing refuses headers that do not validate for the type', () => {
  assert.throws(
    () => signAccount({ 'display-name': '' }),
    (e: unknown) => e instanceof AssertionError && e.code === 'assertion-sign-refused' && /"display-name" header should not be empty/.test(e.message),
  );
  assert.throws(() => signAccount({ nested: [1] }), /header values must be strings/);
  assert.throws(() => signAccount({ 'Bad-Name': 'x' }), /invalid header name/);
});

test('streams: one empty line between assertions, lenient about the final newline', () => {
  const a = signAccount();
  const b = signAccount({ 'account-id': 'acct-2' }, 'body');
  const stream = encodeStream([a, b]);
  assert.equal(stream.toString(), `${a.encode()}\n${b.encode()}`);
  assert.deepEqual(decodeStream(stream).map((x) => x.headerString('account-id')), ['acct-1', 'acct-2']);
  assert.equal(decodeStream(Buffer.concat([stream, Buffer.from('\n')])).length, 2);
  assert.equal(decodeStream(Buffer.alloc(0)).length, 0);
  const trimmed = stream.subarray(0, stream.length - 1);
  assert.equal(decodeStream(trimmed).length, 2);
});

test('streams: two empty lines between assertions are an error after the first', () => {
  const a = signAccount({}, 'x');
  const text = Buffer.concat([a.encode(), Buffer.from('\n\n'), a.encode()]);
  assert.throws(() => decodeStream(text), /header entry missing ':' separator: ""/);
});

test('streams: a body without its separator before the signature is refused', () => {
  const a = signAccount({}, 'body');
  const broken = Buffer.from(a.encode().toString().replace('body\n\n', 'body\n'));
  assert.throws(() => decodeStream(broken), (e: unknown) => e instanceof AssertionError && e.code === 'assertion-malformed');
});

test('streams: size limits', () => {
  const hugeHeader = Buffer.from(`type: account\nx: ${'a'.repeat(130 * 1024)}\n\nsig\n`);
  assert.throws(() => decodeStream(hugeHeader), (e: unknown) => e instanceof AssertionError && e.code === 'assertion-too-large');
  const hugeBody = Buffer.from(`type: account\nbody-length: ${MAX_BODY_SIZE + 1}\n\n`);
  assert.throws(() => decodeStream(hugeBody), /exceeds maximum body size/);
  const a = signAccount();
  assert.throws(() => decodeStream(encodeStream([a, a, a]), { maxAssertions: 2 }), /more than 2 assertions/);
});

const DECODE_ERRORS: [string, (s: string) => string, RegExp][] = [
  ['no separator', (s) => s.replaceAll('\n\n', '\n'), /assertion content\/signature separator not found/],
  ['body-length mismatch', (s) => s.replace('timestamp:', 'body-length: 5\ntimestamp:'), /body length and declared body-length don't match: 0 != 5/],
  ['bad body-length', (s) => s.replace('timestamp:', 'body-length: x\ntimestamp:'), /"body-length" header is not an integer: x/],
  ['no sign key', (s) => s.replace(/sign-key-sha3-384: .*/, 'sign-key-sha3-384: '), /"sign-key-sha3-384" header should not be empty/],
  ['short sign key', (s) => s.replace(/sign-key-sha3-384: .*/, 'sign-key-sha3-384: AAAA'), /does not have the expected bit length: 24/],
  ['unknown type', (s) => s.replace('type: account', 'type: frobnicate'), /unknown assertion type: "frobnicate"/],
  ['no authority', (s) => s.replace('authority-id: vectors-root\n', ''), /"authority-id" header is mandatory/],
  ['bad format', (s) => s.replace('timestamp:', 'format: -1\ntimestamp:'), /format should be positive: -1/],
  ['prefix zeros', (s) => s.replace('timestamp:', 'revision: 01\ntimestamp:'), /"revision" header has invalid prefix zeros: 01/],
  ['slash in primary key', (s) => s.replace('account-id: acct-1', 'account-id: a/b'), /"account-id" primary key header cannot contain '\/'/],
  ['empty signature', (s) => s.replace(/\n\n[^]*$/, '\n\n'), /empty assertion signature/],
  ['bad date', (s) => s.replace('timestamp: 2026-01-01T00:00:00Z', 'timestamp: 2026-13-01T00:00:00Z'), /"timestamp" header is not a RFC3339 date/],
];

for (const [name, mutate, err] of DECODE_ERRORS) {
  test(`decode refuses: ${name}`, () => {
    const text = mutate(signAccount().encode().toString());
    assert.throws(() => decode(text), (e: unknown) => e instanceof AssertionError && err.test(e.message));
  });
}

test('decode refuses an account-key-request claiming an authority', () => {
  const text = vectorBytes('model-core18.model').toString().replace('type: model', 'type: serial-request');
  assert.throws(() => decode(text), /"serial-request" assertion cannot have authority-id set/);
});

test('decode refuses headers that are not UTF-8', () => {
  const bytes = signAccount().encode();
  const at = bytes.indexOf('display-name: A') + 'display-name: '.length;
  bytes[at] = 0xff;
  assert.throws(() => decode(bytes), /header is not utf8/);
});

test('an absent default provenance is written among the sorted headers, an explicit one is left out (as snap sign does)', async () => {
  const { SnapRevisionType } = await import('../../src/assertions/index.ts');
  const headers = {
    'authority-id': 'vectors-root',
    'snap-sha3-384': 'QlqR0uAWEAWF5Nwnzj5kqmmwFslYPu1IL16MKtLKhwhv0kpBv5wKZ_axf_nf_2cL',
    'snap-id': 'snap-id-1',
    'snap-size': '123',
    'snap-revision': '1',
    'developer-id': 'dev-id1',
    timestamp: '2024-01-15T10:00:00Z',
  };
  const absent = buildContent(SnapRevisionType, { headers }, vectorKey('store').id).content.toString();
  assert.match(absent, /\ndeveloper-id: dev-id1\nprovenance: global-upload\nsnap-id: snap-id-1\n/);
  const explicit = buildContent(SnapRevisionType, { headers: { ...headers, provenance: 'global-upload' } }, vectorKey('store').id).content.toString();
  assert.doesNotMatch(explicit, /provenance/);
});

test('JSON nulls are refused like snap sign refuses them', () => {
  assert.throws(() => signAccount({ extra: null }), /header "extra": header values must be strings or nested lists or maps with strings as the only scalars: <nil>/);
  assert.throws(() => signAccount({ extra: { a: 'x', b: null } }), /<nil>/);
});
