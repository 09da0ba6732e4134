// API tokens. The secret is shown once, at creation, as "snl_" + base64url of
// 32 random bytes; only its SHA-256 is stored, so a database leak yields no
// usable token. A plain hash (no salt, no slow KDF) is enough because the
// secret is 256 random bits, and it lets a request find its token by index.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { ReferenceMissingError } from '../db/errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbJson, fromDbTime, fromDbTimeOrNull, toDbJson, toDbTime } from '../db/values.ts';
import type { ApiTokensTable } from './auth.tables.ts';
import { AuthError } from './errors.ts';
import { missingReference } from './missing-reference.ts';
import { TOKEN_ROLES, isTokenRole, type TokenRole } from './roles.ts';

export const TOKEN_PREFIX = 'snl_';
/** Shortest secret accepted when the caller supplies it (e.g. $SNAPLINE_ADMIN_TOKEN). */
export const MIN_SUPPLIED_TOKEN_LENGTH = 20;
/** Longer strings are not tokens; refused before hashing. */
export const MAX_TOKEN_LENGTH = 512;

/** A token as listed: everything but the secret. */
export interface ApiToken {
  id: number;
  userId: number;
  name: string;
  /** null: the token acts in every account the user belongs to */
  accountId: string | null;
  roles: TokenRole[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface NewApiToken {
  userId: number;
  name: string;
  accountId?: string | null;
  roles: readonly TokenRole[];
  expiresAt?: Date | null;
  /** Use this secret instead of a random one (first-start automation); at least 20 characters. */
  secret?: string;
}

/** The hex SHA-256 under which a token is stored and looked up. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates a token; returns the secret (shown once, never stored) and the token's record. */
export async function createApiToken(db: Kysely<PlatformTables>, input: NewApiToken, now: Date = new Date()): Promise<{ token: string; apiToken: ApiToken }> {
  const roles = [...new Set(input.roles)];
  const bad = roles.find((r) => !isTokenRole(r));
  if (roles.length === 0 || bad !== undefined) {
    throw new AuthError('role-invalid', `token roles must be a non-empty list of ${TOKEN_ROLES.join(', ')}${bad ? `, not ${JSON.stringify(bad)}` : ''}`);
  }
  const accountId = input.accountId ?? null;
  if (accountId !== null && roles.includes('superuser')) {
    throw new AuthError('role-invalid', 'superuser applies to the whole server: an account-scoped token cannot carry it');
  }
  if (input.name.trim() === '' || input.name.length > 255) throw new AuthError('role-invalid', 'token name must be 1-255 characters');
  const token = input.secret ?? TOKEN_PREFIX + randomBytes(32).toString('base64url');
  if (token.length < MIN_SUPPLIED_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
    throw new AuthError('token-invalid', `a supplied token must be ${MIN_SUPPLIED_TOKEN_LENGTH}-${MAX_TOKEN_LENGTH} characters`);
  }
  try {
    const row = await db
      .insertInto('api_tokens')
      .values({
        token_hash: hashApiToken(token),
        user_id: input.userId,
        name: input.name,
        account_id: accountId,
        roles: toDbJson(roles),
        created_at: toDbTime(now),
        expires_at: input.expiresAt ? toDbTime(input.expiresAt) : null,
        revoked_at: null,
        last_used_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { token, apiToken: toApiToken(row) };
  } catch (err) {
    if (err instanceof ReferenceMissingError) throw await missingReference(db, input.userId, accountId, err);
    throw err;
  }
}

/** A user's tokens, newest first, revoked and expired ones included. */
export async function listApiTokens(db: Kysely<PlatformTables>, userId: number): Promise<ApiToken[]> {
  const rows = await db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').execute();
  return rows.map(toApiToken);
}

/** Revokes a token (for good); revoking twice keeps the first time. */
export async function revokeApiToken(db: Kysely<PlatformTables>, id: number, now: Date = new Date()): Promise<ApiToken> {
  await db.updateTable('api_tokens').set({ revoked_at: toDbTime(now) }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AuthError('token-not-found', `no token ${id}`);
  return toApiToken(row);
}

export function toApiToken(row: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    accountId: row.account_id,
    roles: fromDbJson<TokenRole[]>(row.roles),
    createdAt: fromDbTime(row.created_at),
    expiresAt: fromDbTimeOrNull(row.expires_at),
    revokedAt: fromDbTimeOrNull(row.revoked_at),
    lastUsedAt: fromDbTimeOrNull(row.last_used_at),
  };
}
