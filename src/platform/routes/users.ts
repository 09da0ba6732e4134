// Users, their roles on accounts, API tokens and password login.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ACCOUNT_ROLES,
  TOKEN_ROLES,
  authenticatePassword,
  createApiToken,
  createUser,
  findUserByUsername,
  getAccount,
  getUser,
  grantRole,
  listApiTokens,
  listUsers,
  revokeApiToken,
  revokeRole,
  rolesOfUser,
  type AccountRole,
  type TokenRole,
} from '../auth/index.ts';
import { listAudit } from '../audit/index.ts';
import { ApiError } from '../http/errors.ts';
import { auditRequest, type PlatformContext } from '../context.ts';

const accountParam = (req: FastifyRequest) => (req.params as { account: string }).account;
const USERNAME = '^[a-z0-9][a-z0-9._-]{0,63}$';
/** Tokens made by a password login live this long. */
const LOGIN_TOKEN_HOURS = 12;

const userJson = {
  type: 'object',
  properties: { id: { type: 'integer' }, username: { type: 'string' }, superuser: { type: 'boolean' }, hasPassword: { type: 'boolean' }, createdAt: { type: 'string', format: 'date-time' } },
} as const;
const tokenJson = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    accountId: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

export async function userRoutes(app: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const db = ctx.db.kysely;

  app.post(
    '/api/login',
    {
      bodyLimit: 4 * 1024,
      config: { access: { kind: 'public' } },
      schema: {
        tags: ['auth'],
        summary: 'Log in with a password; returns an API token valid for 12 hours with every role the user holds',
        security: [],
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
        response: { 200: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'string', format: 'date-time' }, username: { type: 'string' } } } },
      },
    },
    async (req) => {
      const { username, password } = req.body as { username: string; password: string };
      const now = ctx.now();
      const user = await authenticatePassword(db, { username, password, ip: req.ip }, { now });
      const held = await rolesOfUser(db, user.id);
      const roles = new Set<TokenRole>(Object.values(held).flat());
      if (user.superuser) roles.add('superuser');
      if (roles.size === 0) roles.add('viewer');
      const expiresAt = new Date(now.getTime() + LOGIN_TOKEN_HOURS * 3600_000);
      const { token } = await createApiToken(db, { userId: user.id, name: `login ${now.toISOString()}`, roles: [...roles], expiresAt }, now);
      req.principal = { userId: String(user.id), username: user.username, superuser: user.superuser, grants: [] };
      await auditRequest(ctx, req, { action: 'user.login', target: user.username });
      return { token, expiresAt: expiresAt.toISOString(), username: user.username };
    },
  );

  app.get(
    '/api/whoami',
    {
      config: { access: { kind: 'authenticated' } },
      schema: { tags: ['auth'], summary: 'The caller: user, superuser flag and roles per account' },
    },
    async (req) => {
      const p = req.principal!;
      return { username: p.username, superuser: p.superuser, roles: Object.fromEntries(p.grants.map((g) => [g.accountId, g.roles])) };
    },
  );

  app.get(
    '/api/users',
    { config: { access: { kind: 'superuser' } }, schema: { tags: ['users'], summary: 'Every user', response: { 200: { type: 'object', properties: { users: { type: 'array', items: userJson } } } } } },
    async () => ({ users: await listUsers(db) }),
  );

  app.post(
    '/api/users',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['users'],
        summary: 'Create a user (with a password for the console, or without to act through tokens only)',
        body: {
          type: 'object',
          required: ['username'],
          additionalProperties: false,
          properties: { username: { type: 'string', pattern: USERNAME }, password: { type: 'string', minLength: 8, maxLength: 1024 }, superuser: { type: 'boolean' } },
        },
        response: { 201: { type: 'object', properties: { user: userJson } } },
      },
    },
    async (req, reply) => {
      const body = req.body as { username: string; password?: string; superuser?: boolean };
      const user = await createUser(db, body, ctx.now());
      await auditRequest(ctx, req, { action: 'user.create', target: user.username, details: { superuser: user.superuser } });
      return reply.status(201).send({ user });
    },
  );

  app.put(
    '/api/accounts/:account/members/:username',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: {
        tags: ['accounts'],
        summary: "Set a user's roles on the account (an empty list removes the user)",
        params: { type: 'object', required: ['account', 'username'], properties: { account: { type: 'string', maxLength: 64 }, username: { type: 'string', pattern: USERNAME } } },
        body: { type: 'object', required: ['roles'], additionalProperties: false, properties: { roles: { type: 'array', uniqueItems: true, items: { enum: [...ACCOUNT_ROLES] } } } },
      },
    },
    async (req) => {
      const { account, username } = req.params as { account: string; username: string };
      const { roles } = req.body as { roles: AccountRole[] };
      await getAccount(db, account);
      const user = await findUserByUsername(db, username);
      if (!user) throw new ApiError('not-found', `no user ${JSON.stringify(username)}`);
      const now = ctx.now();
      await ctx.db.transaction(async (trx) => {
        const current = (await rolesOfUser(trx, user.id, account))[account] ?? [];
        for (const r of current) if (!roles.includes(r)) await revokeRole(trx, { userId: user.id, accountId: account, role: r });
        for (const r of roles) if (!current.includes(r)) await grantRole(trx, { userId: user.id, accountId: account, role: r }, now);
      });
      ctx.principals.clear();
      await auditRequest(ctx, req, { action: 'account.members.set', target: username, accountId: account, details: { roles } });
      return { username, account, roles };
    },
  );

  app.get(
    '/api/tokens',
    {
      config: { access: { kind: 'authenticated' } },
      schema: { tags: ['auth'], summary: "The caller's API tokens (never their secrets)", response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: tokenJson } } } } },
    },
    async (req) => ({ tokens: await listApiTokens(db, Number(req.principal!.userId)) }),
  );

  app.post(
    '/api/tokens',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'authenticated' } },
      schema: {
        tags: ['auth'],
        summary: 'Create an API token for the caller; it never grants more than the caller holds',
        body: {
          type: 'object',
          required: ['name', 'roles'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            accountId: { type: 'string', maxLength: 64 },
            roles: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...TOKEN_ROLES] } },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
        response: { 201: { type: 'object', properties: { token: { type: 'string' }, apiToken: tokenJson } } },
      },
    },
    async (req, reply) => {
      const body = req.body as { name: string; accountId?: string; roles: TokenRole[]; expiresInDays?: number };
      const p = req.principal!;
      const user = await getUser(db, Number(p.userId));
      // A token is bounded by what its user holds when used, and by what the caller's own token holds now.
      for (const r of body.roles) {
        const allowed = r === 'superuser' ? p.superuser : p.superuser || p.grants.some((g) => (!body.accountId || g.accountId === body.accountId) && g.roles.includes(r));
        if (!allowed) throw new ApiError('forbidden', `cannot create a token with role ${r}${body.accountId ? ` on ${body.accountId}` : ''}: the caller does not hold it`);
      }
      const now = ctx.now();
      const expiresAt = body.expiresInDays ? new Date(now.getTime() + body.expiresInDays * 86_400_000) : null;
      const created = await createApiToken(db, { userId: user.id, name: body.name, accountId: body.accountId ?? null, roles: body.roles, expiresAt }, now);
      await auditRequest(ctx, req, { action: 'token.create', target: String(created.apiToken.id), accountId: body.accountId ?? null, details: { name: body.name, roles: body.roles } });
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/api/tokens/:id',
    {
      config: { access: { kind: 'authenticated' } },
      schema: { tags: ['auth'], summary: 'Revoke one of the caller\'s tokens (any token, for the operator administrator)', params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } },
    },
    async (req) => {
      const id = (req.params as { id: number }).id;
      const p = req.principal!;
      const own = (await listApiTokens(db, Number(p.userId))).some((t) => t.id === id);
      if (!own && !p.superuser) throw new ApiError('not-found', `no token ${id}`);
      const token = await revokeApiToken(db, id, ctx.now());
      ctx.principals.clear();
      await auditRequest(ctx, req, { action: 'token.revoke', target: String(id), accountId: token.accountId });
      return { token };
    },
  );

  app.get(
    '/api/audit',
    {
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['audit'],
        summary: 'The whole audit log, newest first',
        querystring: { type: 'object', additionalProperties: false, properties: { before: { type: 'integer', minimum: 1 }, limit: { type: 'integer', minimum: 1, maximum: 1000 }, action: { type: 'string', maxLength: 100 }, accountId: { type: 'string', maxLength: 64 } } },
      },
    },
    async (req) => listAudit(db, req.query as { before?: number; limit?: number; action?: string; accountId?: string }),
  );
}
