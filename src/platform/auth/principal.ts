// From a presented API token to the principal a request acts as.
//
// A token never grants more than its user holds: the principal's roles in an
// account are the user's roles there (memberships, read now, not when the
// token was made) that the token also lists, limited to the token's account
// when it has one. Superuser needs all three: a superuser user, a global
// token, and 'superuser' among the token's roles.
import type { Kysely } from 'kysely';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbBool, fromDbJson, toDbTime } from '../db/values.ts';
import { AuthError } from './errors.ts';
import { rolesOfUser, type RolesByAccount } from './memberships.repo.ts';
import type { AccountRole, TokenRole } from './roles.ts';
import { MAX_TOKEN_LENGTH, hashApiToken } from './tokens.repo.ts';

/** Who a request acts as. */
export interface Principal {
  userId: number;
  username: string;
  tokenId: number;
  superuser: boolean;
  /** Effective roles per account id. */
  roles: RolesByAccount;
}

/** last_used_at is written at most this often per token, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Resolves a token string; throws token-invalid, token-revoked or token-expired. */
export async function resolveToken(db: Kysely<PlatformTables>, token: string, now: Date = new Date()): Promise<Principal> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new AuthError('token-invalid', 'invalid token');
  const row = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id as tokenId',
      'api_tokens.account_id as accountId',
      'api_tokens.roles as roles',
      'api_tokens.expires_at as expiresAt',
      'api_tokens.revoked_at as revokedAt',
      'api_tokens.last_used_at as lastUsedAt',
      'users.id as userId',
      'users.username as username',
      'users.superuser as superuser',
    ])
    .where('api_tokens.token_hash', '=', hashApiToken(token))
    .executeTakeFirst();
  if (!row) throw new AuthError('token-invalid', 'invalid token');
  if (row.revokedAt !== null) throw new AuthError('token-revoked', 'token was revoked');
  const nowText = toDbTime(now);
  if (row.expiresAt !== null && row.expiresAt <= nowText) throw new AuthError('token-expired', 'token has expired');

  const tokenRoles = new Set(fromDbJson<TokenRole[]>(row.roles));
  const held = await rolesOfUser(db, row.userId, row.accountId ?? undefined);
  const roles: RolesByAccount = {};
  for (const [accountId, accountRoles] of Object.entries(held)) {
    const effective = accountRoles.filter((r) => tokenRoles.has(r));
    if (effective.length > 0) roles[accountId] = effective;
  }
  // A write per request would serialize every request on the database's write
  // lock; the stored time is refreshed only when it is older than the resolution.
  const staleBefore = toDbTime(new Date(now.getTime() - LAST_USED_RESOLUTION_MS));
  if (row.lastUsedAt === null || row.lastUsedAt < staleBefore) {
    await db
      .updateTable('api_tokens')
      .set({ last_used_at: nowText })
      .where('id', '=', row.tokenId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
      .execute();
  }
  return {
    userId: row.userId,
    username: row.username,
    tokenId: row.tokenId,
    superuser: fromDbBool(row.superuser) && row.accountId === null && tokenRoles.has('superuser'),
    roles,
  };
}

/** True when the principal holds one of `roles` in `accountId`; a superuser holds every role. */
export function hasRole(principal: Principal, accountId: string, ...roles: AccountRole[]): boolean {
  if (principal.superuser) return true;
  const held = principal.roles[accountId] ?? [];
  return roles.some((r) => held.includes(r));
}
