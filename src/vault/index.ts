// The serial vault: device API (/v1/request-id, /v1/serial, /v1/version),
// admin API (/api/vault/...), its tables and rules. See docs/vault.md.
//
// The service API (no HTTP): createVault(ctx) gives the registration service
// (request-ids, serial requests) and the admin service (keys, models, factory
// API keys, signing log, system-users); their inputs are the admin API's
// schema types. The routes are adapters over it; `vaultPlugin` mounts them
// in `snapline serve`.
export { createVault, type Vault } from './vault.service.ts';
export {
  RegistrationService,
  type VaultOptions,
  type DeviceCredentials,
  type RegistrationInput,
  type RegistrationResult,
} from './registration.service.ts';
export { VaultAdminService, custodyName, logCsv, type VaultKey, type LogPage, type LogExport, type VaultCaches } from './vault-admin.service.ts';
export type { Actor } from '../platform/context.ts';
export * from './vault.schemas.ts';
export type { VaultModel, ApiKey, LogEntry, DuplicatePolicy } from './vault.repo.ts';
export { DUPLICATE_POLICIES } from './vault.repo.ts';
export { VaultError, isVaultError, type VaultErrorCode } from './vault.errors.ts';
export { vaultPlugin, createVaultPlugin, vaultService, createVaultService } from './vault.plugin.ts';
export { vaultMigrations } from './migrations/index.ts';
export { API_KEY_HEADER } from './device.routes.ts';
export type { VaultTables } from './vault.tables.ts';
