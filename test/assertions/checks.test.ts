import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseRFC3339 } from '../../src/assertions/index.ts';

const CASES: [string, string | undefined][] = [
  ['2024-01-15T10:00:00Z', '2024-01-15T10:00:00.000Z'],
  ['2016-04-01T00:00:00.0Z', '2016-04-01T00:00:00.000Z'],
  ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ['2023-02-29T00:00:00Z', undefined],
  ['2024-01-15T10:00:00+02:00', '2024-01-15T08:00:00.000Z'],
  ['2024-01-15T10:00:00-05:30', '2024-01-15T15:30:00.000Z'],
  ['2024-01-15T10:00:00.123456789Z', '2024-01-15T10:00:00.123Z'],
  ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
  ['2024-01-15T10:00:00', undefined],
  ['2024-01-15 10:00:00Z', undefined],
  ['2024-13-01T00:00:00Z', undefined],
  ['2024-01-15T24:00:00Z', undefined],
  ['2024-01-15T10:60:00Z', undefined],
  ['2024-01-15T10:00:60Z', undefined],
  ['2024-01-15T10:00:00.Z', undefined],
  ['2024-01-15T10:00:00z', undefined],
  ['2024-01-15T10:00:00+0200', undefined],
  ['2024-01-15T10:00:00+02:00x', undefined],
  ['', undefined],
];

test('RFC 3339 dates parse as Go parses them', () => {
  for (const [input, iso] of CASES) assert.equal(parseRFC3339(input)?.toISOString(), iso, input);
});

/** The straightforward reference: a regular expression plus range checks. */
function reference(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as number[];
  if (mo! < 1 || mo! > 12 || d! < 1 || d! > new Date(Date.UTC(y!, mo!, 0)).getUTCDate() || h! > 23 || mi! > 59 || se! > 59) return undefined;
  if (m[8] !== 'Z' && (Number(m[10]) > 23 || Number(m[11]) > 59)) return undefined;
  const base = new Date(Date.UTC(2000, mo! - 1, d!, h!, mi!, se!));
  base.setUTCFullYear(y!);
  const offset = m[8] === 'Z' ? 0 : (Number(m[10]) * 60 + Number(m[11])) * 60_000 * (m[9] === '+' ? -1 : 1);
  return base.getTime() + (m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0) + offset;
}

test('the hand-written date scanner agrees with a regular-expression reference', () => {
  const digit = fc.constantFrom(...'0123456789');
  const d = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((a) => a.join(''));
  const zone = fc.oneof(fc.constant('Z'), fc.tuple(fc.constantFrom('+', '-'), d(2), d(2)).map(([s, h, m]) => `${s}${h}:${m}`), fc.string({ maxLength: 6 }));
  const date = fc
    .tuple(d(4), d(2), d(2), d(2), d(2), d(2), fc.option(d(3)), zone)
    .map(([y, mo, dd, h, mi, s, frac, z]) => `${y}-${mo}-${dd}T${h}:${mi}:${s}${frac ? `.${frac}` : ''}${z}`);
  fc.assert(
    fc.property(fc.oneof(date, fc.string({ maxLength: 30 })), (s) => {
      assert.equal(parseRFC3339(s)?.getTime(), reference(s), s);
    }),
    { numRuns: 5000 },
  );
});
