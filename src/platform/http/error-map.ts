// HTTP statuses of the library errors that reach the edge. Only codes listed
// here are shown to clients with their message; anything else is an internal
// error (logged, not described), so nothing unexpected leaks.
import { AssertionError } from '../../assertions/index.ts';
import { AuthError } from '../auth/index.ts';
import { BlobError } from '../blobs/index.ts';
import { DatabaseError } from '../db/index.ts';
import { KeyCustodyError } from '../keys/index.ts';

const STATUS_BY_CODE: Record<string, number> = {
  // accounts, users, tokens, logins
  'account-not-found': 404,
  'account-exists': 409,
  'account-invalid': 400,
  'user-not-found': 404,
  'user-exists': 409,
  'user-invalid': 400,
  'role-invalid': 400,
  'token-invalid': 401,
  'token-expired': 401,
  'token-revoked': 401,
  'token-not-found': 404,
  'login-failed': 401,
  'login-throttled': 429,
  // key custody (decrypt and master key problems are server faults: 500)
  'key-not-found': 404,
  'key-exists': 409,
  'key-invalid': 400,
  'key-disabled': 409,
  // blobs
  'blob-too-large': 413,
  'blob-aborted': 400,
  'blob-digest-mismatch': 400,
  'blob-not-found': 404,
  'blob-range-invalid': 416,
  'blob-digest-invalid': 400,
  // database
  conflict: 409,
  'reference-missing': 409,
};

/** Assertion errors are the client's input being wrong, except where they say otherwise. */
const ASSERTION_STATUS: Record<string, number> = {
  'assertion-not-found': 404,
  'assertion-revision': 409,
  'assertion-too-large': 413,
};

export interface MappedError {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

/** Maps a known library error to an HTTP status; undefined for anything else. */
export function mapLibraryError(err: unknown): MappedError | undefined {
  if (err instanceof AssertionError) return { status: ASSERTION_STATUS[err.code] ?? 400, code: err.code, message: err.message };
  if (err instanceof AuthError || err instanceof BlobError || err instanceof DatabaseError || err instanceof KeyCustodyError) {
    const status = STATUS_BY_CODE[err.code];
    if (status === undefined) return undefined;
    const retry = err instanceof AuthError ? err.retryAfterSeconds : undefined;
    return { status, code: err.code, message: err.message, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) };
  }
  return undefined;
}
