// The append-only audit log.
export * from './audit.repo.ts';
export type { AuditTables } from './audit.tables.ts';
