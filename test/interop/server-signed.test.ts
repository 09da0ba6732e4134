// What the server signs from a caller's text, snapd's own decoder reads back
// as given (test/interop/decode: asserts.NewDecoder from the snapd source).
// Account display names drawn at random, most of them Unicode text with
// spaces, tabs, newlines and colons, some with control characters, lone
// surrogates or over the length limit: each is either signed, and then
// decodes in snapd to exactly what was sent, or refused with a 400 and a
// stable code. Never a 5xx, never an assertion snapd would not read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { buildSnapdProgram } from './helpers/snapd-go.ts';

const RUNS = Number(process.env['SNAPLINE_INTEROP_RUNS'] ?? 120);
const SEED = Date.now() ^ (Math.random() * 2 ** 31);

/** Characters worth trying in a display name. */
const char = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '\n', ':', '-', '"', '\\', 'é', '😀', '日本', '\u200b', '\u00a0') },
);
/** What the signer must refuse: control characters and lone surrogates. */
const hostile = fc.constantFrom('\u0000', '\u001b[31m', '\r', '\u007f', '\u0085', '\ud800', '\udfff');
const text = fc.array(char, { minLength: 1, maxLength: 40 }).map((a) => a.join(''));
const displayName = fc.oneof(
  { weight: 8, arbitrary: text },
  { weight: 2, arbitrary: fc.tuple(text, hostile, text).map(([a, h, b]) => a + h + b) },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(201), 'ü'.repeat(150), ' ', '\n', 'trailing newline\n') },
);

/** Codes a refused display name may get: the server's own check, or the signer's. */
const REFUSALS = new Set(['account-invalid', 'assertion-sign-refused', 'validation-failed', 'bad-request']);

test("account assertions the server signs decode in snapd's code to the display name sent", async (t) => {
  const prog = buildSnapdProgram('decode');
  if ('skip' in prog) return t.skip(prog.skip);
  const s = await startTestServer('sqlite');
  t.after(() => s.close());

  const names = fc.sample(displayName, { numRuns: RUNS, seed: SEED });
  const signed: { name: string; assertion: string }[] = [];
  const refused = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const res = await s.request('POST', '/api/accounts', { token: TEST_ADMIN_TOKEN, body: { accountId: `acc${i}`, displayName: name } });
    if (res.status === 201) {
      signed.push({ name, assertion: res.json().assertion as string });
      continue;
    }
    const code = res.json().error?.code as string;
    assert.equal(res.status, 400, `seed ${SEED}: ${JSON.stringify(name)} answered ${res.status}: ${res.body}`);
    assert.ok(REFUSALS.has(code), `seed ${SEED}: ${JSON.stringify(name)} refused with ${code}`);
    refused.set(code, (refused.get(code) ?? 0) + 1);
  }
  t.diagnostic(`seed ${SEED}: ${signed.length} signed, refused ${JSON.stringify(Object.fromEntries(refused))}`);
  assert.ok(signed.length > RUNS / 2, 'most names are plain text and get signed');

  const stream = signed.map((x) => x.assertion.replace(/\n*$/, '\n')).join('\n');
  const r = spawnSync(prog.bin, [], { input: stream, encoding: 'utf8' });
  assert.equal(r.status, 0, `snapd could not decode what the server signed (seed ${SEED}): ${r.stderr}`);
  const decoded = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; headers: Record<string, unknown> });
  assert.equal(decoded.length, signed.length);
  for (const [i, d] of decoded.entries()) {
    assert.equal(d.type, 'account');
    assert.equal(d.headers['display-name'], signed[i]!.name, `seed ${SEED}: snapd read ${JSON.stringify(d.headers['display-name'])} for ${JSON.stringify(signed[i]!.name)}`);
  }
});
