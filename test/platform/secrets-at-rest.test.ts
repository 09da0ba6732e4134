// Secrets at rest: where the master key comes from (environment, systemd
// credential, configured file, generated default), the warning when it sits
// with the data, and the first start's credentials in an owner-only file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_CREDENTIALS_FILE, masterKeyPlacementWarning, masterKeysFor, writeAdminCredentials } from '../../src/platform/bootstrap.ts';
import { generateMasterKey, KeyCustody, loadMasterKeyRing, masterKeyFromBase64, masterKeySourcesFromEnv, MASTER_KEY_CREDENTIAL } from '../../src/platform/keys/index.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { startServer } from '../../src/platform/server.ts';
import { migrate, openDatabase, platformMigrations } from '../../src/platform/db/index.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-secrets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('master key: the systemd credential when present, after SNAPLINE_MASTER_KEY(_FILE), before the configured file and the default', async (t) => {
  const dir = await tempDir(t);
  const credentials = join(dir, 'credentials');
  await mkdir(credentials);
  const credKey = generateMasterKey();
  await writeFile(join(credentials, MASTER_KEY_CREDENTIAL), credKey);
  const data = join(dir, 'data');

  const fromCredential = await masterKeysFor(data, { CREDENTIALS_DIRECTORY: credentials });
  assert.equal(fromCredential.ring.current.id, masterKeyFromBase64(credKey).id);
  assert.equal(fromCredential.file, join(credentials, MASTER_KEY_CREDENTIAL));
  assert.equal(fromCredential.generatedFile, undefined, 'nothing generated in the data folder');

  const envFile = join(dir, 'env.key');
  const envKey = generateMasterKey();
  await writeFile(envFile, envKey);
  assert.equal((await masterKeysFor(data, { CREDENTIALS_DIRECTORY: credentials, SNAPLINE_MASTER_KEY_FILE: envFile })).ring.current.id, masterKeyFromBase64(envKey).id);
  assert.equal(masterKeySourcesFromEnv({ CREDENTIALS_DIRECTORY: credentials, SNAPLINE_MASTER_KEY: envKey }).keyFile, undefined);

  // A credentials folder without our credential (another service's): ignored.
  const other = join(dir, 'other-credentials');
  await mkdir(other);
  const configured = join(dir, 'keys', 'master.key');
  await mkdir(join(dir, 'keys'));
  const fromConfig = await masterKeysFor(data, { CREDENTIALS_DIRECTORY: other }, configured);
  assert.equal(fromConfig.file, configured);
  assert.equal(fromConfig.generatedFile, configured, 'the configured file is made on first start');
  assert.equal((await stat(configured)).mode & 0o777, 0o600);

  const fallback = await masterKeysFor(data, {});
  assert.equal(fallback.file, join(data, 'master.key'));
});

test('a warning when the master key file is in the data folder or next to the SQLite database, none elsewhere', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  const dbDir = join(dir, 'db');
  await mkdir(data);
  await mkdir(dbDir);
  assert.match(masterKeyPlacementWarning(join(data, 'master.key'), data, join(dbDir, 'x.db'))!, /is in the data folder/);
  assert.match(masterKeyPlacementWarning(join(data, 'sub', 'master.key'), data, undefined)!, /is in the data folder/);
  assert.match(masterKeyPlacementWarning(join(dbDir, 'master.key'), data, join(dbDir, 'x.db'))!, /folder of the SQLite database/);
  assert.equal(masterKeyPlacementWarning(join(dir, 'keys', 'master.key'), data, join(dbDir, 'x.db')), undefined);
  assert.equal(masterKeyPlacementWarning(join(dir, 'data-keys', 'master.key'), data, undefined), undefined, 'a sibling folder whose name starts alike is elsewhere');
  assert.equal(masterKeyPlacementWarning(undefined, data, join(dbDir, 'x.db')), undefined, 'a key from the environment');
});

test('admin credentials: written owner-only, replacing (never following) what was there', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'elsewhere.txt');
  await writeFile(target, 'untouched');
  await symlink(target, join(dir, ADMIN_CREDENTIALS_FILE));
  const file = await writeAdminCredentials(dir, { username: 'admin', password: 'pw-123', token: 'snl_tok' }, 'root-x', new Date('2026-01-01T00:00:00Z'));
  assert.equal(file, join(dir, ADMIN_CREDENTIALS_FILE));
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  assert.match(text, /^username: admin$/m);
  assert.match(text, /^password: pw-123$/m);
  assert.match(text, /^token: snl_tok$/m);
  assert.equal(await readFile(target, 'utf8'), 'untouched');
  const given = await readFile(await writeAdminCredentials(dir, { username: 'admin', password: 'pw-456' }, 'root-x', new Date()), 'utf8');
  assert.match(given, /^token: the value of SNAPLINE_ADMIN_TOKEN$/m);
});

test('first start: the credentials go to an owner-only file whose token works, once; the master key placement is warned about', async (t) => {
  const dataDir = await tempDir(t);
  // The default layout: the master key and the SQLite database in the data folder.
  const masterKey = generateMasterKey();
  await writeFile(join(dataDir, 'master.key'), masterKey, { mode: 0o600 });
  const db = openDatabase(`sqlite:${join(dataDir, 'snapline.db')}`);
  await migrate(db, [platformMigrations]);
  const custody = new KeyCustody(db.kysely, await loadMasterKeyRing({ key: masterKey }));
  for (const name of ['root', 'store']) await custody.import(name, await readFile(join(VECTORS_DIR, `keys/${name}.pkcs8.pem`)), { accountId: 'secrets-root' });
  await db.close();

  const env = { SNAPLINE_ROOT_ID: 'secrets-root', SNAPLINE_LOG_LEVEL: 'silent' };
  const config = loadConfig({ data: dataDir, listen: '127.0.0.1:0' }, env, dataDir);
  const first = await startServer({ config, env, listen: false });
  try {
    assert.equal(first.adminCredentialsFile, join(dataDir, ADMIN_CREDENTIALS_FILE));
    assert.equal((await stat(first.adminCredentialsFile)).mode & 0o777, 0o600);
    const token = /^token: (\S+)$/m.exec(await readFile(first.adminCredentialsFile, 'utf8'))![1]!;
    const me = await first.app.inject({ method: 'GET', url: '/api/whoami', headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.statusCode, 200);
    assert.equal(me.json().username, 'admin');
    assert.equal(first.warnings.length, 1);
    assert.match(first.warnings[0]!, /master key file .*master\.key is in the data folder/);
  } finally {
    await first.close();
  }
  const again = await startServer({ config, env, listen: false });
  try {
    assert.equal(again.adminCredentialsFile, undefined, 'written on the first start only');
  } finally {
    await again.close();
  }
});
