import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ACCOUNT_KEY_NAME, isValidSnapName } from '../../src/assertions/index.ts';

/** snapd's original expression, for comparison on short inputs only (it backtracks exponentially). */
const SNAPD_NAME = /^(?:[a-z0-9]+-?)*[a-z](?:-?[a-z0-9])*$/;

test('the linear-time name rule accepts exactly what snapd accepts', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9A-Z!-]{0,12}$/), (s) => {
      assert.equal(ACCOUNT_KEY_NAME.test(s), SNAPD_NAME.test(s), JSON.stringify(s));
    }),
    { numRuns: 5000 },
  );
  for (const s of ['a', 'a-b', '0a', 'a0-1', 'x--y', '-a', 'a-', '1234', '', 'A']) assert.equal(ACCOUNT_KEY_NAME.test(s), SNAPD_NAME.test(s), s);
});

// With snapd's expression in a backtracking engine this input never finishes;
// the timeout turns a regression into a failure instead of a hang.
test('hostile names are rejected without catastrophic backtracking', { timeout: 20_000 }, () => {
  for (const n of [40, 1000, 100_000]) assert.equal(ACCOUNT_KEY_NAME.test(`${'0'.repeat(n)}!`), false);
  assert.equal(isValidSnapName(`${'0'.repeat(39)}!`), false);
});
