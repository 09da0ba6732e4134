import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthError, hashPassword, passwordHashParams, passwordNeedsRehash, verifyPassword } from '../../../src/platform/auth/index.ts';

const FAST = { ln: 4, r: 8, p: 1 };

test('the hash string records scrypt parameters, salt and hash', async () => {
  const hash = await hashPassword('correct horse', FAST);
  assert.match(hash, /^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(passwordHashParams(hash), FAST);
  assert.notEqual(await hashPassword('correct horse', FAST), hash, 'salted');
});

test('verifyPassword accepts the password only, with Unicode normalised', async () => {
  const hash = await hashPassword('caf\u00e9 au lait', FAST);
  assert.equal(await verifyPassword('caf\u00e9 au lait', hash), true);
  assert.equal(await verifyPassword('cafe\u0301 au lait', hash), true, 'NFC and NFD spell the same password');
  assert.equal(await verifyPassword('cafe au lait', hash), false);
  assert.equal(await verifyPassword('', hash), false);
});

test('the default parameters are the ones documented', async () => {
  const hash = await hashPassword('x'.repeat(8));
  assert.deepEqual(passwordHashParams(hash), { ln: 15, r: 8, p: 1 });
  assert.equal(passwordNeedsRehash(hash), false);
  assert.equal(passwordNeedsRehash(await hashPassword('x', FAST)), true);
});

test('malformed hashes and parameters beyond the bounds are refused', async () => {
  const invalid = (err: unknown) => err instanceof AuthError && err.code === 'password-hash-invalid';
  for (const bad of ['', 'plain', '$scrypt$ln=4,r=8,p=1$abc', '$scrypt$ln=30,r=8,p=1$YWJj$YWJj', '$scrypt$ln=14,r=99,p=1$YWJj$YWJj', '$argon2id$v=19$m=1,t=1,p=1$YWJj$YWJj']) {
    await assert.rejects(verifyPassword('x', bad), invalid, bad);
  }
});
