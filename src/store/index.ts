// The brand store (docs/store.md).
export { storeService } from './service.ts';
export { storeMigrations } from './migrations.ts';
export type { StoreTables, StoreOwnTables } from './tables.ts';
export * from './channels.ts';
