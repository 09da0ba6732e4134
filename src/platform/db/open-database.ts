// Opens the database named by a URL: SQLite (embedded, the default) or
// PostgreSQL (several server processes), behind one Kysely instance.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Dialect, type Transaction } from 'kysely';
import { TranslatingDriver } from './driver.ts';
import { beginStatement, type DatabaseEngine } from './engine.ts';
import { DatabaseError, DatabaseUnavailableError } from './errors.ts';
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
  /**
   * Runs a trivial query; rejects (`database-unavailable`) when the database
   * is unreachable or, on SQLite, its file was removed or replaced
   * (readiness checks). A lost connection is made anew by the next query.
   */
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
  /**
   * PostgreSQL: how long a query waits to connect or for a free pooled
   * connection before failing with `database-unavailable` (default 5000 ms).
   */
  connectTimeoutMs?: number;
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
  const sqlite = location.engine === 'sqlite' ? new SqliteHandle(location.path, options) : undefined;
  const dialect = sqlite
    ? new SqliteDialect({ database: async () => sqlite })
    : postgresDialect((location as { url: string }).url, options, (p) => {
        pool = p;
      });
  const engine = location.engine;
  const kysely = new Kysely<T>({ dialect: translating(dialect, engine, () => sqlite?.suspect()) });
  return {
    kysely,
    engine,
    transaction: (fn) => kysely.transaction().execute(fn),
    ping: async () => {
      sqlite?.suspect();
      try {
        await sql`select 1`.execute(kysely);
      } catch (err) {
        if (!(err instanceof DatabaseUnavailableError)) throw err;
        // A pooled connection that died while idle fails once and is
        // dropped; the second try connects anew (or fails for good).
        await sql`select 1`.execute(kysely);
      }
    },
    poolStats: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : undefined),
    close: () => kysely.destroy(),
  };
}

function translating(dialect: Dialect, engine: DatabaseEngine, onUnavailable: () => void): Dialect {
  const begin = beginStatement(engine);
  return {
    createDriver: () => new TranslatingDriver(dialect.createDriver(), { ...(begin ? { beginStatement: begin } : {}), onUnavailable }),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}

/** How many prepared statements a SQLite connection keeps. */
const STATEMENT_CACHE_SIZE = 512;

/** How often (at most) a SQLite connection checks that its file is still the one it opened. */
const FILE_CHECK_INTERVAL_MS = 1000;

/**
 * The SQLite connection Kysely's driver uses (it needs only `prepare` and
 * `close`), opened lazily on the first query like the pg pool, with two
 * duties beyond better-sqlite3's:
 *
 * - It caches prepared statements. Kysely prepares every query anew;
 *   preparing costs about as much as running a simple query, so statements
 *   are kept by SQL text (least recently used dropped first). Safe because
 *   Kysely runs one query at a time on the single SQLite connection.
 * - It notices when its file is removed or replaced. In WAL mode SQLite
 *   keeps working on an unlinked file without an error, and every later
 *   commit would be lost at the next start. So at most once a second (and
 *   at once after a fault or on `ping`), the path is compared with the file
 *   that was opened: when it is gone, the connection is closed and queries
 *   fail with `database-unavailable` until a file is back at the path (for
 *   instance restored from a backup), which is then opened. Reopening never
 *   creates a file: an empty database would be taken for a new one.
 */
class SqliteHandle {
  #db: BetterSqlite3.Database | undefined;
  #identity: { dev: number; ino: number } | undefined;
  #checkedAt = 0;
  #openedOnce = false;
  readonly #cache = new Map<string, BetterSqlite3.Statement>();
  readonly #memory: boolean;

  constructor(
    private readonly path: string,
    private readonly options: OpenDatabaseOptions,
  ) {
    this.#memory = path === ':memory:';
  }

  prepare(sql: string): BetterSqlite3.Statement {
    const db = this.#current();
    let stmt = this.#cache.get(sql);
    if (stmt) {
      this.#cache.delete(sql);
    } else {
      stmt = db.prepare(sql);
      if (this.#cache.size >= STATEMENT_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(sql, stmt);
    return stmt;
  }

  /** Checks the file at the next statement (after a fault, before a readiness ping). */
  suspect(): void {
    this.#checkedAt = 0;
  }

  close(): void {
    this.#drop();
  }

  #current(): BetterSqlite3.Database {
    if (this.#db && !this.#memory && Date.now() - this.#checkedAt >= FILE_CHECK_INTERVAL_MS) this.#checkFile(this.#db);
    return this.#db ?? this.#open();
  }

  #open(): BetterSqlite3.Database {
    if (!this.#memory && !this.#openedOnce) mkdirSync(dirname(this.path), { recursive: true });
    // The first open creates the file; a reopen must find it (SQLITE_CANTOPEN otherwise).
    const db = new BetterSqlite3(this.path, { timeout: this.options.busyTimeoutMs ?? 5000, fileMustExist: this.#openedOnce && !this.#memory });
    try {
      // WAL: readers do not block the writer. synchronous stays FULL (the
      // default): a commit survives power loss, which the signing logs need.
      if (!this.#memory) db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      if (!this.#memory) {
        const st = statSync(this.path);
        this.#identity = { dev: st.dev, ino: st.ino };
      }
    } catch (err) {
      db.close();
      throw err;
    }
    this.#openedOnce = true;
    this.#checkedAt = Date.now();
    this.#db = db;
    return db;
  }

  #checkFile(db: BetterSqlite3.Database): void {
    this.#checkedAt = Date.now();
    let now: { dev: number; ino: number } | undefined;
    try {
      now = statSync(this.path);
    } catch {
      now = undefined;
    }
    if (now && now.dev === this.#identity?.dev && now.ino === this.#identity.ino) return;
    // Outside a transaction, a file put back at the path is simply opened;
    // inside one, the transaction lived in the old file and is lost.
    const inTransaction = db.inTransaction;
    this.#drop();
    if (now && !inTransaction) return;
    throw new DatabaseUnavailableError(`the SQLite database file ${this.path} was ${now ? 'replaced' : 'removed'} while in use`);
  }

  #drop(): void {
    this.#cache.clear();
    const db = this.#db;
    this.#db = undefined;
    try {
      db?.close();
    } catch {
      // closing a connection whose file is gone can fail; it is dropped anyway
    }
  }
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
    // Bounds the wait for a connection (refused, unreachable host, pool
    // exhausted): the caller gets database-unavailable instead of hanging.
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'snapline',
    types: pgTypes,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // Without a listener, an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onPoolError?.(err));
  // The pool listens only to idle connections. A checked-out connection whose
  // server goes away (pg_terminate_backend, failover, restart) fails its
  // query and then emits 'error' too, which would crash the process: every
  // connection gets a listener of its own. The pool drops the broken
  // connection when it is released and connects anew on demand.
  pool.on('connect', (client) => client.on('error', (err) => options.onPoolError?.(err)));
  onPool(pool);
  return new PostgresDialect({ pool });
}
