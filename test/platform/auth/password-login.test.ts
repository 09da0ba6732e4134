import assert from 'node:assert/strict';
import { AuthError, authenticatePassword, createUser, passwordHashOf, passwordHashParams, type AuthErrorCode, type LoginLimits } from '../../../src/platform/auth/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';

const FAST = { ln: 4, r: 8, p: 1 };
const NOW = new Date('2025-03-01T10:00:00Z');
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const LIMITS: LoginLimits = { windowMs: 60_000, maxFailuresPerUsername: 3, maxFailuresPerIp: 5 };
const fails = (code: AuthErrorCode) => (err: unknown) => err instanceof AuthError && err.code === code;

forEachEngine('password login: right password returns the user, anything else login-failed', async (db) => {
  const alice = await createUser(db.kysely, { username: 'alice', password: 'correct horse' }, NOW, FAST);
  await createUser(db.kysely, { username: 'bot' });
  const user = await authenticatePassword(db.kysely, { username: 'Alice', password: 'correct horse', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: FAST });
  assert.deepEqual(user, alice);
  await assert.rejects(authenticatePassword(db.kysely, { username: 'alice', password: 'wrong horse', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: FAST }), fails('login-failed'));
  await assert.rejects(authenticatePassword(db.kysely, { username: 'nobody', password: 'x', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: FAST }), fails('login-failed'));
  await assert.rejects(authenticatePassword(db.kysely, { username: 'bot', password: 'x', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: FAST }), fails('login-failed'), 'token-only users cannot log in');
});

forEachEngine('the limiter throttles a username after repeated failures, across processes, until the window passes', async (db, { reopen, engine }) => {
  await createUser(db.kysely, { username: 'alice', password: 'correct horse' }, NOW, FAST);
  // On PostgreSQL the failures go through a second pool, as from another server process.
  const other = engine === 'postgres' ? reopen() : db;
  const attempt = (password: string, when: Date, via = db) =>
    authenticatePassword(via.kysely, { username: 'alice', password, ip: '10.0.0.1' }, { now: when, limits: LIMITS, passwordParams: FAST });
  for (let i = 0; i < 3; i++) await assert.rejects(attempt('wrong', at(i), other), fails('login-failed'));
  await assert.rejects(attempt('correct horse', at(10)), (err: unknown) => {
    assert.ok(err instanceof AuthError && err.code === 'login-throttled');
    assert.equal(err.retryAfterSeconds, 50, 'the oldest failure (t=0) leaves the 60 s window at t=60');
    return true;
  });
  const user = await attempt('correct horse', at(61));
  assert.equal(user.username, 'alice');
  // Success cleared the username's failures: two more failures do not throttle.
  for (let i = 0; i < 2; i++) await assert.rejects(attempt('wrong', at(62 + i)), fails('login-failed'));
  await attempt('correct horse', at(65));
});

forEachEngine('the limiter throttles an address guessing across many usernames', async (db) => {
  await createUser(db.kysely, { username: 'victim', password: 'correct horse' }, NOW, FAST);
  for (let i = 0; i < 5; i++) {
    await assert.rejects(authenticatePassword(db.kysely, { username: `guess${i}`, password: 'x', ip: '192.0.2.9' }, { now: at(i), limits: LIMITS, passwordParams: FAST }), fails('login-failed'));
  }
  await assert.rejects(authenticatePassword(db.kysely, { username: 'victim', password: 'correct horse', ip: '192.0.2.9' }, { now: at(6), limits: LIMITS, passwordParams: FAST }), fails('login-throttled'));
  const user = await authenticatePassword(db.kysely, { username: 'victim', password: 'correct horse', ip: '198.51.100.1' }, { now: at(6), limits: LIMITS, passwordParams: FAST });
  assert.equal(user.username, 'victim', 'other addresses are unaffected');
});

forEachEngine('old failures are pruned from the table', async (db) => {
  for (let i = 0; i < 3; i++) {
    await assert.rejects(authenticatePassword(db.kysely, { username: 'ghost', password: 'x', ip: '10.0.0.2' }, { now: at(i), limits: LIMITS, passwordParams: FAST }));
  }
  await assert.rejects(authenticatePassword(db.kysely, { username: 'ghost2', password: 'x', ip: '10.0.0.2' }, { now: at(200), limits: LIMITS, passwordParams: FAST }));
  const rows = await db.kysely.selectFrom('login_failures').select('username').execute();
  assert.deepEqual(rows.map((r) => r.username), ['ghost2']);
});

forEachEngine('a successful login upgrades a hash made with weaker parameters', async (db) => {
  const alice = await createUser(db.kysely, { username: 'alice', password: 'correct horse' }, NOW, FAST);
  const stronger = { ln: 5, r: 8, p: 1 };
  await authenticatePassword(db.kysely, { username: 'alice', password: 'correct horse', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: stronger });
  assert.deepEqual(passwordHashParams((await passwordHashOf(db.kysely, alice.id))!), stronger);
  await authenticatePassword(db.kysely, { username: 'alice', password: 'correct horse', ip: '10.0.0.1' }, { now: NOW, limits: LIMITS, passwordParams: FAST });
  assert.deepEqual(passwordHashParams((await passwordHashOf(db.kysely, alice.id))!), stronger, 'never downgraded');
});
