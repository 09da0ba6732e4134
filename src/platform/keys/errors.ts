// Typed errors of key custody.
import { CodedError } from '../../errors/coded-error.ts';

/** Stable error codes of key custody. */
export type KeyCustodyErrorCode =
  /** no master key configured, or one that is not 32 bytes of base64 / a readable key file */
  | 'master-key-invalid'
  /** a stored key was sealed under a master key that is not configured */
  | 'master-key-unknown'
  /** a stored key failed authenticated decryption: altered in storage, or the wrong master key */
  | 'key-decrypt-failed'
  /** no signing key with that name or id */
  | 'key-not-found'
  /** the signing key was disabled */
  | 'key-disabled'
  /** a signing key with that name, or that same key, is already stored */
  | 'key-exists'
  /** the key cannot be used: unreadable PEM, not RSA, under 4096 bits, or a bad name */
  | 'key-invalid'
  /** a signer produced a signature that does not verify with its public key */
  | 'key-signature-invalid'
  /** the key cannot sign now: its PKCS#11 token is unavailable (module, login, session) or refused */
  | 'key-unusable';

/** An error of key custody; `code` is stable, `message` is for humans and never holds key material. */
export class KeyCustodyError extends CodedError<KeyCustodyErrorCode> {
  override readonly name = 'KeyCustodyError';
}

export function isKeyCustodyError(err: unknown, code?: KeyCustodyErrorCode): err is KeyCustodyError {
  return err instanceof KeyCustodyError && (code === undefined || err.code === code);
}
