// What goes into a signed assertion must be what snapd's decoder reads back:
// no control characters, well-formed Unicode, within snapd's size limits, and
// every header equal after a round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AccountType, decode, sign } from '../../src/assertions/index.ts';
import { vectorKey } from '../helpers/vectors.ts';

const WHEN = new Date('2026-01-01T00:00:00Z');
const account = (displayName: string) => ({
  headers: { 'authority-id': 'vectors-root', 'account-id': 'acme', username: 'acme', validation: 'unproven', timestamp: '2026-01-01T00:00:00Z', 'display-name': displayName },
});
const refused = (pattern: RegExp) => (err: unknown) => (err as { code?: string }).code === 'assertion-sign-refused' && pattern.test((err as Error).message);

test('control characters are refused before signing (a NUL, CR, ESC, DEL, C1)', () => {
  for (const bad of ['A\u0000B', 'a\rb', 'esc\u001b[31m', 'del\u007f', 'c1\u0085']) {
    assert.throws(() => sign(AccountType, account(bad), vectorKey('root'), WHEN), refused(/control character U\+00/), JSON.stringify(bad));
  }
});

test('a tab is text, as in snap sign: signed and decoded back as given', () => {
  const signed = sign(AccountType, account('tab\there'), vectorKey('root'), WHEN);
  assert.equal(decode(signed.toString()).headerString('display-name'), 'tab\there');
});

test("empty lists and maps inside a list are left out, as snapd's encoder does, and the rest signs", () => {
  const given = account('acme');
  const signed = sign(AccountType, { headers: { ...given.headers, extra: ['a', [], {}, 'b', { c: [], d: 'e' }] } }, vectorKey('root'), WHEN);
  assert.deepEqual(decode(signed.toString()).header('extra'), ['a', 'b', { d: 'e' }]);
});

test('a lone surrogate is refused (it would be signed as U+FFFD, not as given)', () => {
  assert.throws(() => sign(AccountType, account('x\uD800y'), vectorKey('root'), WHEN), refused(/lone surrogate/));
});

test("headers over snapd's 128 KiB limit are refused", () => {
  assert.throws(() => sign(AccountType, account('x'.repeat(129 * 1024)), vectorKey('root'), WHEN), refused(/larger than snapd's limit/));
});

test('any other text is signed and decodes back exactly as given', () => {
  const text = fc.string({ unit: fc.oneof(fc.constantFrom('\n', ' ', '-', ':', 'é', '😀'), fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' })), minLength: 1, maxLength: 40 });
  fc.assert(
    fc.property(text, (displayName) => {
      let signed;
      try {
        signed = sign(AccountType, account(displayName), vectorKey('root'), WHEN);
      } catch (err) {
        // Refused only for a reason the round trip names, never by accident.
        assert.ok(refused(/would not decode as given|the headers would not decode/)(err), (err as Error).message);
        return;
      }
      assert.equal(decode(signed.toString()).headerString('display-name'), displayName);
    }),
    { numRuns: 300 },
  );
});
