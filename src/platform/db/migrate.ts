// Forward-only schema migrations, one list per service, recorded in one
// ledger table. We keep our own ledger instead of Kysely's Migrator because
// (1) its ledger holds one list, and services each own theirs; (2) on SQLite
// it runs without a transaction or lock, so two processes starting on one
// file could both apply a migration. Here a whole run is one transaction that
// first takes a cross-process lock (engine.ts: migrationLock / BEGIN
// IMMEDIATE); a second process waits, then finds nothing left to do.
import { sql, type Kysely } from 'kysely';
import type { Database } from './open-database.ts';
import { migrationLock, type DatabaseEngine } from './engine.ts';
import { DatabaseError } from './errors.ts';
import { toDbTime } from './values.ts';

/** The services that own tables. */
export type ServiceName = 'platform' | 'store' | 'vault' | 'rollout';

/** One schema change. `up` runs inside the run's transaction; it must work on both engines. */
export interface Migration {
  /** Unique within the service, e.g. "0001-accounts-users"; never renamed once released. */
  readonly name: string;
  // Migrations are frozen in time, so they see untyped tables, not today's table types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, engine: DatabaseEngine): Promise<void>;
}

/** A service's migrations, in the order they apply. Append only: never edit, reorder or remove. */
export interface ServiceMigrations {
  readonly service: ServiceName;
  readonly migrations: readonly Migration[];
}

/** A migration that ran. */
export interface AppliedMigration {
  service: ServiceName;
  name: string;
}

/** The ledger table: one row per applied migration. */
export const MIGRATIONS_TABLE = 'snapline_migrations';

type LedgerTables = {
  [MIGRATIONS_TABLE]: { service: string; name: string; applied_at: string };
};

/**
 * Brings the schema up to date: for each service in the order given, applies
 * the migrations not yet in the ledger. All or nothing: if one fails, the run
 * is rolled back and a `migration-failed` error thrown. Refuses to start
 * (`migration-unknown`) when the database holds a migration the code lacks,
 * since that database belongs to a newer Snapline.
 */
export async function migrate(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Database<any>,
  lists: readonly ServiceMigrations[],
  now: () => Date = () => new Date(),
): Promise<AppliedMigration[]> {
  checkLists(lists);
  return db.transaction(async (trx) => {
    const lock = migrationLock(db.engine);
    if (lock) await lock.execute(trx);
    const ledger = trx.withTables<LedgerTables>();
    await ledger.schema
      .createTable(MIGRATIONS_TABLE)
      .ifNotExists()
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${MIGRATIONS_TABLE}_pkey`, ['service', 'name'])
      .execute();
    const rows = await ledger.selectFrom(MIGRATIONS_TABLE).select(['service', 'name']).execute();
    const applied: AppliedMigration[] = [];
    for (const list of lists) {
      const done = new Set(rows.filter((r) => r.service === list.service).map((r) => r.name));
      for (const migration of pending(list, done)) {
        try {
          await migration.up(trx, db.engine);
        } catch (err) {
          throw new DatabaseError('migration-failed', `migration ${list.service}/${migration.name} failed: ${(err as Error).message}`, { cause: err });
        }
        await ledger
          .insertInto(MIGRATIONS_TABLE)
          .values({ service: list.service, name: migration.name, applied_at: toDbTime(now()) })
          .execute();
        applied.push({ service: list.service, name: migration.name });
      }
    }
    return applied;
  });
}

/**
 * The migrations of `lists` that the database has not applied, as
 * "service/name" (all of them when there is no ledger at all): readiness
 * checks use it so that an empty or older database is not taken for a
 * ready one. Reads only; rejects when the database is unreachable.
 */
export async function pendingMigrations(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Database<any>,
  lists: readonly ServiceMigrations[],
): Promise<string[]> {
  const ledger = db.kysely.withTables<LedgerTables>();
  const exists =
    db.engine === 'postgres'
      ? (await sql<{ t: string | null }>`select to_regclass(${MIGRATIONS_TABLE}) as t`.execute(ledger)).rows[0]?.t != null
      : (await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table' and name = ${MIGRATIONS_TABLE}`.execute(ledger)).rows[0]?.n === 1;
  const rows = exists ? await ledger.selectFrom(MIGRATIONS_TABLE).select(['service', 'name']).execute() : [];
  const done = new Set(rows.map((r) => `${r.service}/${r.name}`));
  return lists.flatMap((list) => list.migrations.map((m) => `${list.service}/${m.name}`)).filter((id) => !done.has(id));
}

function checkLists(lists: readonly ServiceMigrations[]): void {
  const services = new Set<string>();
  for (const list of lists) {
    if (services.has(list.service)) throw new DatabaseError('migration-invalid', `service ${list.service} given twice`);
    services.add(list.service);
    const names = new Set<string>();
    for (const m of list.migrations) {
      if (names.has(m.name)) throw new DatabaseError('migration-invalid', `migration ${list.service}/${m.name} listed twice`);
      names.add(m.name);
    }
  }
}

/** The migrations still to run; applied ones must be a prefix of the list. */
function pending(list: ServiceMigrations, done: ReadonlySet<string>): Migration[] {
  const known = new Set(list.migrations.map((m) => m.name));
  const unknown = [...done].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new DatabaseError(
      'migration-unknown',
      `the database has ${list.service} migrations this version of Snapline does not know (${unknown.sort().join(', ')}): it was migrated by a newer version`,
    );
  }
  const firstPending = list.migrations.findIndex((m) => !done.has(m.name));
  if (firstPending === -1) return [];
  const rest = list.migrations.slice(firstPending);
  const late = rest.find((m) => done.has(m.name));
  if (late) {
    throw new DatabaseError(
      'migration-invalid',
      `${list.service} migration ${rest[0]!.name} is missing from the database but the later ${late.name} is applied: migrations were inserted out of order`,
    );
  }
  return rest;
}
