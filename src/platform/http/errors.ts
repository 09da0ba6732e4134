// Errors raised at the HTTP edge, and the admin API's error body. Codes and
// statuses live in the catalog (src/errors/catalog.ts).
import { CodedError } from '../../errors/coded-error.ts';
import type { ErrorCode } from '../../errors/catalog.ts';

/** An error raised by route code itself (bad input, missing rights): status and shape come from the catalog. */
export class ApiError extends CodedError {
  override readonly name = 'ApiError';
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details ? { details } : {});
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: details ? { code, message, details } : { code, message } };
}

/** JSON schema of the error body, for OpenAPI. */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
    },
  },
} as const;
