// Opens the database named by a URL: SQLite (embedded, the default) or
// PostgreSQL (several server processes), behind one Kysely instance.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Dialect, type Transaction } from 'kysely';
import { TranslatingDriver } from './driver.ts';
import { beginStatement, type DatabaseEngine } from './engine.ts';
import { DatabaseError } from './errors.ts';
import type { PlatformTables } from './platform.tables.ts';

/** An open database: the query builder, its engine, and lifecycle helpers. */
export interface Database<T = PlatformTables> {
  readonly kysely: Kysely<T>;
  readonly engine: DatabaseEngine;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back
   * when it throws. On SQLite every other query of this process waits until
   * it ends, so never use the outer `kysely` inside `fn` (it would wait forever).
   */
  transaction<R>(fn: (trx: Transaction<T>) => Promise<R>): Promise<R>;
  /** Runs a trivial query; rejects when the database is unreachable (readiness checks). */
  ping(): Promise<void>;
  /** Connection pool counts (PostgreSQL); SQLite has one connection and no pool. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL: the schema to work in (its search_path); it must exist. */
  schema?: string;
  /** PostgreSQL: the pool's maximum number of connections (default 10). */
  poolSize?: number;
  /** SQLite: how long a writer waits for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** PostgreSQL: told about errors of idle pooled connections (the pool drops them). */
  onPoolError?: (err: Error) => void;
}

/** Where a database URL points. */
export type DatabaseLocation = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/**
 * Parses a database URL: `postgres://…` or `postgresql://…`; `sqlite:PATH`
 * (also `sqlite:///abs/path` and `sqlite::memory:`); or a plain file path.
 */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return { engine: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '') throw new DatabaseError('db-url-invalid', `database URL ${JSON.stringify(url)} names no file`);
    return { engine: 'sqlite', path };
  }
  if (url === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new DatabaseError('db-url-invalid', `unsupported database URL ${JSON.stringify(url)}: use sqlite:PATH, a file path or postgres://…`);
  }
  return { engine: 'sqlite', path: url };
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Opens (and for SQLite creates) the database at `url`. Run `migrate` before use. */
export function openDatabase<T = PlatformTables>(url: string, options: OpenDatabaseOptions = {}): Database<T> {
  const location = parseDatabaseUrl(url);
  let pool: pg.Pool | undefined;
  const dialect =
    location.engine === 'sqlite'
      ? sqliteDialect(location.path, options)
      : postgresDialect(location.url, options, (p) => {
          pool = p;
        });
  const engine = location.engine;
  const kysely = new Kysely<T>({ dialect: translating(dialect, engine) });
  return {
    kysely,
    engine,
    transaction: (fn) => kysely.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(kysely);
    },
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : undefined),
    close: () => kysely.destroy(),
  };
}

function translating(dialect: Dialect, engine: DatabaseEngine): Dialect {
  return {
    createDriver: () => new TranslatingDriver(dialect.createDriver(), { beginStatement: beginStatement(engine) }),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}

function sqliteDialect(path: string, options: OpenDatabaseOptions): Dialect {
  return new SqliteDialect({
    // Opened lazily, on the first query, like the pg pool.
    database: async () => {
      const memory = path === ':memory:';
      if (!memory) mkdirSync(dirname(path), { recursive: true });
      const db = new BetterSqlite3(path, { timeout: options.busyTimeoutMs ?? 5000 });
      // WAL: readers do not block the writer. synchronous stays FULL (the
      // default): a commit survives power loss, which the signing logs need.
      if (!memory) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      return cachingStatements(db);
    },
  });
}

/** How many prepared statements a SQLite connection keeps. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * Kysely prepares every query anew; preparing costs about as much as running
 * a simple query, so prepared statements are kept by SQL text (least recently
 * used dropped first). Safe because Kysely runs one query at a time on the
 * single SQLite connection.
 */
function cachingStatements(db: BetterSqlite3.Database): { prepare(sql: string): BetterSqlite3.Statement; close(): void } {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = db.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
    close() {
      cache.clear();
      db.close();
    },
  };
}

// int8 (OID 20) arrives from pg as a string; ids and counts are far below
// 2^53, so read it as a number like SQLite's INTEGER.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

function postgresDialect(url: string, options: OpenDatabaseOptions, onPool: (pool: pg.Pool) => void): Dialect {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new DatabaseError('db-url-invalid', `invalid schema name ${JSON.stringify(schema)}`);
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    application_name: 'snapline',
    types: pgTypes,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // Without a listener, an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  onPool(pool);
  return new PostgresDialect({ pool });
}
