// Maps the constraint errors of better-sqlite3 and pg onto the data layer's
// typed errors. Everything else passes through unchanged.
import { ConflictError, ReferenceMissingError } from './errors.ts';

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

/** Returns the typed error for a unique or foreign-key violation, else `err` itself. */
export function translateDatabaseError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const e = err as EngineError;
  const message = typeof e.message === 'string' ? e.message : String(err);
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
