// snapline vault ... against a listening server with the vault service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream, type SerialData } from '../../src/assertions/index.ts';
import { vaultService } from '../../src/vault/index.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, TEST_ADMIN_TOKEN } from '../helpers/server.ts';
import { vectorKey } from '../helpers/vectors.ts';
import { BRAND, MODEL, modelAssertion, serialRequest } from './helpers.ts';

test('snapline vault key, model, apikey, log and system-user commands', async (t) => {
  const s = await startTestServer('sqlite', { services: [vaultService], listen: true });
  const dir = mkdtempSync(join(tmpdir(), 'snapline-vault-cli-'));
  t.after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = { SNAPLINE_URL: s.server.url!, SNAPLINE_TOKEN: TEST_ADMIN_TOKEN, SNAPLINE_CREDENTIALS: join(dir, 'none.json') };
  const cli = async (...args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  await cli('account', 'add', BRAND);
  const pem = join(dir, 'brand.pem');
  const brandKey = vectorKey('brand');
  writeFileSync(pem, brandKey.toPem());
  const imported = await cli('vault', 'key', 'import', 'serials', pem, '--brand', BRAND);
  assert.match(imported, new RegExp(`^serials ${brandKey.id}\n`));
  assert.match(imported, /type: account-key/);
  assert.match(await cli('vault', 'key', 'list', '--brand', BRAND), /serials\s+registered\s+/);
  await cli('vault', 'model', 'add', BRAND, MODEL, '--key', 'serials', '--serial-template', 'BOX-{counter:4}');
  assert.match(await cli('vault', 'model', 'list', BRAND), /box\s+BOX-\{counter:4\}/);
  await cli('vault', 'model', 'update', BRAND, MODEL, '--allow-proposed', '--serial-pattern', 'BOX-[0-9]+');
  assert.match(await cli('vault', 'model', 'list', BRAND), /box\s+BOX-\{counter:4\}\s+yes/);
  const secret = (await cli('vault', 'apikey', 'create', BRAND, '--name', 'line-1', '--model', MODEL, '--max-serials', '10')).trim();
  assert.match(secret, /^svk_/);
  assert.match(await cli('vault', 'apikey', 'list', BRAND), /1\s+line-1\s+box\s+0\/10\s+active/);

  // A device over real HTTP.
  const rid = ((await (await fetch(`${s.server.url}/v1/request-id`, { method: 'POST', headers: { 'api-key': secret } })).json()) as { 'request-id': string })['request-id'];
  const device = vectorKey('device');
  const res = await fetch(`${s.server.url}/v1/serial`, {
    method: 'POST',
    headers: { 'api-key': secret, 'content-type': 'application/x.ubuntu.assertion' },
    body: Buffer.concat([serialRequest(device, { requestId: rid }).encode(), Buffer.from('\n'), modelAssertion(brandKey, MODEL).encode()]),
  });
  assert.equal(res.status, 200);
  const serial = (decodeStream(Buffer.from(await res.arrayBuffer()))[0]!.data as SerialData).serial;
  assert.equal(serial, 'BOX-0001');

  assert.match(await cli('vault', 'log', BRAND), new RegExp(`box\\s+BOX-0001\\s+${device.id.replace(/[-_]/g, '.')}\\s+line-1`));
  const csv = await cli('vault', 'log', BRAND, '--export', 'csv');
  assert.equal(csv.trim().split('\n').length, 2);
  const su = await cli('vault', 'system-user', BRAND, '--email', 'f@acme.example', '--username', 'factory', '--model', MODEL, '--valid-hours', '2');
  assert.equal(decodeStream(su)[0]!.type, 'system-user');
  await cli('vault', 'apikey', 'revoke', BRAND, '1');
  assert.match(await cli('vault', 'apikey', 'list', BRAND), /revoked/);
  await cli('vault', 'model', 'remove', BRAND, MODEL);
  await cli('vault', 'key', 'disable', 'serials', '--brand', BRAND);
  assert.match(await cli('vault', 'key', 'list', '--brand', BRAND), /serials\s+disabled/);
  const refused = await runCli(['vault', 'model', 'add', BRAND, 'x', '--key', 'nokey'], { env });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /vault-key-not-found/);
});
