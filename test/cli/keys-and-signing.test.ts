// The local authority workflow end to end through the CLI: root, account,
// brand key, model signing, verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, decodeStream, verifyAccountKeyRequest } from '../../src/assertions/index.ts';
import { runCli } from '../helpers/cli.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';

const dir = mkdtempSync(join(tmpdir(), 'snapline-cli-'));
const env = { SNAPLINE_KEYRING: join(dir, 'keyring'), SNAPLINE_PASSPHRASE: 'correct horse' };
const file = (name: string, content?: string) => {
  const p = join(dir, name);
  if (content !== undefined) writeFileSync(p, content);
  return p;
};
test.after(() => rmSync(dir, { recursive: true, force: true }));

const MODEL_JSON = JSON.stringify({
  type: 'model',
  'authority-id': 'acme',
  'brand-id': 'acme',
  series: '16',
  model: 'gadget-1',
  architecture: 'amd64',
  gadget: 'pc=18',
  kernel: 'pc-kernel=18',
  base: 'core18',
  'required-snaps': ['hello'],
});

test('root init, account create, key register, sign and verify', async () => {
  const init = await runCli(['root', 'init', 'acme-root', '--out', file('trusted.assert'), '--since', '2020-01-01T00:00:00Z'], { env });
  assert.equal(init.code, 0, init.err);
  const trusted = decodeStream(readFileSync(file('trusted.assert')));
  assert.deepEqual(trusted.map((a) => `${a.type}:${a.headerString('name')}`), ['account:', 'account-key:root', 'account-key:store']);
  assert.equal(statSync(join(env.SNAPLINE_KEYRING, 'root.key')).mode & 0o777, 0o600);

  const imported = await runCli(['key', 'import', 'models', join(VECTORS_DIR, 'keys/brand.pkcs8.pem')], { env });
  assert.equal(imported.code, 0, imported.err);
  const list = await runCli(['key', 'list'], { env });
  assert.match(list.out, /models\s+kbzpm5XP04Q0d3ct1zwd_7PR_l7VduXjeqXRr23MHAzz_auI-AfkJv5DwY8ULqtJ/);

  const account = await runCli(['account', 'create', 'acme', '--root', 'acme-root', '--display-name', 'ACME Inc.'], { env });
  assert.equal(account.code, 0, account.err);
  assert.equal(decode(account.out).headerString('display-name'), 'ACME Inc.');
  file('acme.account', account.out);

  const key = await runCli(['key', 'register', 'models', '--account', 'acme', '--root', 'acme-root', '--since', '2021-01-01T00:00:00Z'], { env });
  assert.equal(key.code, 0, key.err);
  file('acme.account-key', key.out);

  const signed = await runCli(['sign', '-k', 'models', '--timestamp', '2025-01-01T00:00:00Z'], { env, stdin: MODEL_JSON });
  assert.equal(signed.code, 0, signed.err);
  const model = decode(signed.out);
  assert.equal(model.headerString('timestamp'), '2025-01-01T00:00:00Z');
  file('model.assert', signed.out);

  const ok = await runCli(['verify', '--trusted', file('trusted.assert'), file('model.assert'), file('acme.account-key'), file('acme.account')], { env });
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.deepEqual(ok.out.trim().split('\n'), [
    'model 16/acme/gadget-1: OK',
    'account-key kbzpm5XP04Q0d3ct1zwd_7PR_l7VduXjeqXRr23MHAzz_auI-AfkJv5DwY8ULqtJ: OK',
    'account acme: OK',
  ]);

  const missingChain = await runCli(['verify', '--trusted', file('trusted.assert'), file('model.assert')], { env });
  assert.equal(missingChain.code, 1);
  assert.match(missingChain.out, /model 16\/acme\/gadget-1: FAILED: no matching public key .* \(assertion-key-not-found\)/);

  const tampered = file('tampered.assert', signed.out.replace('gadget: pc=18', 'gadget: pc=20'));
  const bad = await runCli(['verify', '--trusted', file('trusted.assert'), file('acme.account'), file('acme.account-key'), tampered], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.out, /FAILED: failed signature verification/);
});

test('sign leaves the timestamp alone unless asked, and refuses invalid headers with the reason', async () => {
  await runCli(['key', 'import', 'brand2', join(VECTORS_DIR, 'keys/brand.pkcs8.pem')], { env });
  const noTimestamp = await runCli(['sign', '-k', 'brand2'], { env, stdin: MODEL_JSON });
  assert.equal(noTimestamp.code, 1);
  assert.match(noTimestamp.err, /"timestamp" header is mandatory \(assertion-sign-refused\)/);
  const withBody = await runCli(['sign', '-k', 'brand2'], {
    env,
    stdin: JSON.stringify({ ...JSON.parse(MODEL_JSON), timestamp: '2025-01-01T00:00:00Z', body: 'hello\n' }),
  });
  assert.equal(withBody.code, 0, withBody.err);
  assert.equal(decode(withBody.out).body?.toString(), 'hello\n');
  const missingGadget = await runCli(['sign', '-k', 'brand2', '--timestamp'], { env, stdin: MODEL_JSON.replace('"gadget":"pc=18",', '') });
  assert.match(missingGadget.err, /"gadget" header is mandatory/);
  const notJson = await runCli(['sign', '-k', 'brand2'], { env, stdin: '{' });
  assert.match(notJson.err, /cannot parse the assertion input as JSON/);
  const numbers = await runCli(['sign', '-k', 'brand2', '--timestamp'], { env, stdin: JSON.stringify({ ...JSON.parse(MODEL_JSON), revision: 2 }) });
  assert.match(numbers.err, /header values must be strings/);
});

test('key export prints the public key, or an account-key-request that proves possession', async () => {
  await runCli(['key', 'import', 'dev', join(VECTORS_DIR, 'keys/device.pkcs8.pem')], { env });
  const pub = await runCli(['key', 'export', 'dev'], { env });
  assert.equal(pub.out, readFileSync(join(VECTORS_DIR, 'keys/device.pub.snapd'), 'utf8').trim() + '\n');
  const req = await runCli(['key', 'export', 'dev', '--account', 'acme', '--since', '2024-01-01T00:00:00Z'], { env });
  const a = decode(req.out);
  assert.equal(a.type, 'account-key-request');
  assert.equal(a.headerString('account-id'), 'acme');
  verifyAccountKeyRequest(a);
});

test('keyring errors are clear', async () => {
  const wrongPass = await runCli(['key', 'export', 'dev', '--account', 'acme'], { env: { ...env, SNAPLINE_PASSPHRASE: 'nope' } });
  assert.equal(wrongPass.code, 1);
  assert.match(wrongPass.err, /cannot decrypt key "dev": wrong passphrase/);
  const missing = await runCli(['sign', '-k', 'nosuchkey'], { env, stdin: MODEL_JSON });
  assert.match(missing.err, /no key named "nosuchkey"/);
  const dup = await runCli(['key', 'import', 'dev', join(VECTORS_DIR, 'keys/device.pkcs8.pem')], { env });
  assert.match(dup.err, /key "dev" already exists/);
  const del = await runCli(['key', 'delete', 'dev'], { env });
  assert.equal(del.code, 0);
  assert.doesNotMatch((await runCli(['key', 'list'], { env })).out, /\bdev\b/);
  const noTrusted = await runCli(['verify', file('model.assert')], { env });
  assert.match(noTrusted.err, /no trusted assertions/);
});
