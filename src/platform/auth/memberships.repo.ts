// Memberships: which roles a user holds in which account.
import type { Kysely } from 'kysely';
import { ReferenceMissingError } from '../db/errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import { toDbTime } from '../db/values.ts';
import { AuthError } from './errors.ts';
import { missingReference } from './missing-reference.ts';
import { ACCOUNT_ROLES, isAccountRole, type AccountRole } from './roles.ts';

/** Roles per account id. */
export type RolesByAccount = Record<string, AccountRole[]>;

export interface Membership {
  userId: number;
  accountId: string;
  role: AccountRole;
}

function checkRole(role: string): asserts role is AccountRole {
  if (!isAccountRole(role)) throw new AuthError('role-invalid', `unknown role ${JSON.stringify(role)}: use one of ${ACCOUNT_ROLES.join(', ')}`);
}

/** Gives a user a role in an account; granting a held role again changes nothing. */
export async function grantRole(db: Kysely<PlatformTables>, m: Membership, now: Date = new Date()): Promise<void> {
  checkRole(m.role);
  try {
    await db
      .insertInto('memberships')
      .values({ user_id: m.userId, account_id: m.accountId, role: m.role, created_at: toDbTime(now) })
      .onConflict((oc) => oc.columns(['user_id', 'account_id', 'role']).doNothing())
      .execute();
  } catch (err) {
    if (err instanceof ReferenceMissingError) throw await missingReference(db, m.userId, m.accountId, err);
    throw err;
  }
}

/** Takes a role away; false when the user did not hold it. */
export async function revokeRole(db: Kysely<PlatformTables>, m: Membership): Promise<boolean> {
  const result = await db
    .deleteFrom('memberships')
    .where('user_id', '=', m.userId)
    .where('account_id', '=', m.accountId)
    .where('role', '=', m.role)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A user's roles per account (only `accountId` when given). */
export async function rolesOfUser(db: Kysely<PlatformTables>, userId: number, accountId?: string): Promise<RolesByAccount> {
  let query = db.selectFrom('memberships').select(['account_id', 'role']).where('user_id', '=', userId).orderBy('account_id').orderBy('role');
  if (accountId !== undefined) query = query.where('account_id', '=', accountId);
  const out: RolesByAccount = {};
  for (const row of await query.execute()) (out[row.account_id] ??= []).push(row.role);
  return out;
}

/** An account's members and their roles, by username. */
export async function membersOfAccount(db: Kysely<PlatformTables>, accountId: string): Promise<{ userId: number; username: string; roles: AccountRole[] }[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.id as userId', 'users.username as username', 'memberships.role as role'])
    .where('memberships.account_id', '=', accountId)
    .orderBy('users.username')
    .orderBy('memberships.role')
    .execute();
  const byUser = new Map<number, { userId: number; username: string; roles: AccountRole[] }>();
  for (const r of rows) {
    const entry = byUser.get(r.userId) ?? { userId: r.userId, username: r.username, roles: [] };
    entry.roles.push(r.role);
    byUser.set(r.userId, entry);
  }
  return [...byUser.values()];
}
