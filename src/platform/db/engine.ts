// The two engines and every place where their SQL differs, in one file, so
// repositories and migrations never ask "is this PostgreSQL?" themselves.
import { sql, type CreateTableBuilder, type Kysely, type RawBuilder } from 'kysely';

/** The database engines Snapline runs on. */
export type DatabaseEngine = 'sqlite' | 'postgres';

/**
 * Adds the table's surrogate key `id`: an auto-incrementing integer that
 * reads back as a JS number on both engines (see int8 parsing in
 * open-database.ts). SQLite: INTEGER PRIMARY KEY AUTOINCREMENT, so ids are
 * never reused after deletes; PostgreSQL: BIGINT identity.
 */
export function addIdColumn<T extends string>(table: CreateTableBuilder<T, never>, engine: DatabaseEngine): CreateTableBuilder<T, 'id'> {
  return engine === 'postgres'
    ? table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/**
 * Makes `table` reject UPDATE and DELETE with a trigger, for append-only
 * tables. The application has no code path that does either; the trigger
 * stops a stray query or a hand-typed statement from rewriting history.
 */
export async function makeAppendOnly(db: Kysely<unknown>, engine: DatabaseEngine, table: string): Promise<void> {
  const message = `${table} is append-only`;
  if (engine === 'postgres') {
    await sql`create function ${sql.id(`${table}_append_only`)}() returns trigger language plpgsql as $$
      begin raise exception ${sql.lit(message)}; end $$`.execute(db);
    await sql`create trigger ${sql.id(`${table}_no_change`)} before update or delete on ${sql.table(table)}
      for each row execute function ${sql.id(`${table}_append_only`)}()`.execute(db);
    return;
  }
  for (const op of ['update', 'delete'] as const) {
    await sql`create trigger ${sql.id(`${table}_no_${op}`)} before ${sql.raw(op)} on ${sql.table(table)}
      begin select raise(abort, ${sql.lit(message)}); end`.execute(db);
  }
}

/**
 * The statement that takes the cross-process migration lock inside a
 * transaction. PostgreSQL: a transaction-scoped advisory lock keyed by the
 * current schema, so parallel test schemas do not wait for each other.
 * SQLite: nothing; the BEGIN IMMEDIATE of every transaction already holds the
 * database's single write lock.
 */
export function migrationLock(engine: DatabaseEngine): RawBuilder<unknown> | undefined {
  if (engine !== 'postgres') return undefined;
  // 0x536e6c = "Snl": the first key keeps our lock apart from other applications'.
  return sql`select pg_advisory_xact_lock(${sql.lit(0x536e6c)}, hashtext(current_schema()))`;
}

/** The statement that opens a transaction (see driver.ts for SQLite's reason). */
export function beginStatement(engine: DatabaseEngine): string | undefined {
  return engine === 'sqlite' ? 'begin immediate' : undefined;
}
