// Runs a test body against every database engine: SQLite in a temporary
// directory, and PostgreSQL in a fresh schema of its own (so test files can
// run in parallel against one server). PostgreSQL tests are skipped, with
// the reason, when the server is not reachable.
//
//   forEachEngine('creates a user', async (db) => { ... });
//
// Environment: SNAPLINE_TEST_POSTGRES_URL (default below);
// SNAPLINE_TEST_ENGINES=sqlite or =postgres to run one engine only.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { migrate, openDatabase, platformMigrations, type Database, type DatabaseEngine, type ServiceMigrations } from '../../src/platform/db/index.ts';

export const TEST_POSTGRES_URL = process.env['SNAPLINE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export const ENGINES: readonly DatabaseEngine[] = (['sqlite', 'postgres'] as const).filter(
  (e) => !process.env['SNAPLINE_TEST_ENGINES'] || process.env['SNAPLINE_TEST_ENGINES'].split(',').includes(e),
);

/** A database made for one test. */
export interface TestDatabase {
  db: Database;
  engine: DatabaseEngine;
  /** Opens another handle on the same database (another "process"); closed by cleanup. */
  reopen(): Database;
  /** Closes every handle and deletes the database. */
  cleanup(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Migrations to run first; default: the platform's. Pass [] for an empty database. */
  migrations?: readonly ServiceMigrations[];
}

let postgresCheck: Promise<string | undefined> | undefined;

/** Why PostgreSQL cannot be used for tests, or undefined when it can. Checked once per file. */
export function postgresUnavailable(): Promise<string | undefined> {
  postgresCheck ??= withAdminClient(async (c) => {
    await c.query('select 1');
  }).then(
    () => undefined,
    (err: Error) => `postgres not reachable at ${TEST_POSTGRES_URL}: ${err.message}`,
  );
  return postgresCheck;
}

// A short-lived client per call: a pool's idle connections would keep the
// test process alive after its last test.
async function withAdminClient<R>(fn: (client: pg.Client) => Promise<R>, url = TEST_POSTGRES_URL): Promise<R> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database on `engine`, migrated as asked. */
export async function createTestDatabase(engine: DatabaseEngine, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const handles: Database[] = [];
  let open: () => Database;
  let remove: () => Promise<void>;
  if (engine === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'snapline-db-'));
    const url = `sqlite:${join(dir, 'snapline.db')}`;
    open = () => openDatabase(url);
    remove = () => rm(dir, { recursive: true, force: true });
  } else {
    const schema = `snapline_test_${randomBytes(6).toString('hex')}`;
    await withAdminClient((c) => c.query(`create schema ${schema}`));
    open = () => openDatabase(TEST_POSTGRES_URL, { schema, poolSize: 4 });
    remove = () => withAdminClient((c) => c.query(`drop schema ${schema} cascade`)).then(() => undefined);
  }
  const reopen = () => {
    const db = open();
    handles.push(db);
    return db;
  };
  const db = reopen();
  const cleanup = async () => {
    await Promise.all(handles.map((h) => h.close()));
    await remove();
  };
  try {
    await migrate(db, options.migrations ?? [platformMigrations]);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { db, engine, reopen, cleanup };
}

/** The body of a test run on each engine. */
/**
 * A PostgreSQL database of its own, for a server in a child process (which
 * makes its own tables): created on the server of `serverUrl`; drop() removes
 * it even while connections to it remain.
 */
export async function scratchPostgresDatabase(prefix: string, serverUrl = TEST_POSTGRES_URL): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withAdminClient((c) => c.query(`create database ${name}`), serverUrl);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => withAdminClient(async (c) => void (await c.query(`drop database if exists ${name} with (force)`)), serverUrl) };
}

export type EngineTest = (db: Database, ctx: { engine: DatabaseEngine; t: TestContext; reopen: () => Database }) => Promise<void>;

/** Registers `name [sqlite]` and `name [postgres]`, each with its own fresh database. */
export function forEachEngine(name: string, body: EngineTest, options: TestDatabaseOptions = {}): void {
  for (const engine of ENGINES) {
    test(`${name} [${engine}]`, async (t) => {
      if (engine === 'postgres') {
        const reason = await postgresUnavailable();
        if (reason) {
          t.skip(reason);
          return;
        }
      }
      const tdb = await createTestDatabase(engine, options);
      try {
        await body(tdb.db, { engine, t, reopen: tdb.reopen });
      } finally {
        await tdb.cleanup();
      }
    });
  }
}
