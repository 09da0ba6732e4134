// The serial vault: device API (/v1/request-id, /v1/serial, /v1/version),
// admin API (/api/vault/...), its tables and logic. See docs/vault.md.
export { vaultService, createVaultService } from './service.ts';
export { Vault, type VaultOptions, type RegistrationResult } from './vault.ts';
export { VaultError, isVaultError, type VaultErrorCode } from './errors.ts';
export { vaultMigrations } from './migrations.ts';
export { API_KEY_HEADER } from './device-routes.ts';
export type { VaultTables } from './tables.ts';
