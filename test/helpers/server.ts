// A Snapline server for tests: a fresh database (SQLite or PostgreSQL), a
// temporary data folder, the vectors' root and store keys (no slow key
// generation), requests through fastify's inject.
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/platform/config.ts';
import { startServer, type RunningServer } from '../../src/platform/server.ts';
import { KeyCustody, loadMasterKeyRing } from '../../src/platform/keys/index.ts';
import { createApiToken, createUser, grantRole, type AccountRole } from '../../src/platform/auth/index.ts';
import type { DatabaseEngine } from '../../src/platform/db/index.ts';
import type { Service } from '../../src/platform/services.ts';
import { createTestDatabase } from './databases.ts';
import { VECTORS_DIR } from './vectors.ts';

export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_ADMIN_TOKEN = 'snl_test-admin-token-0123456789';
export const TEST_ROOT_ID = 'test-root';

export interface TestServer {
  server: RunningServer;
  /** A bearer token for a new user holding `roles` on `accountId` (or superuser). */
  tokenFor(roles: readonly AccountRole[] | 'superuser', accountId?: string): Promise<string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are read loosely
  request(method: string, url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string>; payload?: string | Buffer }): Promise<{ status: number; json: () => any; body: string; headers: Record<string, unknown>; raw: Buffer }>;
  close(): Promise<void>;
}

let users = 0;

export async function startTestServer(engine: DatabaseEngine, opts: { services?: readonly Service[]; env?: NodeJS.ProcessEnv; now?: () => Date; listen?: boolean } = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'snapline-server-'));
  const tdb = await createTestDatabase(engine);
  const env = { SNAPLINE_MASTER_KEY: TEST_MASTER_KEY, SNAPLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SNAPLINE_ROOT_ID: TEST_ROOT_ID, ...opts.env };
  // The vectors' keys stand in for the root's, so no RSA key is generated per test.
  const custody = new KeyCustody(tdb.db.kysely, await loadMasterKeyRing({ key: TEST_MASTER_KEY }));
  for (const name of ['root', 'store']) {
    await custody.import(name, await readFile(join(VECTORS_DIR, `keys/${name}.pkcs8.pem`)), { accountId: env.SNAPLINE_ROOT_ID });
  }
  const config = loadConfig({ data: dataDir, db: 'sqlite:/unused', listen: '127.0.0.1:0' }, { ...env, SNAPLINE_LOG_LEVEL: 'silent' }, dataDir);
  let server: RunningServer;
  try {
    server = await startServer({ config, env, database: tdb.db, listen: opts.listen ?? false, tokenRateLimit: 100_000, ...(opts.services ? { services: opts.services } : {}), ...(opts.now ? { now: opts.now } : {}) });
  } catch (err) {
    await tdb.cleanup();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const db = tdb.db.kysely;
  return {
    server,
    async tokenFor(roles, accountId) {
      const user = await createUser(db, { username: `user${++users}-${process.pid}`, superuser: roles === 'superuser' });
      if (roles !== 'superuser' && accountId) for (const role of roles) await grantRole(db, { userId: user.id, accountId, role });
      const { token } = await createApiToken(db, { userId: user.id, name: 'test', roles: roles === 'superuser' ? ['superuser'] : [...roles] });
      return token;
    },
    async request(method, url, o = {}) {
      const res = await server.app.inject({
        method: method as 'GET',
        url,
        headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
        ...(o.body !== undefined ? { payload: o.body as object } : o.payload !== undefined ? { payload: o.payload } : {}),
      });
      return { status: res.statusCode, json: () => res.json(), body: res.body, headers: res.headers, raw: res.rawPayload };
    },
    async close() {
      await server.close();
      await tdb.cleanup();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
