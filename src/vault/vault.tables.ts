// The vault's tables (service "vault"). Times are DbTime text, booleans 0/1,
// lists JSON text, like every Snapline table (docs/platform.md).
import type { Generated } from 'kysely';
import type { DbBool, DbTime } from '../platform/db/index.ts';

/** What the vault may sign serials for: brand + model → signing key and policy. */
export interface VaultModelsTable {
  id: Generated<number>;
  brand_id: string;
  model: string;
  /** Key custody key id of the signing key. */
  key_id: string;
  /** authority-id of the serials: the brand, or an account in the model's serial-authority. */
  authority_id: string;
  /** How generated serials look: {uuid}, {random:N}, {counter:N} and literal text. */
  serial_template: string;
  /** Anchored regular expression proposed serials must match ('' = any). */
  serial_pattern: string;
  allow_proposed: DbBool;
  /** idempotent | refuse | new-serial: what a device key registering again gets. */
  duplicates: string;
  /** JSON list of "brand/model" a device may remodel from into this model. */
  remodel_from: string;
  next_counter: number;
  created_at: DbTime;
}

/** Factory API keys: hashed, scoped to a brand and models, revocable, with a quota and a window. */
export interface VaultApiKeysTable {
  id: Generated<number>;
  brand_id: string;
  name: string;
  /** hex SHA-256 of the secret. */
  key_hash: string;
  /** JSON list of model names; empty = every model of the brand. */
  models: string;
  max_serials: number | null;
  used_serials: number;
  valid_from: DbTime | null;
  valid_until: DbTime | null;
  revoked_at: DbTime | null;
  created_at: DbTime;
  created_by: string;
}

/** request-id nonces: single use, expiring, shared by every vault process. */
export interface VaultNoncesTable {
  nonce: string;
  api_key_id: number | null;
  /** Who asked for it: "key:<api key id>" or "user:<user id>" (migration 0002). */
  issued_to: string | null;
  created_at: DbTime;
  expires_at: DbTime;
  used_at: DbTime | null;
}

/** One row per serial: reserved before signing, completed with the assertion. */
export interface VaultSigningLogTable {
  id: Generated<number>;
  brand_id: string;
  model: string;
  serial: string;
  device_key_id: string;
  /** device_key_id when the model's policy gives a key one serial only, else NULL (unique index). */
  device_key_unique: string | null;
  /** The signed serial assertion; NULL while the signature is pending. */
  assertion: string | null;
  signed_at: DbTime;
  api_key_id: number | null;
  api_key_name: string;
  request_id: string;
  origin: string;
  user_agent: string;
  /** "brand/model/serial" of the device before a remodel, '' otherwise. */
  remodel_from: string;
}

export type VaultTables = {
  vault_models: VaultModelsTable;
  vault_api_keys: VaultApiKeysTable;
  vault_nonces: VaultNoncesTable;
  vault_signing_log: VaultSigningLogTable;
};
