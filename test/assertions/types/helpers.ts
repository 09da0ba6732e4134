// Shared helpers for the assertion type tests: sign a valid example with a
// vectors key, mutate its text like snapd's TestDecodeInvalid tables, decode,
// and check consistency against a small fake database view.
import assert from 'node:assert/strict';
import {
  AccountType,
  AssertionError,
  decode,
  parseHeaders,
  sign,
  type Assertion,
  type AssertionParts,
  type AssertionType,
  type ConsistencyView,
} from '../../../src/assertions/index.ts';
import { vectorKey } from '../../helpers/vectors.ts';

export const SIGNED_AT = new Date('2024-01-15T10:00:00Z');

/** Signs `headers` (and body) as `type` with a vectors key and returns the encoded text. */
export function signedText(type: AssertionType, headers: Record<string, unknown>, opts: { body?: string; key?: string } = {}): string {
  const input = opts.body === undefined ? { headers } : { headers, body: opts.body };
  return sign(type, input, vectorKey(opts.key ?? 'root'), SIGNED_AT).toString();
}

/** Replaces the first occurrence of `original` (which must be there). */
export function mutate(text: string, original: string, replacement: string): string {
  assert.ok(text.includes(original), `the example contains ${JSON.stringify(original)}`);
  return text.replace(original, () => replacement);
}

/** One row of a TestDecodeInvalid-like table: original text, replacement, expected message (a regexp source, anchored). */
export type InvalidRow = readonly [original: string, replacement: string, expected: string];

/** Decodes `text` and expects an AssertionError whose whole message matches `^prefix + expected$`. */
export function assertDecodeFails(text: string, prefix: string, expected: string): void {
  assert.throws(
    () => decode(text),
    (err: unknown) => {
      assert.ok(err instanceof AssertionError, `AssertionError expected, got ${String(err)}`);
      assert.match(err.message, new RegExp(`^(?:${prefix}${expected})$`), `message for ${JSON.stringify(expected)}`);
      return true;
    },
  );
}

/** Runs every row against the valid example. */
export function checkInvalidRows(valid: string, prefix: string, rows: readonly InvalidRow[]): void {
  for (const [original, replacement, expected] of rows) {
    assertDecodeFails(mutate(valid, original, replacement), prefix, expected);
  }
}

/** Escapes a literal message for use as an `expected` regexp. */
export function lit(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Decodes text as an unregistered type (for opt-in types such as
 * authority-delegation): the header part is parsed and handed to the type's
 * assembler, errors get the usual "assertion <type>: " prefix.
 */
export function assembleUnregistered<D>(type: AssertionType<D>, text: string): D {
  const head = text.slice(0, text.indexOf('\n\n'));
  const headers = parseHeaders(head);
  const parts: AssertionParts = { type: type.name, headers, body: undefined, format: 0, revision: 0 };
  try {
    return type.assemble(parts);
  } catch (err) {
    if (err instanceof Error && err.name === 'HeaderError') throw new AssertionError('assertion-invalid', `assertion ${type.name}: ${err.message}`);
    throw err;
  }
}

/** A fake trust database: a set of assertions and the directly trusted account ids. */
export function fakeView(assertions: readonly Assertion[], trusted: readonly string[] = ['vectors-root']): ConsistencyView {
  return {
    find: (type, primaryKey) => assertions.find((a) => a.type === type && a.primaryKey.join('/') === primaryKey.join('/')),
    findMany: (type, headers) => assertions.filter((a) => a.type === type && Object.entries(headers).every(([k, v]) => a.headerString(k) === v)),
    isDirectlyTrusted: (id) => trusted.includes(id),
  };
}

/** Runs the type's consistency check and returns "ok" or the error's code and message. */
export function consistency(a: Assertion, view: ConsistencyView): string {
  try {
    a.assertionType.checkConsistency?.(view, a, a);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof AssertionError, `AssertionError expected, got ${String(err)}`);
    return `${err.code}: ${err.message}`;
  }
}

/** An account assertion signed by the vectors root, for consistency checks. */
export function account(id: string): Assertion {
  return decode(
    signedText(AccountType, {
      'authority-id': 'vectors-root',
      'account-id': id,
      'display-name': id,
      validation: 'unproven',
      timestamp: '2024-01-01T00:00:00Z',
    }),
  );
}
