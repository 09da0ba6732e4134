// Username + password login, behind the login limiter.
import type { Kysely } from 'kysely';
import type { PlatformTables } from '../db/platform.tables.ts';
import { AuthError } from './errors.ts';
import { DEFAULT_LOGIN_LIMITS, checkLoginAllowed, clearLoginFailures, recordLoginFailure, type LoginLimits } from './login-limiter.ts';
import { DEFAULT_SCRYPT_PARAMS, hashPassword, passwordNeedsRehash, verifyPassword, type ScryptParams } from './passwords.ts';
import { findUserByUsername, passwordHashOf, setPassword, type User } from './users.repo.ts';

export interface PasswordLogin {
  username: string;
  password: string;
  /** the client address, for the limiter */
  ip: string;
}

// Verified against when the user does not exist or has no password, so that
// the time taken does not reveal which usernames exist. One per parameter set.
const decoyHashes = new Map<string, Promise<string>>();

function decoyHash(params: ScryptParams): Promise<string> {
  const key = `${params.ln},${params.r},${params.p}`;
  let hash = decoyHashes.get(key);
  if (!hash) {
    hash = hashPassword('decoy password', params);
    decoyHashes.set(key, hash);
  }
  return hash;
}

/** Checks a username and password; returns the user, or throws login-failed / login-throttled. */
export async function authenticatePassword(
  db: Kysely<PlatformTables>,
  login: PasswordLogin,
  options: {
    now?: Date;
    limits?: LoginLimits;
    /** The parameters new hashes get; a weaker stored hash is upgraded on a successful login. */
    passwordParams?: ScryptParams;
  } = {},
): Promise<User> {
  const now = options.now ?? new Date();
  const limits = options.limits ?? DEFAULT_LOGIN_LIMITS;
  const params = options.passwordParams ?? DEFAULT_SCRYPT_PARAMS;
  await checkLoginAllowed(db, login, now, limits);
  const user = await findUserByUsername(db, login.username);
  const stored = user ? await passwordHashOf(db, user.id) : null;
  let ok: boolean;
  if (stored === null) {
    await verifyPassword(login.password, await decoyHash(params));
    ok = false;
  } else {
    ok = await verifyPassword(login.password, stored);
  }
  if (!user || !ok) {
    await recordLoginFailure(db, login, now, limits);
    throw new AuthError('login-failed', 'wrong username or password');
  }
  await clearLoginFailures(db, login.username);
  if (passwordNeedsRehash(stored!, params)) await setPassword(db, user.id, login.password, params);
  return user;
}
