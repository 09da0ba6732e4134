// Typed errors of accounts, users, memberships, tokens and logins.

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
  /** no token with that id (revocation) */
  | 'token-not-found'
  /** wrong username or password (deliberately not saying which) */
  | 'login-failed'
  /** too many failed logins for this username or address; see `retryAfterSeconds` */
  | 'login-throttled'
  /** a stored password hash cannot be parsed */
  | 'password-hash-invalid';

/** An error of the auth module; `code` is stable, `message` is for humans. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** For login-throttled: when the oldest counted failure leaves the window. */
  readonly retryAfterSeconds?: number;
}

export function isAuthError(err: unknown, code?: AuthErrorCode): err is AuthError {
  return err instanceof AuthError && (code === undefined || err.code === code);
}
