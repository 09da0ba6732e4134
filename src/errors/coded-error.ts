// The one base of every error that may reach a client: a stable code from the
// catalog and a message for humans. Domain errors extend it and know nothing
// of HTTP; the edge (platform/http) looks the code up in the catalog.
import type { ErrorCode } from './catalog.ts';

export interface CodedErrorOptions {
  cause?: unknown;
  /** For codes a client should retry: seconds until it may. */
  retryAfterSeconds?: number;
  /** Extra facts a client may act on (platform JSON shape only). */
  details?: Record<string, unknown>;
}

export class CodedError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'CodedError';
  readonly retryAfterSeconds?: number;
  readonly details?: Record<string, unknown>;
  constructor(
    readonly code: C,
    message: string,
    options: CodedErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.details !== undefined) this.details = options.details;
  }
}

export function isCodedError<C extends ErrorCode>(err: unknown, code?: C): err is CodedError<C> {
  return err instanceof CodedError && (code === undefined || err.code === code);
}
