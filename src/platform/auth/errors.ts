// Typed errors of accounts, users, memberships, tokens and logins.
import { CodedError } from '../../errors/coded-error.ts';

/** Stable error codes of the auth module. */
export type AuthErrorCode =
  | 'account-not-found'
  | 'account-exists'
  /** account id, display name or validation not acceptable */
  | 'account-invalid'
  | 'user-not-found'
  | 'user-exists'
  /** username or password not acceptable */
  | 'user-invalid'
  /** not a known role, or 'superuser' on an account-scoped token */
  | 'role-invalid'
  /** the token is unknown or malformed */
  | 'token-invalid'
  | 'token-expired'
  | 'token-revoked'
  /** a token may not carry a role its creator does not hold */
  | 'role-not-held'
  /** no token with that id (revocation) */
  | 'token-not-found'
  /** wrong username or password (deliberately not saying which) */
  | 'login-failed'
  /** too many failed logins for this username or address; see `retryAfterSeconds` */
  | 'login-throttled'
  /** a stored password hash cannot be parsed */
  | 'password-hash-invalid';

/** An error of the auth module; `code` is stable, `message` is for humans. */
export class AuthError extends CodedError<AuthErrorCode> {
  override readonly name = 'AuthError';
}

export function isAuthError(err: unknown, code?: AuthErrorCode): err is AuthError {
  return err instanceof AuthError && (code === undefined || err.code === code);
}
