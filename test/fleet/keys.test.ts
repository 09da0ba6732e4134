// The keys file: made in worker threads, appended, reused, mode 0600; lines
// that are not keys are refused with the line number. Small RSA keys keep the
// test fast (RSA-4096 generation is slow; the CLI makes 4096-bit keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKeysFile, generateKeys, readKeysFile } from '../../src/fleet/keys.ts';
import { runCli } from '../helpers/cli.ts';
import { vectorKey } from '../helpers/vectors.ts';

test('keys are made in workers, kept in a 0600 file, and only the missing ones are made later', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fleet-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'keys.jsonl');
  const progress: number[] = [];
  const first = await ensureKeysFile(file, { count: 3, bits: 1024, workers: 2, onProgress: (done, total) => (assert.equal(total, 3), progress.push(done)) });
  assert.equal(first.generated, 3);
  assert.deepEqual(progress, [1, 2, 3]);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(new Set(first.keys.map((k) => k.id)).size, 3);
  assert.equal(first.keys[0]!.publicKey.n.length, 128, '1024-bit keys as asked');
  const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l['key-id']).sort(), first.keys.map((k) => k.id).sort());

  const second = await ensureKeysFile(file, { count: 5, bits: 1024 });
  assert.equal(second.generated, 2);
  assert.deepEqual(second.keys.slice(0, 3).map((k) => k.id), (await readKeysFile(file)).slice(0, 3).map((k) => k.id));
  assert.equal((await readKeysFile(file)).length, 5);
  const third = await ensureKeysFile(file, { count: 4 });
  assert.equal(third.generated, 0);
  assert.equal(third.keys.length, 4);

  // A line cut short at the end (an interrupted run) is dropped; one in the middle is an error.
  await appendFile(file, '{"key-id": "x", "pem": "-----BEGIN');
  assert.equal((await readKeysFile(file)).length, 5);
  const bad = join(dir, 'bad.jsonl');
  await writeFile(bad, `${JSON.stringify({ pem: vectorKey('device').toPem() })}\nnot json\n${JSON.stringify({ pem: vectorKey('brand').toPem() })}\n`);
  await assert.rejects(readKeysFile(bad), (e: Error & { code?: string }) => e.code === 'fleet-keys-invalid' && /bad\.jsonl:2: not a JSON line/.test(e.message));
  await writeFile(bad, `${JSON.stringify({ 'key-id': 'wrong', pem: vectorKey('device').toPem() })}\n`);
  await assert.rejects(readKeysFile(bad), /bad\.jsonl:1: the key-id is not the key's/);
  await writeFile(bad, `${JSON.stringify({ pem: 'nope' })}\n`);
  await assert.rejects(readKeysFile(bad), /bad\.jsonl:1: cannot read private key/);
  assert.deepEqual(await readKeysFile(join(dir, 'missing')), []);
  assert.deepEqual(await generateKeys({ count: 0 }), []);
});

test('snapline fleet keys: progress on stderr, the count on stdout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-fleet-keys-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'keys.jsonl');
  const r = await runCli(['fleet', 'keys', '--count', '2', '--out', file, '--bits', '1024']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /making 2 RSA-1024 keys \(0 already in .*\); RSA-4096 key generation is slow/);
  assert.match(r.err, /\[#{30}\] 2\/2 keys/);
  assert.equal(r.out, `${file}: 2 keys (0 new)\n`.replace('0 new', '2 new'));
  const again = await runCli(['fleet', 'keys', '--count', '2', '--out', file]);
  assert.equal(again.code, 0, again.err);
  assert.equal(again.out, `${file}: 2 keys (0 new)\n`);
  const bad = await runCli(['fleet', 'keys', '--count', 'x', '--out', file]);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--count x: expected a positive integer/);
});
