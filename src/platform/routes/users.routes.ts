// HTTP for users, their roles on accounts, API tokens and password login; the
// rules are in UsersService (src/platform/auth/users.service.ts).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ACCOUNT_ROLES, TOKEN_ROLES } from '../auth/index.ts';
import { listAudit } from '../audit/index.ts';
import { LOGIN_TOKEN_HOURS, UsersService } from '../auth/users.service.ts';
import { actorOf, type PlatformContext } from '../context.ts';
import { AuditQuery, DateTime, USERNAME_PATTERN, accountParam } from './platform.schemas.ts';

const UserJson = Type.Object({ id: Type.Integer(), username: Type.String(), superuser: Type.Boolean(), hasPassword: Type.Boolean(), createdAt: DateTime });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const TokenJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  accountId: Nullable(Type.String()),
  roles: Type.Array(Type.String()),
  createdAt: DateTime,
  expiresAt: Nullable(DateTime),
  revokedAt: Nullable(DateTime),
  lastUsedAt: Nullable(DateTime),
});
const roleEnum = <R extends string>(roles: readonly R[]) => Type.Union(roles.map((r) => Type.Literal(r)));

export async function userRoutes(parent: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const users = new UsersService(ctx);

  app.post(
    '/api/login',
    {
      bodyLimit: 4 * 1024,
      config: { access: { kind: 'public' } },
      schema: {
        tags: ['auth'],
        summary: `Log in with a password; returns an API token valid for ${LOGIN_TOKEN_HOURS} hours with every role the user holds`,
        security: [],
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ token: Type.String(), expiresAt: DateTime, username: Type.String() }) },
      },
    },
    async (req) => {
      const { ip, requestId } = actorOf(req);
      const { token, expiresAt, user } = await users.login(req.body, { ip, requestId });
      return { token, expiresAt, username: user.username };
    },
  );

  app.get(
    '/api/whoami',
    { config: { access: { kind: 'authenticated' } }, schema: { tags: ['auth'], summary: 'The caller: user, superuser flag and roles per account' } },
    async (req) => {
      const p = req.principal!;
      return { username: p.username, superuser: p.superuser, roles: Object.fromEntries(p.grants.map((g) => [g.accountId, g.roles])) };
    },
  );

  app.get(
    '/api/users',
    { config: { access: { kind: 'superuser' } }, schema: { tags: ['users'], summary: 'Every user', response: { 200: Type.Object({ users: Type.Array(UserJson) }) } } },
    async () => ({ users: await users.list() }),
  );

  app.post(
    '/api/users',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['users'],
        summary: 'Create a user (with a password for the console, or without to act through tokens only)',
        body: Type.Object(
          { username: Type.String({ pattern: USERNAME_PATTERN }), password: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })), superuser: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ user: UserJson }) },
      },
    },
    async (req, reply) => reply.status(201).send({ user: await users.create(req.body, actorOf(req)) }),
  );

  app.put(
    '/api/accounts/:account/members/:username',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: {
        tags: ['accounts'],
        summary: "Set a user's roles on the account (an empty list removes the user)",
        params: Type.Object({ account: Type.String({ maxLength: 64 }), username: Type.String({ pattern: USERNAME_PATTERN }) }),
        body: Type.Object({ roles: Type.Array(roleEnum(ACCOUNT_ROLES), { uniqueItems: true }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const { account, username } = req.params;
      await users.setRoles(account, username, req.body.roles, actorOf(req));
      return { username, account, roles: req.body.roles };
    },
  );

  app.get(
    '/api/tokens',
    {
      config: { access: { kind: 'authenticated' } },
      schema: { tags: ['auth'], summary: "The caller's API tokens (never their secrets)", response: { 200: Type.Object({ tokens: Type.Array(TokenJson) }) } },
    },
    async (req) => ({ tokens: await users.tokensOf(req.principal!) }),
  );

  app.post(
    '/api/tokens',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'authenticated' } },
      schema: {
        tags: ['auth'],
        summary: 'Create an API token for the caller; it never grants more than the caller holds',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 255 }),
            accountId: Type.Optional(Type.String({ maxLength: 64 })),
            roles: Type.Array(roleEnum(TOKEN_ROLES), { minItems: 1, uniqueItems: true }),
            expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), apiToken: TokenJson }) },
      },
    },
    async (req, reply) => reply.status(201).send(await users.createToken(req.principal!, req.body, actorOf(req))),
  );

  app.delete(
    '/api/tokens/:id',
    {
      config: { access: { kind: 'authenticated' } },
      schema: { tags: ['auth'], summary: "Revoke one of the caller's tokens (any token, for the operator administrator)", params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) },
    },
    async (req) => ({ token: await users.revokeToken(req.principal!, req.params.id, actorOf(req)) }),
  );

  app.get(
    '/api/audit',
    {
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['audit'],
        summary: 'The whole audit log, newest first',
        querystring: Type.Object({ ...AuditQuery.properties, accountId: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
      },
    },
    async (req) => listAudit(ctx.db.kysely, req.query),
  );
}
