// Accounts: brands and developers, keyed by their snapd account-id.
import type { Kysely, Selectable } from 'kysely';
import { ACCOUNT_ID } from '../../assertions/index.ts';
import { ConflictError } from '../db/errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbTime, toDbTime } from '../db/values.ts';
import type { AccountValidation, AccountsTable } from './auth.tables.ts';
import { AuthError } from './errors.ts';

export type { AccountValidation } from './auth.tables.ts';

/** A brand or developer account. */
export interface Account {
  accountId: string;
  displayName: string;
  username: string | null;
  validation: AccountValidation;
  createdAt: Date;
}

export interface NewAccount {
  accountId: string;
  displayName: string;
  username?: string | null;
  validation?: AccountValidation;
}

const VALIDATIONS: readonly AccountValidation[] = ['unproven', 'starred', 'verified'];

function checkFields(fields: { displayName?: string; validation?: string }): void {
  if (fields.displayName !== undefined && (fields.displayName.trim() === '' || fields.displayName.length > 255)) {
    throw new AuthError('account-invalid', 'display name must be 1-255 characters');
  }
  if (fields.validation !== undefined && !VALIDATIONS.includes(fields.validation as AccountValidation)) {
    throw new AuthError('account-invalid', `validation must be one of ${VALIDATIONS.join(', ')}`);
  }
}

/** Creates an account; account-exists when the id (or username) is taken. */
export async function createAccount(db: Kysely<PlatformTables>, input: NewAccount, now: Date = new Date()): Promise<Account> {
  if (!ACCOUNT_ID.test(input.accountId)) {
    throw new AuthError('account-invalid', `invalid account id ${JSON.stringify(input.accountId)}: 2-28 characters of a-z, 0-9 and "-", or 32 alphanumerics`);
  }
  checkFields(input);
  const row: Selectable<AccountsTable> = {
    account_id: input.accountId,
    display_name: input.displayName,
    username: input.username ?? null,
    validation: input.validation ?? 'unproven',
    created_at: toDbTime(now),
  };
  try {
    await db.insertInto('accounts').values(row).execute();
  } catch (err) {
    if (err instanceof ConflictError) throw new AuthError('account-exists', `account ${JSON.stringify(input.accountId)} (or its username) already exists`, { cause: err });
    throw err;
  }
  return toAccount(row);
}

/** The account, or undefined. */
export async function findAccount(db: Kysely<PlatformTables>, accountId: string): Promise<Account | undefined> {
  const row = await db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst();
  return row && toAccount(row);
}

/** The account; account-not-found when there is none. */
export async function getAccount(db: Kysely<PlatformTables>, accountId: string): Promise<Account> {
  const account = await findAccount(db, accountId);
  if (!account) throw new AuthError('account-not-found', `no account ${JSON.stringify(accountId)}`);
  return account;
}

/** Accounts by id, `limit` at a time after the id `after`. */
export async function listAccounts(db: Kysely<PlatformTables>, page: { after?: string; limit?: number } = {}): Promise<Account[]> {
  let query = db.selectFrom('accounts').selectAll().orderBy('account_id').limit(Math.min(Math.max(page.limit ?? 100, 1), 1000));
  if (page.after !== undefined) query = query.where('account_id', '>', page.after);
  return (await query.execute()).map(toAccount);
}

/** Changes an account's display name or validation. */
export async function updateAccount(
  db: Kysely<PlatformTables>,
  accountId: string,
  changes: { displayName?: string; validation?: AccountValidation },
): Promise<Account> {
  checkFields(changes);
  const set = {
    ...(changes.displayName !== undefined && { display_name: changes.displayName }),
    ...(changes.validation !== undefined && { validation: changes.validation }),
  };
  if (Object.keys(set).length > 0) {
    const result = await db.updateTable('accounts').set(set).where('account_id', '=', accountId).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new AuthError('account-not-found', `no account ${JSON.stringify(accountId)}`);
  }
  return getAccount(db, accountId);
}

function toAccount(row: Selectable<AccountsTable>): Account {
  return {
    accountId: row.account_id,
    displayName: row.display_name,
    username: row.username,
    validation: row.validation,
    createdAt: fromDbTime(row.created_at),
  };
}
