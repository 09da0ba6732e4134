// The vault's errors: stable codes (statuses in src/errors/catalog.ts).
// snapd's registration reads 4xx and 500 as a permanent failure of the
// attempt, > 500 as "retry from a new request-id", 202 as "poll with the same
// request" (docs/vault.md); server faults therefore answer 503, never 400.

import { CodedError } from '../errors/coded-error.ts';

export type VaultErrorCode =
  // the caller, in admin operations (the same codes as the HTTP edge's)
  | 'unauthorized'
  | 'forbidden'
  | 'validation-failed'
  // registration
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

/** An error of the vault; its status and wire shape come from the catalog at the HTTP edge. */
export class VaultError extends CodedError<VaultErrorCode> {
  override readonly name = 'VaultError';
}

export function isVaultError(err: unknown, code?: VaultErrorCode): err is VaultError {
  return err instanceof VaultError && (code === undefined || err.code === code);
}
