import assert from 'node:assert/strict';
import {
  AuthError,
  createAccount,
  createApiToken,
  createUser,
  grantRole,
  hasRole,
  hashApiToken,
  listApiTokens,
  resolveToken,
  revokeApiToken,
  revokeRole,
  type AuthErrorCode,
} from '../../../src/platform/auth/index.ts';
import type { Database } from '../../../src/platform/db/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';

const NOW = new Date('2025-03-01T10:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);
const fails = (code: AuthErrorCode) => (err: unknown) => err instanceof AuthError && err.code === code;

async function setup(db: Database) {
  await createAccount(db.kysely, { accountId: 'acme', displayName: 'Acme' });
  await createAccount(db.kysely, { accountId: 'bravo', displayName: 'Bravo' });
  const alice = await createUser(db.kysely, { username: 'alice' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'publisher' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'bravo', role: 'viewer' });
  const root = await createUser(db.kysely, { username: 'root', superuser: true });
  return { alice, root };
}

forEachEngine('a token is snl_ + 43 base64url characters, shown once, stored only as its SHA-256', async (db) => {
  const { alice } = await setup(db);
  const { token, apiToken } = await createApiToken(db.kysely, { userId: alice.id, name: 'laptop', roles: ['admin', 'publisher', 'viewer'] }, NOW);
  assert.match(token, /^snl_[A-Za-z0-9_-]{43}$/);
  const rows = await db.kysely.selectFrom('api_tokens').selectAll().execute();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.token_hash, hashApiToken(token));
  assert.ok(!JSON.stringify(rows).includes(token.slice(4)), 'the secret is not stored');
  assert.deepEqual(apiToken, { id: apiToken.id, userId: alice.id, name: 'laptop', accountId: null, roles: ['admin', 'publisher', 'viewer'], createdAt: NOW, expiresAt: null, revokedAt: null, lastUsedAt: null });
  const other = await createApiToken(db.kysely, { userId: alice.id, name: 'ci', roles: ['viewer'] }, NOW);
  assert.notEqual(other.token, token);
  assert.deepEqual((await listApiTokens(db.kysely, alice.id)).map((t) => t.name), ['ci', 'laptop']);
});

forEachEngine('the principal holds the user\'s current roles that the token lists, within its account', async (db) => {
  const { alice } = await setup(db);
  const global = await createApiToken(db.kysely, { userId: alice.id, name: 'all', roles: ['admin', 'viewer'] });
  const p = await resolveToken(db.kysely, global.token, NOW);
  assert.deepEqual(p, { userId: alice.id, username: 'alice', tokenId: global.apiToken.id, superuser: false, roles: { acme: ['admin'], bravo: ['viewer'] } });
  assert.equal(hasRole(p, 'acme', 'admin'), true);
  assert.equal(hasRole(p, 'acme', 'publisher'), false, 'held by the user but not listed on the token');
  assert.equal(hasRole(p, 'charlie', 'viewer'), false);

  const scoped = await createApiToken(db.kysely, { userId: alice.id, name: 'acme only', accountId: 'acme', roles: ['publisher', 'viewer'] });
  assert.deepEqual((await resolveToken(db.kysely, scoped.token, NOW)).roles, { acme: ['publisher'] });

  await revokeRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' });
  assert.deepEqual((await resolveToken(db.kysely, global.token, NOW)).roles, { bravo: ['viewer'] }, 'memberships are read at each request');
});

forEachEngine('superuser needs a superuser user, a global token and the superuser role', async (db) => {
  const { alice, root } = await setup(db);
  const full = await createApiToken(db.kysely, { userId: root.id, name: 'admin', roles: ['superuser'] });
  const principal = await resolveToken(db.kysely, full.token, NOW);
  assert.equal(principal.superuser, true);
  assert.equal(hasRole(principal, 'anything', 'admin'), true);
  const limited = await createApiToken(db.kysely, { userId: root.id, name: 'limited', roles: ['viewer'] });
  assert.equal((await resolveToken(db.kysely, limited.token, NOW)).superuser, false);
  const pretender = await createApiToken(db.kysely, { userId: alice.id, name: 'pretend', roles: ['superuser'] });
  assert.equal((await resolveToken(db.kysely, pretender.token, NOW)).superuser, false);
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'x', accountId: 'acme', roles: ['superuser'] }), fails('role-invalid'));
});

forEachEngine('unknown, malformed, revoked and expired tokens are refused with their own codes', async (db) => {
  const { alice } = await setup(db);
  for (const bad of ['', 'snl_nope', 'x'.repeat(10_000)]) await assert.rejects(resolveToken(db.kysely, bad, NOW), fails('token-invalid'));

  const expiring = await createApiToken(db.kysely, { userId: alice.id, name: 'short', roles: ['viewer'], expiresAt: later(60_000) }, NOW);
  await resolveToken(db.kysely, expiring.token, later(59_999));
  await assert.rejects(resolveToken(db.kysely, expiring.token, later(60_000)), fails('token-expired'));

  const revoked = await createApiToken(db.kysely, { userId: alice.id, name: 'gone', roles: ['viewer'] }, NOW);
  const first = await revokeApiToken(db.kysely, revoked.apiToken.id, later(1000));
  assert.deepEqual(first.revokedAt, later(1000));
  assert.deepEqual((await revokeApiToken(db.kysely, revoked.apiToken.id, later(2000))).revokedAt, later(1000));
  await assert.rejects(resolveToken(db.kysely, revoked.token, later(3000)), fails('token-revoked'));
  await assert.rejects(revokeApiToken(db.kysely, 9999), fails('token-not-found'));
});

forEachEngine('last use is recorded, at most once a minute', async (db) => {
  const { alice } = await setup(db);
  const { token, apiToken } = await createApiToken(db.kysely, { userId: alice.id, name: 'x', roles: ['viewer'] }, NOW);
  const lastUsed = async () => (await listApiTokens(db.kysely, alice.id)).find((t) => t.id === apiToken.id)!.lastUsedAt;
  await resolveToken(db.kysely, token, later(1000));
  assert.deepEqual(await lastUsed(), later(1000));
  await resolveToken(db.kysely, token, later(30_000));
  assert.deepEqual(await lastUsed(), later(1000));
  await resolveToken(db.kysely, token, later(61_001));
  assert.deepEqual(await lastUsed(), later(61_001));
});

forEachEngine('a supplied secret (first-start automation) works; bad inputs are refused', async (db) => {
  const { root } = await setup(db);
  const secret = 'automation-secret-0123456789';
  const { token } = await createApiToken(db.kysely, { userId: root.id, name: 'bootstrap', roles: ['superuser'], secret });
  assert.equal(token, secret);
  assert.equal((await resolveToken(db.kysely, secret, NOW)).username, 'root');
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'dup', roles: ['viewer'], secret }), (err: unknown) => (err as { code?: string }).code === 'conflict');
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'short', roles: ['viewer'], secret: 'short' }), fails('token-invalid'));
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'none', roles: [] }), fails('role-invalid'));
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'bad', roles: ['owner' as never] }), fails('role-invalid'));
  await assert.rejects(createApiToken(db.kysely, { userId: 9999, name: 'ghost', roles: ['viewer'] }), fails('user-not-found'));
  await assert.rejects(createApiToken(db.kysely, { userId: root.id, name: 'ghost', accountId: 'nobody', roles: ['viewer'] }), fails('account-not-found'));
});
