// The data layer: one Kysely query builder over SQLite or PostgreSQL, typed
// errors, and forward-only migrations owned by each service.
export * from './errors.ts';
export * from './engine.ts';
export * from './values.ts';
export * from './open-database.ts';
export * from './migrate.ts';
export { platformView, type PlatformTables } from './platform.tables.ts';
export { platformMigrations } from './migrations/index.ts';
