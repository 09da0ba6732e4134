// Property-based tests: encoding round trips, and hostile mutations never verify nor crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AccountType,
  AssertionError,
  ModelType,
  TrustDatabase,
  appendEntry,
  decode,
  decodeStream,
  parseHeaders,
  sign,
  type HeaderValue,
} from '../../src/assertions/index.ts';
import { vectorBytes, vectorIndex, vectorKey } from '../helpers/vectors.ts';

const name = fc.stringMatching(/^[a-z](?:-?[a-z0-9]){0,12}$/);
// Any UTF-8 text without CR-sensitive surprises: arbitrary code points, newlines included.
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/\r/g, ''));
const value: fc.Arbitrary<HeaderValue> = fc.letrec<{ v: HeaderValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.array(tie('v'), { minLength: 1, maxLength: 4 }),
    fc.dictionary(name, tie('v'), { minKeys: 1, maxKeys: 4 }),
  ),
})).v;
const headerMap = fc.dictionary(name, value, { minKeys: 1, maxKeys: 8 });

test('header encoding round-trips every value', () => {
  fc.assert(
    fc.property(headerMap, (headers) => {
      const out: string[] = [];
      for (const [k, v] of Object.entries(headers)) appendEntry(out, `${k}:`, v, 0);
      const decoded = parseHeaders(out.join('').slice(1));
      assert.deepEqual(JSON.parse(JSON.stringify(decoded)), JSON.parse(JSON.stringify(headers)));
    }),
    { numRuns: 500 },
  );
});

test('signed assertions with arbitrary extra headers and bodies decode to what was signed', () => {
  const extra = fc.dictionary(
    name.filter((n) => !['type', 'format', 'revision', 'authority-id', 'signatory-id', 'account-id', 'display-name', 'validation', 'timestamp', 'username', 'body-length', 'sign-key-sha3-384'].includes(n)),
    value,
    { maxKeys: 5 },
  );
  fc.assert(
    fc.property(extra, fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 })), (headers, body) => {
      const a = sign(
        AccountType,
        {
          headers: { 'authority-id': 'vectors-root', 'account-id': 'acc', 'display-name': 'D', validation: 'unproven', timestamp: '2026-01-01T00:00:00Z', ...headers },
          ...(body ? { body } : {}),
        },
        vectorKey('root'),
        new Date(),
      );
      const d = decode(a.encode());
      for (const [k, v] of Object.entries(headers)) assert.deepEqual(JSON.parse(JSON.stringify(d.header(k))), JSON.parse(JSON.stringify(v)));
      assert.equal(d.body?.toString() ?? null, body ?? null);
      assert.equal(decodeStream(Buffer.concat([a.encode(), Buffer.from('\n'), a.encode()])).length, 2);
    }),
    { numRuns: 25 },
  );
});

function normalized(b: Buffer): string {
  const s = b.toString('latin1');
  const split = s.lastIndexOf('\n\n');
  return split === -1 ? s : s.slice(0, split) + '|' + s.slice(split).replace(/[\r\n]/g, '');
}

test('no byte mutation of a valid model verifies, and every failure is a typed error', () => {
  const original = vectorBytes('model-core20.model');
  const db = new TrustDatabase({ trusted: vectorIndex.trusted.map((f) => decode(vectorBytes(f))), now: () => new Date('2026-06-01T00:00:00Z') });
  db.addBatch([decode(vectorBytes('brand.account')), decode(vectorBytes('brand.account-key'))]);
  db.check(decode(original));
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(original.length - 1), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(original.length - 1), len: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(original.length), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  );
  fc.assert(
    fc.property(mutation, (m) => {
      const b = Buffer.from(original);
      let mutated: Buffer;
      if (m.kind === 'flip') {
        b[m.at] = b[m.at]! ^ m.xor;
        mutated = b;
      } else if (m.kind === 'delete') mutated = Buffer.concat([b.subarray(0, m.at), b.subarray(m.at + m.len)]);
      else mutated = Buffer.concat([b.subarray(0, m.at), Buffer.from(m.bytes), b.subarray(m.at)]);
      // Line breaks (LF, CR) inside the signature block are not part of it (snapd's decoder skips them).
      if (normalized(mutated) === normalized(original)) return;
      try {
        const a = decode(mutated);
        db.check(a);
      } catch (err) {
        assert.ok(err instanceof AssertionError, `untyped failure: ${String(err)}`);
        return;
      }
      assert.fail(`mutation ${JSON.stringify(m)} still verifies`);
    }),
    { numRuns: 1500 },
  );
});

test('random garbage never crashes the stream decoder', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        decodeStream(Buffer.from(bytes));
      } catch (err) {
        assert.ok(err instanceof AssertionError, `untyped failure: ${String(err)}`);
      }
    }),
    { numRuns: 2000 },
  );
});

test('a re-signed model with a header changed no longer matches the old signature', () => {
  const a = decode(vectorBytes('model-core18.model'));
  const resigned = sign(ModelType, { headers: { ...a.headers, 'display-name': 'changed' } }, vectorKey('brand'), new Date());
  assert.notDeepEqual(resigned.signature, a.signature);
});
