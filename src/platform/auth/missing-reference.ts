// After a foreign-key failure on a user + account pair: which one is missing.
import type { Kysely } from 'kysely';
import type { PlatformTables } from '../db/platform.tables.ts';
import { AuthError } from './errors.ts';

/** Which of a user and an account is missing, after a foreign-key failure. */
export async function missingReference(db: Kysely<PlatformTables>, userId: number, accountId: string | null, cause: unknown): Promise<AuthError> {
  let userExists: boolean;
  try {
    userExists = (await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
  } catch {
    // Inside a PostgreSQL transaction the failure aborted it: no more queries.
    return new AuthError('account-not-found', `no user ${userId} or no account ${JSON.stringify(accountId)}`, { cause });
  }
  if (!userExists) return new AuthError('user-not-found', `no user ${userId}`, { cause });
  return new AuthError('account-not-found', `no account ${JSON.stringify(accountId)}`, { cause });
}
