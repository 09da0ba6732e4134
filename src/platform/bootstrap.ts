// First start: the master key of the embedded setup and the operator's
// administrator. Credentials are returned to the caller to print once; they
// are never logged and never stored in clear.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateMasterKey, loadMasterKeyRing, masterKeySourcesFromEnv, type MasterKeyRing } from './keys/index.ts';
import { createApiToken, createUser, grantRole, isAuthError, listUsers } from './auth/index.ts';
import { appendAudit } from './audit/index.ts';
import type { Database } from './db/index.ts';

/**
 * The master key ring from SNAPLINE_MASTER_KEY(_FILE); when neither is set,
 * the embedded default: `master.key` in the data folder, created on first use.
 */
export async function masterKeysFor(dataDir: string, env: NodeJS.ProcessEnv, configuredFile?: string): Promise<{ ring: MasterKeyRing; generatedFile?: string }> {
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
    return { ring: await loadMasterKeyRing(sources), ...(generatedFile ? { generatedFile } : {}) };
  }
  return { ring: await loadMasterKeyRing(sources) };
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
