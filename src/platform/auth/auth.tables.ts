// Row types of the auth tables (created by db/migrations 0001-0003).
import type { ColumnType, Generated } from 'kysely';
import type { DbBool, DbTime } from '../db/values.ts';
import type { AccountRole } from './roles.ts';

/** snapd's account validation levels. */
export type AccountValidation = 'unproven' | 'starred' | 'verified';

/** Brands and developers; `account_id` is the snapd account-id. */
export interface AccountsTable {
  account_id: string;
  display_name: string;
  username: string | null;
  validation: AccountValidation;
  created_at: DbTime;
}

/** People (and automation identities) who log in or hold tokens. */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  /** scrypt hash string (passwords.ts), or null for token-only users. */
  password_hash: string | null;
  superuser: ColumnType<DbBool, DbBool | undefined, DbBool>;
  created_at: DbTime;
}

/** One row per (user, account, role). */
export interface MembershipsTable {
  user_id: number;
  account_id: string;
  role: AccountRole;
  created_at: DbTime;
}

/** API tokens; only the SHA-256 of the secret is kept. */
export interface ApiTokensTable {
  id: Generated<number>;
  /** hex SHA-256 of the whole token string */
  token_hash: string;
  user_id: number;
  name: string;
  /** null: every account the user belongs to */
  account_id: string | null;
  /** JSON array of TokenRole */
  roles: string;
  created_at: DbTime;
  expires_at: DbTime | null;
  revoked_at: DbTime | null;
  last_used_at: DbTime | null;
}

/** Failed logins, kept for the limiter's window. */
export interface LoginFailuresTable {
  id: Generated<number>;
  username: string;
  ip: string;
  failed_at: DbTime;
}

export interface AuthTables {
  accounts: AccountsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  login_failures: LoginFailuresTable;
}
