// Typed errors of the assertions core. Every failure carries a stable `code`
// that callers (CLI, HTTP edge) can branch on; messages follow snapd's wording.
import { CodedError } from '../errors/coded-error.ts';

/** Stable error codes of the assertions core. */
export type AssertionErrorCode =
  /** the text is not an assertion: separators, header syntax, body length, UTF-8 */
  | 'assertion-malformed'
  /** a size limit (headers, body, signature, nesting, stream) was exceeded */
  | 'assertion-too-large'
  /** the `type` header names no known assertion type */
  | 'assertion-unknown-type'
  /** a header is missing or invalid for the assertion's type */
  | 'assertion-invalid'
  /** the signature block cannot be parsed or does not verify */
  | 'assertion-bad-signature'
  /** a public key (account-key body, device-key) cannot be parsed */
  | 'assertion-bad-key'
  /** no account-key matches the signing key, or it belongs to another account */
  | 'assertion-key-not-found'
  /** the signing key is not valid now, or not at the assertion's timestamp */
  | 'assertion-key-expired'
  /** the assertion must be signed by a directly trusted authority and is not */
  | 'assertion-untrusted'
  /** a prerequisite is missing or the assertion contradicts what the database holds */
  | 'assertion-inconsistent'
  /** an equal or newer revision is already stored */
  | 'assertion-revision'
  /** the format is newer than this implementation supports */
  | 'assertion-unsupported-format'
  /** a lookup found nothing */
  | 'assertion-not-found'
  /** signing was refused (bad headers for the type, unusable key) */
  | 'assertion-sign-refused';

/** An error raised by the assertions core; `code` is stable, `message` is for humans. */
export class AssertionError extends CodedError<AssertionErrorCode> {
  override readonly name = 'AssertionError';
}

/** Header-level validation failure: a plain message, wrapped with its context by the caller. */
export class HeaderError extends Error {
  override readonly name = 'HeaderError';
}

export function isAssertionError(err: unknown, code?: AssertionErrorCode): err is AssertionError {
  return err instanceof AssertionError && (code === undefined || err.code === code);
}

/** Go's %q for the strings we quote in messages (ASCII-printable kept, the rest escaped). */
export function quote(s: string): string {
  return JSON.stringify(s);
}
