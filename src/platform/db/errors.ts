// Typed errors of the data layer. Engine errors that callers branch on
// (unique and foreign-key violations) are translated into these at the driver,
// so repositories and services never look at SQLite or PostgreSQL error codes.
import { CodedError } from '../../errors/coded-error.ts';

/** Stable error codes of the data layer. */
export type DatabaseErrorCode =
  /** a unique index or primary key already holds the value */
  | 'conflict'
  /** a foreign key names a row that does not exist (or a referenced row is still in use) */
  | 'reference-missing'
  /** the database URL is not `sqlite:PATH`, a file path or `postgres://…` */
  | 'db-url-invalid'
  /** a migration threw; nothing of that run was kept */
  | 'migration-failed'
  /** the database holds migrations this code does not know: it is newer than the code */
  | 'migration-unknown'
  /** a service's migration list is malformed (duplicate names) or the ledger has gaps */
  | 'migration-invalid'
  /** the database cannot serve now (connection lost or refused, pool timeout, locked, I/O error, file gone, schema missing): retry later */
  | 'database-unavailable';

/** An error of the data layer; `code` is stable, `message` is for humans. */
export class DatabaseError extends CodedError<DatabaseErrorCode> {
  override readonly name: string = 'DatabaseError';
}

/** A write hit a unique index or primary key. `constraint` names it when the engine says. */
export class ConflictError extends DatabaseError {
  override readonly name = 'ConflictError';
  declare readonly code: 'conflict';
  constructor(
    message: string,
    /** The index or constraint (PostgreSQL) or the `table.column` list (SQLite), when known. */
    readonly constraint: string | undefined,
    options?: { cause?: unknown },
  ) {
    super('conflict', message, options);
  }
}

/** A write broke a foreign key. */
export class ReferenceMissingError extends DatabaseError {
  override readonly name = 'ReferenceMissingError';
  declare readonly code: 'reference-missing';
  constructor(message: string, options?: { cause?: unknown }) {
    super('reference-missing', message, options);
  }
}

/** Seconds a client is told to wait before retrying when the database is unavailable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The database cannot serve now, through no fault of the caller: the HTTP
 * edge answers 503 with Retry-After. `message` names the cause for the log.
 */
export class DatabaseUnavailableError extends DatabaseError {
  override readonly name = 'DatabaseUnavailableError';
  declare readonly code: 'database-unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super('database-unavailable', message, { ...options, retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS });
  }
}

export function isDatabaseError(err: unknown, code?: DatabaseErrorCode): err is DatabaseError {
  return err instanceof DatabaseError && (code === undefined || err.code === code);
}
