// The rules of users, their roles on accounts, API tokens and password login,
// for the admin API, the console and tools.
import { audit, type Actor, type PlatformContext } from '../context.ts';
import type { Principal } from '../http/access.ts';
import { getAccount } from './accounts.repo.ts';
import { AuthError } from './errors.ts';
import { grantRole, revokeRole, rolesOfUser } from './memberships.repo.ts';
import { authenticatePassword } from './password-login.ts';
import type { AccountRole, TokenRole } from './roles.ts';
import { createApiToken, listApiTokens, revokeApiToken, type ApiToken } from './tokens.repo.ts';
import { createUser, findUserByUsername, getUser, listUsers, type User } from './users.repo.ts';

/** Tokens made by a password login live this long. */
export const LOGIN_TOKEN_HOURS = 12;

export interface TokenRequest {
  name: string;
  accountId?: string;
  roles: TokenRole[];
  expiresInDays?: number;
}

export class UsersService {
  constructor(private readonly ctx: PlatformContext) {}

  private get db() {
    return this.ctx.db.kysely;
  }

  /** A password login: a token valid for LOGIN_TOKEN_HOURS with every role the user holds (viewer at least). */
  async login(credentials: { username: string; password: string }, from: Omit<Actor, 'principal'>): Promise<{ token: string; expiresAt: Date; user: User }> {
    const now = this.ctx.now();
    const user = await authenticatePassword(this.db, { ...credentials, ip: from.ip }, { now });
    const held = await rolesOfUser(this.db, user.id);
    const roles = new Set<TokenRole>(Object.values(held).flat());
    if (user.superuser) roles.add('superuser');
    if (roles.size === 0) roles.add('viewer');
    const expiresAt = new Date(now.getTime() + LOGIN_TOKEN_HOURS * 3600_000);
    const { token } = await createApiToken(this.db, { userId: user.id, name: `login ${now.toISOString()}`, roles: [...roles], expiresAt }, now);
    const principal: Principal = { userId: String(user.id), username: user.username, superuser: user.superuser, grants: [] };
    await audit(this.ctx, { ...from, principal }, { action: 'user.login', target: user.username });
    return { token, expiresAt, user };
  }

  list(): Promise<User[]> {
    return listUsers(this.db);
  }

  async create(input: { username: string; password?: string; superuser?: boolean }, actor: Actor): Promise<User> {
    const user = await createUser(this.db, input, this.ctx.now());
    await audit(this.ctx, actor, { action: 'user.create', target: user.username, details: { superuser: user.superuser } });
    return user;
  }

  /** Sets a user's roles on an account to exactly `roles` (an empty list removes the user). */
  async setRoles(accountId: string, username: string, roles: AccountRole[], actor: Actor): Promise<void> {
    await getAccount(this.db, accountId);
    const user = await findUserByUsername(this.db, username);
    if (!user) throw new AuthError('user-not-found', `no user ${JSON.stringify(username)}`);
    const now = this.ctx.now();
    await this.ctx.db.transaction(async (trx) => {
      const current = (await rolesOfUser(trx, user.id, accountId))[accountId] ?? [];
      for (const r of current) if (!roles.includes(r)) await revokeRole(trx, { userId: user.id, accountId, role: r });
      for (const r of roles) if (!current.includes(r)) await grantRole(trx, { userId: user.id, accountId, role: r }, now);
    });
    this.ctx.principals.clear();
    await audit(this.ctx, actor, { action: 'account.members.set', target: username, accountId, details: { roles } });
  }

  tokensOf(principal: Principal): Promise<ApiToken[]> {
    return listApiTokens(this.db, Number(principal.userId));
  }

  /** A token for the caller; it never grants more than the caller's own token holds now. */
  async createToken(principal: Principal, request: TokenRequest, actor: Actor): Promise<{ token: string; apiToken: ApiToken }> {
    const user = await getUser(this.db, Number(principal.userId));
    for (const r of request.roles) {
      const allowed =
        r === 'superuser' ? principal.superuser : principal.superuser || principal.grants.some((g) => (!request.accountId || g.accountId === request.accountId) && g.roles.includes(r));
      if (!allowed) throw new AuthError('role-not-held', `cannot create a token with role ${r}${request.accountId ? ` on ${request.accountId}` : ''}: the caller does not hold it`);
    }
    const now = this.ctx.now();
    const expiresAt = request.expiresInDays ? new Date(now.getTime() + request.expiresInDays * 86_400_000) : null;
    const created = await createApiToken(this.db, { userId: user.id, name: request.name, accountId: request.accountId ?? null, roles: request.roles, expiresAt }, now);
    await audit(this.ctx, actor, { action: 'token.create', target: String(created.apiToken.id), accountId: request.accountId ?? null, details: { name: request.name, roles: request.roles } });
    return created;
  }

  /** Revokes one of the caller's tokens (any token, for the operator administrator). */
  async revokeToken(principal: Principal, id: number, actor: Actor): Promise<ApiToken> {
    const own = (await listApiTokens(this.db, Number(principal.userId))).some((t) => t.id === id);
    if (!own && !principal.superuser) throw new AuthError('token-not-found', `no token ${id}`);
    const token = await revokeApiToken(this.db, id, this.ctx.now());
    this.ctx.principals.clear();
    await audit(this.ctx, actor, { action: 'token.revoke', target: String(id), accountId: token.accountId });
    return token;
  }
}
