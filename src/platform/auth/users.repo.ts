// Users: who logs in (password) or acts through API tokens.
import type { Kysely, Selectable } from 'kysely';
import { ConflictError } from '../db/errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbBool, fromDbTime, toDbBool, toDbTime } from '../db/values.ts';
import type { UsersTable } from './auth.tables.ts';
import { AuthError } from './errors.ts';
import { hashPassword, type ScryptParams } from './passwords.ts';

/** A user, without the password hash. */
export interface User {
  id: number;
  username: string;
  superuser: boolean;
  hasPassword: boolean;
  createdAt: Date;
}

export interface NewUser {
  username: string;
  /** omitted: the user can only act through API tokens */
  password?: string;
  superuser?: boolean;
}

const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** Usernames compare case-insensitively: stored and looked up in lower case. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

async function passwordHash(password: string | undefined | null, params?: ScryptParams): Promise<string | null> {
  if (password === undefined || password === null) return null;
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AuthError('user-invalid', `password must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters`);
  }
  return hashPassword(password, params);
}

/** Creates a user; user-exists when the username is taken. */
export async function createUser(db: Kysely<PlatformTables>, input: NewUser, now: Date = new Date(), params?: ScryptParams): Promise<User> {
  const username = normalizeUsername(input.username);
  if (!USERNAME.test(username)) {
    throw new AuthError('user-invalid', `invalid username ${JSON.stringify(input.username)}: 1-64 of a-z, 0-9, ".", "_" and "-"`);
  }
  const values = {
    username,
    password_hash: await passwordHash(input.password, params),
    superuser: toDbBool(input.superuser ?? false),
    created_at: toDbTime(now),
  };
  try {
    const row = await db.insertInto('users').values(values).returningAll().executeTakeFirstOrThrow();
    return toUser(row);
  } catch (err) {
    if (err instanceof ConflictError) throw new AuthError('user-exists', `user ${JSON.stringify(username)} already exists`, { cause: err });
    throw err;
  }
}

/** The user with this id; user-not-found when there is none. */
export async function getUser(db: Kysely<PlatformTables>, id: number): Promise<User> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AuthError('user-not-found', `no user ${id}`);
  return toUser(row);
}

/** The user with this username, or undefined. */
export async function findUserByUsername(db: Kysely<PlatformTables>, username: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('username', '=', normalizeUsername(username)).executeTakeFirst();
  return row && toUser(row);
}

/** Every user, by username. */
export async function listUsers(db: Kysely<PlatformTables>): Promise<User[]> {
  return (await db.selectFrom('users').selectAll().orderBy('username').execute()).map(toUser);
}

/** Sets (or with null, removes) a user's password. */
export async function setPassword(db: Kysely<PlatformTables>, userId: number, password: string | null, params?: ScryptParams): Promise<void> {
  const hash = await passwordHash(password, params);
  const result = await db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new AuthError('user-not-found', `no user ${userId}`);
}

/** Grants or removes the operator-wide superuser flag. */
export async function setSuperuser(db: Kysely<PlatformTables>, userId: number, superuser: boolean): Promise<void> {
  const result = await db.updateTable('users').set({ superuser: toDbBool(superuser) }).where('id', '=', userId).executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new AuthError('user-not-found', `no user ${userId}`);
}

/** The stored password hash (login only); null when the user has none or does not exist. */
export async function passwordHashOf(db: Kysely<PlatformTables>, userId: number): Promise<string | null> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
  return row?.password_hash ?? null;
}

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    username: row.username,
    superuser: fromDbBool(row.superuser),
    hasPassword: row.password_hash !== null,
    createdAt: fromDbTime(row.created_at),
  };
}
