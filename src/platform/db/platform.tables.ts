// The platform's tables, as one Kysely table map. Services add theirs with
// `kysely.withTables<StoreTables>()`.
import type { Kysely } from 'kysely';
import type { AuditTables } from '../audit/audit.tables.ts';
import type { AuthTables } from '../auth/auth.tables.ts';
import type { KeyTables } from '../keys/keys.tables.ts';
import type { AssertionTables } from '../assertions/assertions.tables.ts';

export type PlatformTables = AuthTables & AuditTables & KeyTables & AssertionTables;

/**
 * The platform's view of a Kysely instance (or transaction) that also knows a
 * service's tables. Kysely's types are invariant in the table map, so a
 * `Kysely<PlatformTables & StoreTables>` is not a `Kysely<PlatformTables>`
 * although it can run every platform query; this is the one checked cast.
 */
export function platformView<DB extends PlatformTables>(db: Kysely<DB>): Kysely<PlatformTables> {
  return db as unknown as Kysely<PlatformTables>;
}
