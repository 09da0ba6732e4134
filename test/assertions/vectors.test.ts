// Every vector made by snapd's own code decodes and verifies (or fails) as its index says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssertionError,
  TrustDatabase,
  decode,
  decodeStream,
  verifyDeviceSessionRequest,
  verifySerialRequest,
  type Assertion,
} from '../../src/assertions/index.ts';
import { vectorBytes, vectorIndex, vectorKey } from '../helpers/vectors.ts';

const NOW = new Date('2026-06-01T12:00:00Z');

function trustedDb(): TrustDatabase {
  return new TrustDatabase({ trusted: vectorIndex.trusted.map((f) => decode(vectorBytes(f))), now: () => NOW });
}

/** Adds the vector's prerequisites, then checks (or adds) the vector as snapd's verifier would. */
function verifyVector(file: string, requires: string[]): Assertion {
  const db = trustedDb();
  const a = decode(vectorBytes(file));
  const added = new Map<string, Assertion>();
  for (const r of requires) {
    const p = decode(vectorBytes(r));
    if (!db.has(p)) db.add(p);
    added.set(p.type, p);
  }
  if (a.type === 'serial-request') verifySerialRequest(a);
  else if (a.type === 'device-session-request') verifyDeviceSessionRequest(a, added.get('serial')!);
  else if (vectorIndex.trusted.includes(file)) assert.ok(db.findTrusted(a.type, a.primaryKey));
  else db.add(a);
  return a;
}

for (const v of vectorIndex.vectors) {
  test(`vector ${v.file}: ${v.expect}${v.stage ? ` at ${v.stage}` : ''}`, () => {
    if (v.expect === 'valid') {
      const a = verifyVector(v.file, v.requires);
      assert.equal(a.type, v.type);
      assert.deepEqual(a.primaryKey, v['primary-key'] ?? []);
      const decoded = JSON.parse(JSON.stringify(a.headers));
      if (a.body) decoded.body = a.body.toString('utf8');
      assert.deepEqual(decoded, v.headers, 'every header (and the body) decodes as snapd decodes it');
      assert.ok(a.encode().equals(vectorBytes(v.file)), 'the original bytes are kept');
      return;
    }
    const expected = v['snapd-error']!.replace('<now>', NOW.toISOString().replace('.000Z', 'Z'));
    assert.throws(
      () => (v.stage === 'decode' ? decode(vectorBytes(v.file)) : verifyVector(v.file, v.requires)),
      (err: unknown) => {
        assert.ok(err instanceof AssertionError, `typed error, got ${String(err)}`);
        assert.equal(err.message, expected);
        return true;
      },
    );
  });
}

test('the trusted stream holds the root account and account-key', () => {
  const stream = decodeStream(vectorBytes('trusted-root.assert'));
  assert.deepEqual(
    stream.map((a) => a.type),
    ['account', 'account-key'],
  );
});

test('keys of the vectors have the ids and encodings snapd computes', () => {
  for (const [label, k] of Object.entries(vectorIndex.keys)) {
    const key = vectorKey(label);
    assert.equal(key.id, k['key-id'], label);
    assert.equal(key.publicKey.encode(), vectorBytes(k['public-key-snapd-encoding']).toString().trim(), label);
  }
});
