// `snapline serve` as an operator runs it with its keys in a PKCS#11 token
// (SoftHSM2): a child process whose first start makes the root and store keys
// in the token, then serves a trusted stream that verifies; with --workers,
// every worker process opens the token itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrustDatabase, decodeStream } from '../../../src/assertions/index.ts';
import { generateMasterKey } from '../../../src/platform/keys/index.ts';
import { USER_PIN, cleanupSoftHsm, softHsm, softHsmUnavailable } from './softhsm.ts';

const bin = new URL('../../../bin/snapline.js', import.meta.url).pathname;
const unavailable = softHsmUnavailable();
test.after(() => cleanupSoftHsm());

async function serveOnce(dir: string, env: Record<string, string>, args: string[]): Promise<{ trusted: Buffer; err: string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--data', dir, '--listen', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env, SNAPLINE_FROM_SOURCE: '1', SNAPLINE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = once(child, 'exit');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (c: Buffer) => {
        err += c.toString();
        const m = /Snapline listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      void exited.then(([code]) => reject(new Error(`serve exited (${String(code)}) before listening:\n${err}`)));
    });
    const res = await fetch(`${url}/api/root/trusted`);
    assert.equal(res.status, 200);
    return { trusted: Buffer.from(await res.arrayBuffer()), err };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

test('snapline serve with pkcs11 custody: first start makes the root in the token; restarts and workers use it', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const hsm = await softHsm();
  hsm.initToken('serve');
  const dir = await mkdtemp(join(tmpdir(), 'snapline-pkcs11-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pinFile = join(dir, 'pin');
  await writeFile(pinFile, `${USER_PIN}\n`, { mode: 0o600 });
  const config = join(dir, 'snapline.yaml');
  await writeFile(config, `keys:\n  custody: pkcs11\n  pkcs11:\n    module: ${hsm.module}\n    token: serve\n    pinFile: ${pinFile}\n`);
  const env = { SNAPLINE_MASTER_KEY: generateMasterKey(), SNAPLINE_ROOT_ID: 'hsm-root', SOFTHSM2_CONF: join(hsm.dir, 'softhsm2.conf') };

  const first = await serveOnce(dir, env, ['--config', config]);
  const stream = decodeStream(first.trusted);
  assert.deepEqual(stream.map((a) => `${a.type}:${a.headerString('name')}`), ['account:', 'account-key:root', 'account-key:store']);
  const trust = new TrustDatabase({ trusted: [stream[0]!, stream[1]!], now: () => new Date() });
  trust.add(stream[2]!);

  const again = await serveOnce(dir, env, ['--config', config, '--workers', '2']);
  assert.ok(again.trusted.equals(first.trusted), 'the same root, from the token, in every worker');

  // Without the PIN the server does not start, and says why.
  await writeFile(pinFile, '');
  await assert.rejects(serveOnce(dir, env, ['--config', config]), /needs the token PIN/);
});
