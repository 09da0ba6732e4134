// First start: the master key of the embedded setup and the operator's
// administrator. The administrator's credentials are written once to a file
// only its owner can read (never to the log or the terminal); the database
// keeps only their hashes.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generateMasterKey, loadMasterKeyRing, masterKeySourcesFromEnv, type MasterKeyRing } from './keys/index.ts';
import { createApiToken, createUser, grantRole, isAuthError, listUsers } from './auth/index.ts';
import { appendAudit } from './audit/index.ts';
import type { Database } from './db/index.ts';

/**
 * The master key ring from SNAPLINE_MASTER_KEY(_FILE) or the systemd
 * credential `snapline-master-key`; when none is there, the configured file
 * (`masterKeyFile`), else the embedded default: `master.key` in the data
 * folder. Either file is created on first use. `file` is the current key's
 * file, when it comes from one.
 */
export async function masterKeysFor(dataDir: string, env: NodeJS.ProcessEnv, configuredFile?: string): Promise<{ ring: MasterKeyRing; generatedFile?: string; file?: string }> {
  const sources = masterKeySourcesFromEnv(env);
  if (sources.key === undefined && sources.keyFile === undefined) {
    const file = configuredFile ?? join(dataDir, 'master.key');
    let generatedFile: string | undefined;
    try {
      await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      await writeFile(file, generateMasterKey() + '\n', { mode: 0o600, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e; // another process made it first
      });
      await chmod(file, 0o600);
      generatedFile = file;
    }
    sources.keyFile = file;
    return { ring: await loadMasterKeyRing(sources), file, ...(generatedFile ? { generatedFile } : {}) };
  }
  return { ring: await loadMasterKeyRing(sources), ...(sources.keyFile !== undefined ? { file: sources.keyFile } : {}) };
}

/**
 * A warning when the master key file sits in the data folder or next to the
 * SQLite database: one copy of that folder (a backup, a stolen disk image)
 * then holds both the sealed signing keys and the key that opens them.
 */
export function masterKeyPlacementWarning(keyFile: string | undefined, dataDir: string, sqlitePath: string | undefined): string | undefined {
  if (keyFile === undefined) return undefined;
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const keyDir = real(dirname(keyFile));
  const places = [real(dataDir), ...(sqlitePath ? [real(dirname(sqlitePath))] : [])];
  const inside = places.find((d) => keyDir === d || keyDir.startsWith(d + '/'));
  if (!inside) return undefined;
  return (
    `the master key file ${keyFile} is in ${inside === places[0] ? 'the data folder' : 'the folder of the SQLite database'} (${inside}): ` +
    'a copy of that folder holds the sealed signing keys and the key that opens them. ' +
    'Keep the key elsewhere: SNAPLINE_MASTER_KEY_FILE, masterKeyFile in the config file, or the systemd credential snapline-master-key (docs/platform.md, Master keys)'
  );
}

/** The file, in the data folder, that receives the first start's administrator credentials. */
export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.txt';

/**
 * Writes the administrator's credentials to `admin-credentials.txt` in the
 * data folder, readable by its owner only (0600), and returns its path. A
 * file left there by an earlier first start is replaced, never written
 * through (it could be a link planted to leak the password elsewhere).
 */
export async function writeAdminCredentials(dataDir: string, admin: AdminCredentials, rootId: string, now: Date): Promise<string> {
  const file = join(dataDir, ADMIN_CREDENTIALS_FILE);
  const lines = [
    `# Snapline: the administrator created at the first start (${now.toISOString()}), root authority ${rootId}.`,
    '# Shown nowhere else; the database holds only hashes. Log in, create your own tokens, then delete this file.',
    `username: ${admin.username}`,
    ...(admin.password ? [`password: ${admin.password}`] : []),
    admin.token ? `token: ${admin.token}` : 'token: the value of SNAPLINE_ADMIN_TOKEN',
  ];
  await rm(file, { force: true });
  // Created here (wx) with mode 0600: no moment when another user could read it.
  await writeFile(file, lines.join('\n') + '\n', { mode: 0o600, flag: 'wx' });
  return file;
}

export interface AdminCredentials {
  username: string;
  /** Only when generated here; absent when SNAPLINE_ADMIN_TOKEN was given. */
  password?: string;
  token?: string;
}

/** Creates the administrator when the database has no superuser yet. */
export async function ensureAdmin(db: Database, rootId: string, env: NodeJS.ProcessEnv, now: Date): Promise<AdminCredentials | undefined> {
  if ((await listUsers(db.kysely)).some((u) => u.superuser)) return undefined;
  const givenToken = env['SNAPLINE_ADMIN_TOKEN'] || undefined;
  const password = randomBytes(18).toString('base64url');
  try {
    return await db.transaction(async (trx) => {
      const user = await createUser(trx, { username: 'admin', password, superuser: true }, now);
      await grantRole(trx, { userId: user.id, accountId: rootId, role: 'admin' }, now);
      const { token } = await createApiToken(trx, { userId: user.id, name: 'first start', roles: ['superuser', 'admin'], ...(givenToken ? { secret: givenToken } : {}) }, now);
      await appendAudit(trx, { actor: 'system', action: 'user.create', target: 'admin', accountId: rootId, origin: 'bootstrap', details: { superuser: true, tokenFromEnvironment: Boolean(givenToken) } }, now);
      return givenToken ? { username: 'admin', password } : { username: 'admin', password, token };
    });
  } catch (err) {
    if (isAuthError(err, 'user-exists')) return undefined; // another process created it first
    throw err;
  }
}
