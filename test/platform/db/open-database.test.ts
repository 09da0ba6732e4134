import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import {
  ConflictError,
  DatabaseError,
  ReferenceMissingError,
  fromDbTime,
  openDatabase,
  parseDatabaseUrl,
  toDbTime,
} from '../../../src/platform/db/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';

test('parseDatabaseUrl: sqlite forms, postgres, and refusals', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:data/snapline.db'), { engine: 'sqlite', path: 'data/snapline.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite:///var/lib/snapline.db'), { engine: 'sqlite', path: '/var/lib/snapline.db' });
  assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { engine: 'sqlite', path: ':memory:' });
  assert.deepEqual(parseDatabaseUrl('/srv/x.db'), { engine: 'sqlite', path: '/srv/x.db' });
  assert.deepEqual(parseDatabaseUrl('postgres://u@h/db'), { engine: 'postgres', url: 'postgres://u@h/db' });
  assert.deepEqual(parseDatabaseUrl('postgresql://u@h/db'), { engine: 'postgres', url: 'postgresql://u@h/db' });
  for (const bad of ['', 'mysql://h/db', 'sqlite:']) {
    assert.throws(() => parseDatabaseUrl(bad), (err: unknown) => err instanceof DatabaseError && err.code === 'db-url-invalid', bad);
  }
});

test('sqlite opens with WAL, foreign keys and a busy timeout, creating the folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapline-open-'));
  const db = openDatabase(`sqlite:${join(dir, 'nested', 'x.db')}`, { busyTimeoutMs: 1234 });
  try {
    const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db.kysely)).rows[0] as object)[0];
    assert.equal(await pragma('journal_mode'), 'wal');
    assert.equal(await pragma('foreign_keys'), 1);
    assert.equal(await pragma('busy_timeout'), 1234);
    assert.equal(db.engine, 'sqlite');
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('toDbTime is fixed-width, so string order is time order', () => {
  const times = [new Date('0999-01-01T00:00:00Z'), new Date('2001-09-09T01:46:40Z'), new Date('2025-01-31T12:00:00.5Z')];
  const stored = times.map(toDbTime);
  assert.deepEqual([...stored].sort(), stored);
  assert.deepEqual(stored.map(fromDbTime), times);
  assert.throws(() => toDbTime(new Date('+010000-01-01T00:00:00Z')), RangeError);
  assert.throws(() => toDbTime(new Date(NaN)), RangeError);
});

forEachEngine('ids and counts read back as numbers; ping works', async (db) => {
  await db.ping();
  const row = await db.kysely
    .insertInto('users')
    .values({ username: 'alice', password_hash: null, created_at: toDbTime(new Date()) })
    .returning('id')
    .executeTakeFirstOrThrow();
  assert.equal(typeof row.id, 'number');
  const { n } = await db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  assert.equal(n, 1);
  const user = await db.kysely.selectFrom('users').selectAll().executeTakeFirstOrThrow();
  assert.equal(user.superuser, 0);
});

forEachEngine('unique violations become ConflictError on both engines', async (db) => {
  const insert = () =>
    db.kysely.insertInto('accounts').values({ account_id: 'acme', display_name: 'Acme', username: null, validation: 'unproven', created_at: toDbTime(new Date()) }).execute();
  await insert();
  const err = await insert().then(
    () => assert.fail('second insert succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConflictError);
  assert.equal(err.code, 'conflict');
  assert.match(String(err.constraint), /accounts/);
});

forEachEngine('foreign key violations become ReferenceMissingError', async (db) => {
  await assert.rejects(
    db.kysely.insertInto('memberships').values({ user_id: 999, account_id: 'nobody', role: 'admin', created_at: toDbTime(new Date()) }).execute(),
    (err: unknown) => err instanceof ReferenceMissingError && err.code === 'reference-missing',
  );
});

forEachEngine('transaction commits on success and rolls back on error', async (db) => {
  const now = toDbTime(new Date());
  await db.transaction(async (trx) => {
    await trx.insertInto('users').values({ username: 'kept', password_hash: null, created_at: now }).execute();
  });
  await assert.rejects(
    db.transaction(async (trx) => {
      await trx.insertInto('users').values({ username: 'dropped', password_hash: null, created_at: now }).execute();
      await trx.insertInto('users').values({ username: 'kept', password_hash: null, created_at: now }).execute();
    }),
    ConflictError,
  );
  const names = await db.kysely.selectFrom('users').select('username').orderBy('username').execute();
  assert.deepEqual(names.map((r) => r.username), ['kept']);
});

forEachEngine('concurrent transactions from two handles both commit', async (db, { reopen, engine, t }) => {
  if (engine === 'sqlite') {
    // A second handle in one process would block the event loop while it
    // waits for the lock; two processes are tested in migrate.test.ts.
    t.skip('sqlite: one handle per process');
    return;
  }
  const other = reopen();
  const now = toDbTime(new Date());
  await Promise.all(
    [db, other].flatMap((h, i) =>
      Array.from({ length: 5 }, (_, j) =>
        h.transaction(async (trx) => {
          await trx.insertInto('users').values({ username: `u${i}-${j}`, password_hash: null, created_at: now }).execute();
        }),
      ),
    ),
  );
  const { n } = await db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  assert.equal(n, 10);
});
