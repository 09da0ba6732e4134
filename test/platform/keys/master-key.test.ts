import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  KeyCustodyError,
  MasterKeyRing,
  generateMasterKey,
  loadMasterKeyRing,
  masterKeyFromBase64,
  masterKeySourcesFromEnv,
  readMasterKeyFile,
} from '../../../src/platform/keys/index.ts';

const invalid = (err: unknown) => err instanceof KeyCustodyError && err.code === 'master-key-invalid';

test('master keys parse from base64 (standard or url-safe) of exactly 32 bytes', () => {
  const raw = randomBytes(32);
  const a = masterKeyFromBase64(raw.toString('base64'));
  const b = masterKeyFromBase64(` ${raw.toString('base64url')}\n`);
  assert.ok(a.key.equals(raw));
  assert.equal(a.id, b.id);
  assert.match(a.id, /^mk1_[A-Za-z0-9_-]{22}$/);
  assert.notEqual(masterKeyFromBase64(generateMasterKey()).id, a.id);
  for (const bad of ['', 'not base64!', randomBytes(31).toString('base64'), randomBytes(33).toString('base64')]) {
    assert.throws(() => masterKeyFromBase64(bad), invalid, bad);
  }
});

test('master key files hold 32 raw bytes or their base64', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-mk-'));
  try {
    const raw = randomBytes(32);
    await writeFile(join(dir, 'raw'), raw);
    await writeFile(join(dir, 'text'), raw.toString('base64') + '\n');
    await writeFile(join(dir, 'short'), 'c2hvcnQ=');
    assert.equal((await readMasterKeyFile(join(dir, 'raw'))).id, (await readMasterKeyFile(join(dir, 'text'))).id);
    await assert.rejects(readMasterKeyFile(join(dir, 'short')), invalid);
    await assert.rejects(readMasterKeyFile(join(dir, 'missing')), invalid);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the ring: current first, decrypt-only keys found by id, duplicates ignored', async () => {
  const current = generateMasterKey();
  const old = generateMasterKey();
  const env = { SNAPLINE_MASTER_KEY: current, SNAPLINE_MASTER_KEY_PREVIOUS: ` ${old}, ${current} ` };
  const ring = await loadMasterKeyRing(masterKeySourcesFromEnv(env));
  assert.equal(ring.current.id, masterKeyFromBase64(current).id);
  assert.deepEqual(ring.ids, [masterKeyFromBase64(current).id, masterKeyFromBase64(old).id]);
  assert.ok(ring.find(masterKeyFromBase64(old).id));
  assert.equal(ring.find('mk1_nope'), undefined);
  assert.ok(new MasterKeyRing(masterKeyFromBase64(current)).find(ring.current.id));
});

test('loading refuses no master key and two current ones', async () => {
  await assert.rejects(loadMasterKeyRing({}), invalid);
  await assert.rejects(loadMasterKeyRing(masterKeySourcesFromEnv({})), invalid);
  await assert.rejects(loadMasterKeyRing({ key: generateMasterKey(), keyFile: '/nonexistent' }), invalid);
  await assert.rejects(loadMasterKeyRing({ key: generateMasterKey(), previousKeys: ['short'] }), invalid);
});
