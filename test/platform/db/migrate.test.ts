import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import {
  DatabaseError,
  MIGRATIONS_TABLE,
  migrate,
  openDatabase,
  platformMigrations,
  toDbTime,
  type Database,
  type ServiceMigrations,
} from '../../../src/platform/db/index.ts';
import { TEST_POSTGRES_URL, createTestDatabase, forEachEngine, postgresUnavailable } from '../../helpers/databases.ts';

const run = promisify(execFile);
const CHILD = new URL('./fixtures/migrate-child.ts', import.meta.url).pathname;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ledger(db: Database<any>): Promise<string[]> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rows = await (db.kysely as Kysely<any>).selectFrom(MIGRATIONS_TABLE).select(['service', 'name']).orderBy('service').orderBy('name').execute();
  return rows.map((r: { service: string; name: string }) => `${r.service}/${r.name}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function tables(db: Database<any>): Promise<string[]> {
  // Only this test's own tables: Kysely's introspection reads every schema, and
  // parallel test files create and drop theirs meanwhile.
  const rows =
    db.engine === 'postgres'
      ? (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema()`.execute(db.kysely)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db.kysely)).rows;
  return rows.map((r) => r.name).sort();
}

const platformNames = platformMigrations.migrations.map((m) => `platform/${m.name}`);

function list(service: ServiceMigrations['service'], ...names: string[]): ServiceMigrations {
  return {
    service,
    migrations: names.map((name) => ({
      name,
      async up(db) {
        await db.schema.createTable(`t_${service}_${name.replace(/\W/g, '_')}`).addColumn('x', 'text').execute();
      },
    })),
  };
}

forEachEngine(
  'from an empty database: every platform table, every migration recorded once',
  async (db) => {
    const applied = await migrate(db, [platformMigrations]);
    assert.deepEqual(applied.map((a) => `${a.service}/${a.name}`), platformNames);
    assert.deepEqual(await tables(db), ['accounts', 'api_tokens', 'assertions', 'audit_log', 'login_failures', 'memberships', 'signing_keys', MIGRATIONS_TABLE, 'users']);
    assert.deepEqual(await ledger(db), platformNames);
    assert.deepEqual(await migrate(db, [platformMigrations]), [], 'a second run has nothing to do');
  },
  { migrations: [] },
);

forEachEngine(
  'from the previous version: the last migration applies and earlier data is kept',
  async (db) => {
    const previous = { service: 'platform' as const, migrations: platformMigrations.migrations.slice(0, -1) };
    await migrate(db, [previous]);
    const now = toDbTime(new Date());
    await db.kysely.insertInto('accounts').values({ account_id: 'acme', display_name: 'Acme', username: 'acme', validation: 'verified', created_at: now }).execute();
    const { id } = await db.kysely.insertInto('users').values({ username: 'alice', password_hash: null, created_at: now }).returning('id').executeTakeFirstOrThrow();
    await db.kysely.insertInto('memberships').values({ user_id: id, account_id: 'acme', role: 'admin', created_at: now }).execute();
    await db.kysely.insertInto('audit_log').values({ at: now, actor: 'system', actor_user_id: null, action: 'account.create', target: 'acme', account_id: 'acme', origin: null, ip: null, request_id: null, details: null }).execute();

    const applied = await migrate(db, [platformMigrations]);
    assert.deepEqual(applied.map((a) => a.name), [platformMigrations.migrations.at(-1)!.name]);
    assert.equal((await db.kysely.selectFrom('accounts').selectAll().executeTakeFirstOrThrow()).display_name, 'Acme');
    assert.equal((await db.kysely.selectFrom('memberships').selectAll().executeTakeFirstOrThrow()).role, 'admin');
    assert.equal((await db.kysely.selectFrom('audit_log').selectAll().executeTakeFirstOrThrow()).action, 'account.create');
    assert.deepEqual(await db.kysely.selectFrom('signing_keys').selectAll().execute(), []);
  },
  { migrations: [] },
);

