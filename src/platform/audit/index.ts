// The append-only audit log.
export * from './audit-log.ts';
export type { AuditTables } from './audit.tables.ts';
