// Accounts, users, roles, API tokens, password logins and the login limiter.
export * from './errors.ts';
export * from './roles.ts';
export * from './passwords.ts';
export * from './accounts.repo.ts';
export * from './users.repo.ts';
export * from './memberships.repo.ts';
export * from './tokens.repo.ts';
export * from './principal.ts';
export * from './login-limiter.ts';
export * from './password-login.ts';
export type { AuthTables } from './auth.tables.ts';
