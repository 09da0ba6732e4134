// Row type of the signing key table (created by db/migrations 0005).
import type { DbTime } from '../db/values.ts';

/** A signing key, its private part sealed with AES-256-GCM under a master key. */
export interface SigningKeysTable {
  /** snapd key id: base64url SHA3-384 of the public key */
  key_id: string;
  name: string;
  /** the account the key signs for, when known */
  account_id: string | null;
  /** snapd's encoding of the public key (account-key body) */
  public_key: string;
  bits: number;
  /** which master key sealed this row (master-key.ts: fingerprint) */
  master_key_id: string;
  /** base64 of the 12-byte GCM nonce, the sealed PKCS#8 DER, and the 16-byte tag */
  iv: string;
  ciphertext: string;
  auth_tag: string;
  created_at: DbTime;
  disabled_at: DbTime | null;
}

export interface KeyTables {
  signing_keys: SigningKeysTable;
}