forEachEngine(
  'services keep separate lists; a later migration of one service applies alone',
  async (db) => {
    await migrate(db, [list('platform', 'a'), list('store', 'a')]);
    const applied = await migrate(db, [list('platform', 'a'), list('store', 'a', 'b'), list('vault', 'a')]);
    assert.deepEqual(applied, [
      { service: 'store', name: 'b' },
      { service: 'vault', name: 'a' },
    ]);
    assert.deepEqual(await ledger(db), ['platform/a', 'store/a', 'store/b', 'vault/a']);
  },
  { migrations: [] },
);

forEachEngine(
  'a failing migration rolls back the whole run',
  async (db) => {
    const failing: ServiceMigrations = {
      service: 'store',
      migrations: [
        ...list('store', 'ok').migrations,
        {
          name: 'broken',
          async up(trx) {
            await sql`select * from no_such_table`.execute(trx);
          },
        },
      ],
    };
    await assert.rejects(migrate(db, [list('platform', 'a'), failing]), (err: unknown) => {
      assert.ok(err instanceof DatabaseError);
      assert.equal(err.code, 'migration-failed');
      assert.match(err.message, /store\/broken/);
      return true;
    });
    const left = await tables(db);
    assert.ok(!left.includes('t_platform_a') && !left.includes('t_store_ok'), `tables left behind: ${left.join(', ')}`);
    await migrate(db, [list('platform', 'a')]);
    assert.deepEqual(await ledger(db), ['platform/a']);
  },
  { migrations: [] },
);

forEachEngine(
  'refuses a database migrated by a newer version, and a migration inserted before applied ones',
  async (db) => {
    await migrate(db, [list('store', 'a', 'c')]);
    await assert.rejects(migrate(db, [list('store', 'a')]), (err: unknown) => err instanceof DatabaseError && err.code === 'migration-unknown');
    await assert.rejects(migrate(db, [list('store', 'a', 'b', 'c')]), (err: unknown) => err instanceof DatabaseError && err.code === 'migration-invalid');
    await assert.rejects(migrate(db, [list('store', 'a', 'a')]), (err: unknown) => err instanceof DatabaseError && err.code === 'migration-invalid');
    await assert.rejects(migrate(db, [list('store', 'a'), list('store', 'b')]), (err: unknown) => err instanceof DatabaseError && err.code === 'migration-invalid');
  },
  { migrations: [] },
);

test('two processes migrating one SQLite file at once: each migration runs once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-migrate-'));
  const url = `sqlite:${join(dir, 'shared.db')}`;
  try {
    const outputs = await Promise.all([1, 2].map(() => run(process.execPath, ['--import', 'tsx', CHILD, url])));
    const counts = outputs.map((o) => Number(o.stdout.trim())).sort();
    assert.deepEqual(counts, [0, platformNames.length + 1]);
    const db = openDatabase(url);
    try {
      assert.deepEqual(await ledger(db), [...platformNames, 'store/0001-slow']);
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two processes migrating one PostgreSQL schema at once: each migration runs once', async (t) => {
  const reason = await postgresUnavailable();
  if (reason) {
    t.skip(reason);
    return;
  }
  const tdb = await createTestDatabase('postgres', { migrations: [] });
  try {
    const schema = (await sql<{ s: string }>`select current_schema() as s`.execute(tdb.db.kysely)).rows[0]!.s;
    const outputs = await Promise.all([1, 2].map(() => run(process.execPath, ['--import', 'tsx', CHILD, TEST_POSTGRES_URL, schema])));
    const counts = outputs.map((o) => Number(o.stdout.trim())).sort();
    assert.deepEqual(counts, [0, platformNames.length + 1]);
    assert.deepEqual(await ledger(tdb.db), [...platformNames, 'store/0001-slow']);
  } finally {
    await tdb.cleanup();
  }
});
