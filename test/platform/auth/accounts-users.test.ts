import assert from 'node:assert/strict';
import {
  AuthError,
  createAccount,
  createUser,
  findAccount,
  findUserByUsername,
  getAccount,
  getUser,
  grantRole,
  listAccounts,
  listUsers,
  membersOfAccount,
  passwordHashOf,
  revokeRole,
  rolesOfUser,
  setPassword,
  setSuperuser,
  updateAccount,
  verifyPassword,
  type AuthErrorCode,
} from '../../../src/platform/auth/index.ts';
import type { AccountRole } from '../../../src/platform/auth/index.ts';
import { forEachEngine } from '../../helpers/databases.ts';

const FAST = { ln: 4, r: 8, p: 1 };
const NOW = new Date('2025-03-01T10:00:00Z');
const fails = (code: AuthErrorCode) => (err: unknown) => err instanceof AuthError && err.code === code;

forEachEngine('accounts: create, read, list in pages, update; ids and duplicates checked', async (db) => {
  const acme = await createAccount(db.kysely, { accountId: 'acme', displayName: 'Acme Corp', username: 'acme', validation: 'verified' }, NOW);
  assert.deepEqual(acme, { accountId: 'acme', displayName: 'Acme Corp', username: 'acme', validation: 'verified', createdAt: NOW });
  await createAccount(db.kysely, { accountId: 'bravo', displayName: 'Bravo' }, NOW);
  await createAccount(db.kysely, { accountId: 'charlie', displayName: 'Charlie' }, NOW);
  assert.deepEqual(await getAccount(db.kysely, 'acme'), acme);
  assert.equal((await getAccount(db.kysely, 'bravo')).validation, 'unproven');
  assert.equal(await findAccount(db.kysely, 'nobody'), undefined);
  await assert.rejects(getAccount(db.kysely, 'nobody'), fails('account-not-found'));

  assert.deepEqual((await listAccounts(db.kysely, { limit: 2 })).map((a) => a.accountId), ['acme', 'bravo']);
  assert.deepEqual((await listAccounts(db.kysely, { after: 'bravo' })).map((a) => a.accountId), ['charlie']);

  assert.equal((await updateAccount(db.kysely, 'bravo', { displayName: 'Bravo Ltd', validation: 'starred' })).displayName, 'Bravo Ltd');
  await assert.rejects(updateAccount(db.kysely, 'nobody', { displayName: 'x' }), fails('account-not-found'));

  await assert.rejects(createAccount(db.kysely, { accountId: 'acme', displayName: 'Again' }), fails('account-exists'));
  await assert.rejects(createAccount(db.kysely, { accountId: 'other', displayName: 'Same username', username: 'acme' }), fails('account-exists'));
  for (const accountId of ['A', 'UPPER', 'has space', 'x', 'a'.repeat(29)]) {
    await assert.rejects(createAccount(db.kysely, { accountId, displayName: 'x' }), fails('account-invalid'), accountId);
  }
  await assert.rejects(createAccount(db.kysely, { accountId: 'blank', displayName: ' ' }), fails('account-invalid'));
  await assert.rejects(createAccount(db.kysely, { accountId: 'weird', displayName: 'x', validation: 'gold' as never }), fails('account-invalid'));
});

forEachEngine('users: usernames unique case-insensitively, optional scrypt passwords, superuser flag', async (db) => {
  const alice = await createUser(db.kysely, { username: 'Alice', password: 'correct horse', superuser: true }, NOW, FAST);
  assert.deepEqual(alice, { id: alice.id, username: 'alice', superuser: true, hasPassword: true, createdAt: NOW });
  const bot = await createUser(db.kysely, { username: 'ci-bot' }, NOW);
  assert.equal(bot.hasPassword, false);
  assert.deepEqual(await findUserByUsername(db.kysely, 'ALICE'), alice);
  assert.deepEqual(await getUser(db.kysely, bot.id), bot);
  await assert.rejects(getUser(db.kysely, 9999), fails('user-not-found'));
  assert.deepEqual((await listUsers(db.kysely)).map((u) => u.username), ['alice', 'ci-bot']);

  await assert.rejects(createUser(db.kysely, { username: 'ALICE' }), fails('user-exists'));
  await assert.rejects(createUser(db.kysely, { username: 'bad name' }), fails('user-invalid'));
  await assert.rejects(createUser(db.kysely, { username: 'shortpw', password: 'short' }), fails('user-invalid'));

  const stored = await passwordHashOf(db.kysely, alice.id);
  assert.ok(stored && !stored.includes('correct horse'));
  assert.equal(await verifyPassword('correct horse', stored), true);
  await setPassword(db.kysely, bot.id, 'new password', FAST);
  assert.equal(await verifyPassword('new password', (await passwordHashOf(db.kysely, bot.id))!), true);
  await setPassword(db.kysely, alice.id, null);
  assert.equal((await getUser(db.kysely, alice.id)).hasPassword, false);
  await setSuperuser(db.kysely, alice.id, false);
  assert.equal((await getUser(db.kysely, alice.id)).superuser, false);
  await assert.rejects(setSuperuser(db.kysely, 9999, true), fails('user-not-found'));
});

forEachEngine('memberships: roles per account, idempotent grants, revocation, member lists', async (db) => {
  await createAccount(db.kysely, { accountId: 'acme', displayName: 'Acme' });
  await createAccount(db.kysely, { accountId: 'bravo', displayName: 'Bravo' });
  const alice = await createUser(db.kysely, { username: 'alice' });
  const bob = await createUser(db.kysely, { username: 'bob' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'publisher' });
  await grantRole(db.kysely, { userId: alice.id, accountId: 'bravo', role: 'viewer' });
  await grantRole(db.kysely, { userId: bob.id, accountId: 'acme', role: 'factory-operator' });

  assert.deepEqual(await rolesOfUser(db.kysely, alice.id), { acme: ['admin', 'publisher'], bravo: ['viewer'] });
  assert.deepEqual(await rolesOfUser(db.kysely, alice.id, 'bravo'), { bravo: ['viewer'] });
  assert.deepEqual(await membersOfAccount(db.kysely, 'acme'), [
    { userId: alice.id, username: 'alice', roles: ['admin', 'publisher'] },
    { userId: bob.id, username: 'bob', roles: ['factory-operator'] },
  ]);
  assert.equal(await revokeRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' }), true);
  assert.equal(await revokeRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'admin' }), false);
  assert.deepEqual(await rolesOfUser(db.kysely, alice.id, 'acme'), { acme: ['publisher'] });

  await assert.rejects(grantRole(db.kysely, { userId: alice.id, accountId: 'acme', role: 'owner' as AccountRole }), fails('role-invalid'));
  await assert.rejects(grantRole(db.kysely, { userId: alice.id, accountId: 'nobody', role: 'viewer' }), fails('account-not-found'));
  await assert.rejects(grantRole(db.kysely, { userId: 9999, accountId: 'acme', role: 'viewer' }), fails('user-not-found'));
});
