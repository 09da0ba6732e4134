// A Kysely driver wrapper that gives both engines the same behaviour where
// Kysely's own drivers differ or leave it to the caller:
// - constraint errors become typed errors, and faults of the database (lost
//   connection, pool timeout, locked or missing file) `database-unavailable`
//   (translate-error.ts), on every query and every connection or transaction
//   step, so services never see an engine's error codes;
// - on SQLite, transactions start with BEGIN IMMEDIATE. A deferred BEGIN takes
//   the write lock only at the first write, and if another process wrote in
//   between, SQLite fails at once with SQLITE_BUSY instead of waiting for
//   busy_timeout. Taking the lock up front makes writers queue instead.
import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';
import { DatabaseUnavailableError } from './errors.ts';
import { translateDatabaseError } from './translate-error.ts';

export interface TranslatingDriverOptions {
  /** The statement that opens a transaction when no isolation settings are given. */
  beginStatement?: string;
  /** Told when an error was translated to `database-unavailable` (SQLite checks its file again). */
  onUnavailable?: () => void;
}

type Translate = (err: unknown) => unknown;

class TranslatingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly translate: Translate,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      throw this.translate(err);
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (err) {
      throw this.translate(err);
    }
  }
}

/** Wraps `inner`: same connections and transactions, typed constraint errors. */
export class TranslatingDriver implements Driver {
  // The inner driver must get back its own connection objects (pg's release
  // uses a private symbol on them), so each wrapper remembers its original.
  readonly #wrapped = new WeakMap<DatabaseConnection, TranslatingConnection>();

  constructor(
    private readonly inner: Driver,
    private readonly options: TranslatingDriverOptions = {},
  ) {}

  readonly #translate: Translate = (err) => {
    const typed = translateDatabaseError(err);
    if (typed instanceof DatabaseUnavailableError) this.options.onUnavailable?.();
    return typed;
  };

  /** Runs `step`, translating what it throws. */
  async #translated<R>(step: () => Promise<R>): Promise<R> {
    try {
      return await step();
    } catch (err) {
      throw this.#translate(err);
    }
  }

  init(): Promise<void> {
    // SQLite opens its file here; Kysely retries a failed init on the next query.
    return this.#translated(() => this.inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // PostgreSQL connects here (refused, pool timeout, database missing).
    const conn = await this.#translated(() => this.inner.acquireConnection());
    let wrapper = this.#wrapped.get(conn);
    if (!wrapper) {
      wrapper = new TranslatingConnection(conn, this.#translate);
      this.#wrapped.set(conn, wrapper);
    }
    return wrapper;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const begin = this.options.beginStatement;
    if (begin && !settings.isolationLevel && !settings.accessMode) {
      await connection.executeQuery(CompiledQuery.raw(begin));
      return;
    }
    await this.#translated(() => this.inner.beginTransaction(unwrap(connection), settings));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.inner.commitTransaction(unwrap(connection));
    } catch (err) {
      // Deferred foreign keys and the like report at commit.
      throw this.#translate(err);
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Kysely throws what rollback throws instead of the transaction's own
    // error. A transaction that the engine already ended (SQLite reopened
    // its file after losing it) has nothing to roll back.
    try {
      await this.inner.rollbackTransaction(unwrap(connection));
    } catch (err) {
      if (/no transaction is active/.test((err as Error).message)) return;
      throw this.#translate(err);
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.#translated(() => this.inner.savepoint!(unwrap(connection), name, compile));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.#translated(() => this.inner.rollbackToSavepoint!(unwrap(connection), name, compile));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: Parameters<NonNullable<Driver['savepoint']>>[2]): Promise<void> {
    await this.#translated(() => this.inner.releaseSavepoint!(unwrap(connection), name, compile));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}
