// The vault's errors: a stable code and the HTTP status snapd should see.
// snapd's registration reads 4xx and 500 as a permanent failure of the
// attempt, > 500 as "retry from a new request-id", 202 as "poll with the same
// request" (docs/vault.md); server faults therefore answer 503, never 400.

import { ApiError } from '../platform/http/errors.ts';

export type VaultErrorCode =
  | 'api-key-missing'
  | 'api-key-invalid'
  | 'api-key-forbidden'
  | 'api-key-expired'
  | 'api-key-quota'
  | 'stream-invalid'
  | 'serial-request-invalid'
  | 'serial-request-bad-signature'
  | 'request-id-unknown'
  | 'request-id-used'
  | 'request-id-expired'
  | 'model-unknown'
  | 'model-mismatch'
  | 'model-invalid'
  | 'serial-invalid'
  | 'serial-taken'
  | 'device-registered'
  | 'remodel-invalid'
  | 'remodel-forbidden'
  | 'key-unusable'
  | 'vault-unavailable'
  | 'vault-model-exists'
  | 'vault-model-not-found'
  | 'vault-key-not-found'
  | 'vault-api-key-not-found'
  | 'vault-invalid';

const STATUS: Record<VaultErrorCode, number> = {
  'api-key-missing': 401,
  'api-key-invalid': 401,
  'api-key-forbidden': 403,
  'api-key-expired': 403,
  'api-key-quota': 403,
  'stream-invalid': 400,
  'serial-request-invalid': 400,
  'serial-request-bad-signature': 400,
  'request-id-unknown': 400,
  'request-id-used': 409,
  'request-id-expired': 400,
  'model-unknown': 404,
  'model-mismatch': 400,
  'model-invalid': 400,
  'serial-invalid': 400,
  'serial-taken': 409,
  'device-registered': 409,
  'remodel-invalid': 400,
  'remodel-forbidden': 403,
  'key-unusable': 503,
  'vault-unavailable': 503,
  'vault-model-exists': 409,
  'vault-model-not-found': 404,
  'vault-key-not-found': 404,
  'vault-api-key-not-found': 404,
  'vault-invalid': 400,
};

/** An ApiError, so the HTTP edge maps it to its status and code as it is. */
export class VaultError extends ApiError {
  declare readonly code: VaultErrorCode;
  constructor(code: VaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, STATUS[code]);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export function isVaultError(err: unknown, code?: VaultErrorCode): err is VaultError {
  return err instanceof VaultError && (code === undefined || err.code === code);
}
