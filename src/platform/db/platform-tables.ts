// The platform's tables, as one Kysely table map. Services add theirs with
// `kysely.withTables<StoreTables>()`.
import type { AuditTables } from '../audit/audit.tables.ts';
import type { AuthTables } from '../auth/auth.tables.ts';
import type { KeyTables } from '../keys/keys.tables.ts';

export type PlatformTables = AuthTables & AuditTables & KeyTables;
