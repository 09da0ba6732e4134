// Limits password guessing: failed logins are rows in the database, counted
// per username and per client address over a sliding window, so the limit
// holds across every server process. Two attempts racing in separate
// processes may both pass the check; the overshoot is at most the number of
// processes, which does not matter for this purpose.
import type { Kysely } from 'kysely';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbTime, toDbTime } from '../db/values.ts';
import { AuthError } from './errors.ts';
import { normalizeUsername } from './users.repo.ts';

export interface LoginLimits {
  windowMs: number;
  /** failures per username in the window before further attempts are refused */
  maxFailuresPerUsername: number;
  /** failures per client address in the window (higher: many users may share a NAT) */
  maxFailuresPerIp: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, maxFailuresPerUsername: 5, maxFailuresPerIp: 50 };

/** Who is attempting: the username typed and the client address. */
export interface LoginAttempt {
  username: string;
  ip: string;
}

/** Throws login-throttled (with retryAfterSeconds) when the attempt must not even be checked. */
export async function checkLoginAllowed(db: Kysely<PlatformTables>, attempt: LoginAttempt, now: Date = new Date(), limits: LoginLimits = DEFAULT_LOGIN_LIMITS): Promise<void> {
  const since = toDbTime(new Date(now.getTime() - limits.windowMs));
  for (const [column, value, max] of [
    ['username', normalizeUsername(attempt.username), limits.maxFailuresPerUsername],
    ['ip', attempt.ip, limits.maxFailuresPerIp],
  ] as const) {
    const recent = await db
      .selectFrom('login_failures')
      .select('failed_at')
      .where(column, '=', value)
      .where('failed_at', '>', since)
      .orderBy('failed_at', 'desc')
      .limit(max)
      .execute();
    if (recent.length >= max) {
      // The attempt may go ahead once the oldest of the last `max` failures leaves the window.
      const oldest = fromDbTime(recent.at(-1)!.failed_at).getTime();
      const retryAfterSeconds = Math.max(1, Math.ceil((oldest + limits.windowMs - now.getTime()) / 1000));
      throw new AuthError('login-throttled', `too many failed logins for this ${column === 'ip' ? 'address' : 'username'}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
  }
}

/** Records a failed login, and forgets failures older than the window. */
export async function recordLoginFailure(db: Kysely<PlatformTables>, attempt: LoginAttempt, now: Date = new Date(), limits: LoginLimits = DEFAULT_LOGIN_LIMITS): Promise<void> {
  await db.insertInto('login_failures').values({ username: normalizeUsername(attempt.username), ip: attempt.ip, failed_at: toDbTime(now) }).execute();
  await db.deleteFrom('login_failures').where('failed_at', '<=', toDbTime(new Date(now.getTime() - limits.windowMs))).execute();
}

/** Forgets a username's failures after a successful login (its address's stay counted). */
export async function clearLoginFailures(db: Kysely<PlatformTables>, username: string): Promise<void> {
  await db.deleteFrom('login_failures').where('username', '=', normalizeUsername(username)).execute();
}
