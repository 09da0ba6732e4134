// The server when its database goes away and comes back, without a restart:
// every route answers 503 with Retry-After and the code database-unavailable
// in its wire shape (platform, snapd, vault), /readyz says unavailable
// (also for an empty, unmigrated database), and all is well again once the
// database is back.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/platform/config.ts';
import { startServer, type RunningServer } from '../../src/platform/server.ts';
import { KeyCustody, loadMasterKeyRing } from '../../src/platform/keys/index.ts';
import { migrate, openDatabase, platformMigrations, type Database } from '../../src/platform/db/index.ts';
import type { Service } from '../../src/platform/services.ts';
import { postgresUnavailable, TEST_POSTGRES_URL } from '../helpers/databases.ts';
import { TEST_ADMIN_TOKEN, TEST_MASTER_KEY, TEST_ROOT_ID } from '../helpers/server.ts';
import { VECTORS_DIR } from '../helpers/vectors.ts';

/** One route per wire shape, each reading the database on every call. */
const probe: Service = {
  name: 'store',
  async register(app, ctx) {
    const shapes = [
      ['platform', '/api/fault-probe'],
      ['snapd', '/v2/fault-probe'],
      ['vault', '/v1/fault-probe'],
    ] as const;
    for (const [shape, url] of shapes) {
      app.get(url, { config: { access: { kind: 'public' }, ...(shape === 'platform' ? {} : { errorShape: shape }) } }, async () => {
        const rows = await ctx.db.kysely.selectFrom('accounts').select('account_id').execute();
        return { accounts: rows.length };
      });
    }
  },
};

async function start(t: TestContext, db: Database, dataDir: string): Promise<RunningServer> {
  await migrate(db, [platformMigrations]);
  const custody = new KeyCustody(db.kysely, await loadMasterKeyRing({ key: TEST_MASTER_KEY }));
  for (const name of ['root', 'store']) await custody.import(name, await readFile(join(VECTORS_DIR, `keys/${name}.pkcs8.pem`)), { accountId: TEST_ROOT_ID });
  const env = { SNAPLINE_MASTER_KEY: TEST_MASTER_KEY, SNAPLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, SNAPLINE_ROOT_ID: TEST_ROOT_ID };
  const config = loadConfig({ data: dataDir, db: 'sqlite:/unused', listen: '127.0.0.1:0' }, { ...env, SNAPLINE_LOG_LEVEL: 'silent' }, dataDir);
  const server = await startServer({ config, env, database: db, listen: false, services: [probe] });
  t.after(() => server.close());
  return server;
}

async function expectAvailable(server: RunningServer, what: string): Promise<void> {
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200, `${what}: ${ready.body}`);
  for (const url of ['/api/fault-probe', '/v2/fault-probe', '/v1/fault-probe']) {
    const res = await server.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, `${what}: ${url}: ${res.body}`);
  }
}

async function expectUnavailable(server: RunningServer, what: string): Promise<void> {
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503, `${what}: /readyz ${ready.body}`);
  assert.equal(ready.json().code, 'database-unavailable');
  assert.ok(Number(ready.headers['retry-after']) > 0);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the three wire shapes, read loosely
  const codeOf: Record<string, (body: any) => unknown> = {
    '/api/fault-probe': (b) => b.error.code,
    '/v2/fault-probe': (b) => b['error-list'][0].code,
    '/v1/fault-probe': (b) => [b.code, b.error_list[0].code],
  };
  for (const [url, code] of Object.entries(codeOf)) {
    const res = await server.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 503, `${what}: ${url}: ${res.body}`);
    assert.equal(res.headers['retry-after'], '5', `${what}: ${url}`);
    const c = code(res.json());
    assert.deepEqual(c, url === '/v1/fault-probe' ? ['database-unavailable', 'database-unavailable'] : 'database-unavailable', `${what}: ${url}: ${res.body}`);
    assert.doesNotMatch(res.body, /ECONNREFUSED|does not exist|SQLITE|5432|terminat/i, 'engine details stay in the log');
  }
}

test('postgres: the database terminated, renamed away, replaced by an empty one, then restored: 503 in every shape, then 200 again', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const name = `snapline_fault_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  const kick = (db: string) => admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [db]);
  const dataDir = await mkdtemp(join(tmpdir(), 'snapline-fault-'));
  await admin.query(`create database ${name}`);
  t.after(async () => {
    for (const db of [name, `${name}_away`]) await admin.query(`drop database if exists ${db} with (force)`);
    await admin.end();
    await rm(dataDir, { recursive: true, force: true });
  });
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  const db = openDatabase(url.toString(), { poolSize: 3, connectTimeoutMs: 2000 });
  const server = await start(t, db, dataDir);
  await expectAvailable(server, 'at start');

  // The database goes away: its connections are cut and it cannot be reached.
  await kick(name);
  await admin.query(`alter database ${name} rename to ${name}_away`);
  await expectUnavailable(server, 'database gone');

  // An empty database of the same name: reachable, but not migrated.
  await admin.query(`create database ${name}`);
  await expectUnavailable(server, 'empty database');

  // The original comes back (as a restore would): served again, no restart.
  await kick(name);
  await admin.query(`drop database ${name}`);
  await admin.query(`alter database ${name}_away rename to ${name}`);
  await expectAvailable(server, 'database restored');

  // Connections cut once (a failover, an operator's pg_terminate_backend):
  // a request that meets a dead pooled connection gets a 503 (never a 500),
  // and the pool connects anew.
  await kick(name);
  const deadline = Date.now() + 5000;
  for (;;) {
    const answers = await Promise.all(['/readyz', '/api/fault-probe', '/v2/fault-probe', '/v1/fault-probe'].map((u) => server.app.inject({ method: 'GET', url: u })));
    for (const a of answers) assert.ok(a.statusCode === 200 || (a.statusCode === 503 && a.body.includes('database-unavailable')), a.body);
    if (answers.every((a) => a.statusCode === 200)) break;
    assert.ok(Date.now() < deadline, 'served again after the connections were cut');
    await new Promise((r) => setTimeout(r, 50));
  }
  await expectAvailable(server, 'after the connections were cut');
});

test('sqlite: the database file moved away, then put back: 503 in every shape, then 200 again', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'snapline-fault-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const file = join(dataDir, 'snapline.db');
  const away = join(dataDir, 'away');
  await mkdir(away);
  const server = await start(t, openDatabase(`sqlite:${file}`), dataDir);
  await expectAvailable(server, 'at start');
  const move = async (from: string, to: string) => {
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(from + suffix)) await rename(from + suffix, to + suffix);
  };
  await move(file, join(away, 'snapline.db'));
  await expectUnavailable(server, 'file gone');
  assert.equal(existsSync(file), false, 'no empty database was created in its place');
  await move(join(away, 'snapline.db'), file);
  await expectAvailable(server, 'file back');
});
