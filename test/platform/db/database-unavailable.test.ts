// Faults of the database (not of the caller) become one typed error,
// `database-unavailable`, at the data layer; SQLite notices its file being
// removed and opens it again when it is back; the readiness check sees an
// unmigrated database.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import {
  ConflictError,
  DatabaseUnavailableError,
  isDatabaseError,
  migrate,
  openDatabase,
  pendingMigrations,
  platformMigrations,
  type ServiceMigrations,
} from '../../../src/platform/db/index.ts';
import { translateDatabaseError } from '../../../src/platform/db/translate-error.ts';
import { forEachEngine, postgresUnavailable, TEST_POSTGRES_URL } from '../../helpers/databases.ts';

const unavailable = (err: unknown) => isDatabaseError(err, 'database-unavailable') && (err as DatabaseUnavailableError).retryAfterSeconds! > 0;

function engineError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

test('translateDatabaseError: faults of the database become database-unavailable; the caller\'s errors and bugs do not', () => {
  const faults = [
    engineError('57P01', 'terminating connection due to administrator command'),
    engineError('57P03', 'the database system is starting up'),
    engineError('08006', 'connection failure'),
    engineError('53300', 'sorry, too many clients already'),
    engineError('3D000', 'database "x" does not exist'),
    engineError('42P01', 'relation "users" does not exist'),
    engineError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    engineError('ECONNRESET', 'read ECONNRESET'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    engineError('SQLITE_BUSY', 'database is locked'),
    engineError('SQLITE_IOERR_WRITE', 'disk I/O error'),
    engineError('SQLITE_CANTOPEN', 'unable to open database file'),
    engineError('SQLITE_FULL', 'database or disk is full'),
    engineError('SQLITE_READONLY_DBMOVED', 'attempt to write a readonly database'),
    engineError('SQLITE_ERROR', 'no such table: users'),
    new TypeError('The database connection is not open'),
    new AggregateError([engineError('ECONNREFUSED'), engineError('ECONNREFUSED')], 'all addresses refused'),
  ];
  for (const err of faults) {
    const typed = translateDatabaseError(err);
    assert.ok(typed instanceof DatabaseUnavailableError, `${err.message} → ${String(typed)}`);
    assert.equal(typed.code, 'database-unavailable');
    assert.equal(typed.cause, err);
    assert.equal(typed.retryAfterSeconds, 5);
  }
  assert.ok(translateDatabaseError(engineError('23505', 'dup')) instanceof ConflictError);
  for (const err of [engineError('42601', 'syntax error'), engineError('22P02', 'invalid input syntax'), engineError('SQLITE_ERROR', 'near "selec": syntax error'), new Error('a bug')]) {
    assert.equal(translateDatabaseError(err), err, `${err.message} passes through (a bug: 500)`);
  }
  const typed = new DatabaseUnavailableError('already typed');
  assert.equal(translateDatabaseError(typed), typed);
});

test('sqlite: a database file removed while in use fails with database-unavailable, and serves again once it is put back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-gone-'));
  const file = join(dir, 'x.db');
  const db = openDatabase(`sqlite:${file}`);
  const away = join(dir, 'away');
  try {
    await sql`create table t (x integer)`.execute(db.kysely);
    await sql`insert into t values (1)`.execute(db.kysely);
    // What an operator (or a cleanup script) does: the file, its WAL and shared memory go.
    await mkdir(away);
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) await rename(file + suffix, join(away, 'x.db' + suffix));
    // Without the check, SQLite in WAL mode would go on writing into the unlinked file.
    await assert.rejects(db.ping(), unavailable);
    await assert.rejects(sql`insert into t values (2)`.execute(db.kysely), unavailable);
    await assert.rejects(db.transaction(async (trx) => sql`insert into t values (3)`.execute(trx)), unavailable);
    assert.equal(existsSync(file), false, 'reopening never creates an empty database in its place');
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(join(away, 'x.db' + suffix))) await rename(join(away, 'x.db' + suffix), file + suffix);
    await db.ping();
    assert.deepEqual((await sql<{ x: number }>`select x from t`.execute(db.kysely)).rows, [{ x: 1 }]);
    await sql`insert into t values (4)`.execute(db.kysely);
    assert.equal((await sql<{ n: number }>`select count(*) as n from t`.execute(db.kysely)).rows[0]!.n, 2);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

const LISTS: ServiceMigrations[] = [
  platformMigrations,
  { service: 'store', migrations: [{ name: '0001-x', up: async (db) => void (await db.schema.createTable('fault_test_x').addColumn('a', 'text').execute()) }] },
];

forEachEngine(
  'pendingMigrations: all of them on an empty database, none once migrated, the new ones after an upgrade',
  async (db) => {
    const all = await pendingMigrations(db, LISTS);
    assert.equal(all.length, platformMigrations.migrations.length + 1);
    assert.equal(all[0], `platform/${platformMigrations.migrations[0]!.name}`);
    await migrate(db, [platformMigrations]);
    assert.deepEqual(await pendingMigrations(db, LISTS), ['store/0001-x']);
    await migrate(db, LISTS);
    assert.deepEqual(await pendingMigrations(db, LISTS), []);
  },
  { migrations: [] },
);

forEachEngine(
  'a missing table is database-unavailable (the database was replaced by an empty one)',
  async (db) => {
    await assert.rejects(sql`select * from users`.execute(db.kysely), unavailable);
  },
  { migrations: [] },
);

test('postgres: a refused connection is database-unavailable within the connect timeout', async () => {
  // A port nothing listens on: connect is refused at once.
  const url = new URL(TEST_POSTGRES_URL);
  url.port = '1';
  const db = openDatabase(url.toString(), { connectTimeoutMs: 2000 });
  try {
    await assert.rejects(db.ping(), unavailable);
    await assert.rejects(db.transaction(async (trx) => sql`select 1`.execute(trx)), unavailable);
  } finally {
    await db.close();
  }
});

test('postgres: connections terminated by the server are replaced by the pool; the query that lost its connection is database-unavailable', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const db = openDatabase(TEST_POSTGRES_URL, { poolSize: 2 });
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.kysely)).rows[0]!.pid;
    // A query in flight when its backend is terminated.
    // Only that backend is terminated: other test files share this database.
    let slowPid: (pid: number) => void = () => undefined;
    const slowStarted = new Promise<number>((resolve) => (slowPid = resolve));
    const slow = db.transaction(async (trx) => {
      slowPid((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid);
      await sql`select pg_sleep(5)`.execute(trx);
    });
    // Its rejection is awaited from now on: it may come before the terminate call returns.
    const slowFails = assert.rejects(slow, unavailable);
    const inFlight = await slowStarted;
    await new Promise((r) => setTimeout(r, 200));
    await admin.query('select pg_terminate_backend($1)', [inFlight]);
    await slowFails;
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await new Promise((r) => setTimeout(r, 100));
    await db.ping();
    assert.equal((await sql<{ one: number }>`select 1 as one`.execute(db.kysely)).rows[0]!.one, 1);
  } finally {
    await admin.end();
    await db.close();
  }
});
