// Maps the errors of better-sqlite3 and pg onto the data layer's typed
// errors: constraint violations (the caller's input), and faults of the
// database itself (connection lost, pool exhausted, locked, I/O, file or
// schema gone) as one `database-unavailable`. Everything else passes through
// unchanged (a bug: the edge answers 500).
import { ConflictError, DatabaseError, DatabaseUnavailableError, ReferenceMissingError } from './errors.ts';

interface EngineError {
  code?: unknown;
  message?: unknown;
  constraint?: unknown;
  detail?: unknown;
}

// SQLite's extended result codes (better-sqlite3 puts them in `code`).
const SQLITE_UNIQUE = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const SQLITE_FOREIGN_KEY = 'SQLITE_CONSTRAINT_FOREIGNKEY';
// PostgreSQL SQLSTATEs: unique_violation, foreign_key_violation.
const PG_UNIQUE = '23505';
const PG_FOREIGN_KEY = '23503';

// PostgreSQL SQLSTATEs and classes meaning "the database cannot serve now":
// 08 connection exception, 28 invalid authorization (credentials changed
// under us), 53 insufficient resources (disk full, out of memory, too many
// connections), 57P01-57P05 operator intervention (admin/crash shutdown,
// cannot connect now, idle session timeout), 58 system error (I/O),
// 3D000 the database does not exist, 42P01 a table does not exist (the
// database was replaced by an empty or unmigrated one), 25006 read-only
// transaction (a standby after failover).
const PG_UNAVAILABLE_CLASSES = new Set(['08', '28', '53', '58']);
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '3D000', '42P01', '25006', 'XX001', 'XX002']);
// Socket errors of pg's connection (no SQLSTATE), and pg/pg-pool messages.
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const PG_UNAVAILABLE_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|Query read timeout|terminating connection)/;
// SQLite primary result codes (extended codes share the prefix, e.g.
// SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED, SQLITE_BUSY_SNAPSHOT).
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|PROTOCOL|NOLFS|NOMEM|NOTADB|CORRUPT)(_|$)/;
// better-sqlite3's own errors once its connection was closed.
const SQLITE_CLOSED_MESSAGES = /^(The database connection is not open|database connection is not open)/;

/** Whether `err` is a fault of the database rather than of the query or the caller. */
export function isUnavailableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as EngineError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : '';
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code) && (PG_UNAVAILABLE.has(code) || PG_UNAVAILABLE_CLASSES.has(code.slice(0, 2)))) return true;
    if (NET_UNAVAILABLE.has(code) || SQLITE_UNAVAILABLE.test(code)) return true;
  }
  if (PG_UNAVAILABLE_MESSAGES.test(message) || SQLITE_CLOSED_MESSAGES.test(message)) return true;
  // SQLite's "no such table": the file was replaced by an empty or unmigrated one.
  if (code === 'SQLITE_ERROR' && /^no such table: /.test(message)) return true;
  // An AggregateError of several connection attempts (pg's connect to every address of a host name).
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.every(isUnavailableError);
  return false;
}

/**
 * Returns the typed error for a unique or foreign-key violation, and
 * `database-unavailable` for a fault of the database; else `err` itself.
 * Already typed errors pass through.
 */
export function translateDatabaseError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || err instanceof DatabaseError) return err;
  const e = err as EngineError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (isUnavailableError(err)) {
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    return new DatabaseUnavailableError(`database unavailable: ${message}${code}`, { cause: err });
  }
  if (e.code === PG_UNIQUE) {
    const constraint = typeof e.constraint === 'string' ? e.constraint : undefined;
    const detail = typeof e.detail === 'string' ? `: ${e.detail}` : '';
    return new ConflictError(`already exists${detail}`, constraint, { cause: err });
  }
  if (typeof e.code === 'string' && SQLITE_UNIQUE.has(e.code)) {
    // "UNIQUE constraint failed: users.username"
    const constraint = /constraint failed: (.*)$/.exec(message)?.[1];
    return new ConflictError(`already exists: ${constraint ?? message}`, constraint, { cause: err });
  }
  if (e.code === PG_FOREIGN_KEY || e.code === SQLITE_FOREIGN_KEY) {
    const detail = typeof e.detail === 'string' ? e.detail : message;
    return new ReferenceMissingError(`reference check failed: ${detail}`, { cause: err });
  }
  return err;
}
