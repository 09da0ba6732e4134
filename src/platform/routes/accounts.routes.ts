// HTTP for accounts (brands, developers) and their keys; the rules are in
// AccountsService (src/platform/auth/accounts.service.ts).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MEDIA_TYPE, encodeStream, parseRFC3339 } from '../../assertions/index.ts';
import { AccountsService } from '../auth/accounts.service.ts';
import { actorOf, type PlatformContext } from '../context.ts';
import { ApiError } from '../http/errors.ts';
import { ACCOUNT_ID_PATTERN, AccountParams, AuditQuery, DateTime, accountParam } from './platform.schemas.ts';

const AccountJson = Type.Object({
  accountId: Type.String(),
  displayName: Type.String(),
  username: Type.Union([Type.String(), Type.Null()]),
  validation: Type.String(),
  createdAt: DateTime,
});

const NewAccount = Type.Object(
  {
    accountId: Type.String({ pattern: ACCOUNT_ID_PATTERN }),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    username: Type.Optional(Type.String({ pattern: ACCOUNT_ID_PATTERN })),
    validation: Type.Optional(Type.Union([Type.Literal('unproven'), Type.Literal('starred'), Type.Literal('verified')])),
  },
  { additionalProperties: false },
);

const KeyRegistration = Type.Object(
  { accountKeyRequest: Type.String({ maxLength: 65536 }), since: Type.Optional(Type.String()), until: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

const READERS = ['admin', 'publisher', 'viewer', 'factory-operator'] as const;

/** An optional RFC 3339 time (snapd's parser, as the assertion will carry it). */
function timeOption(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseRFC3339(value);
  if (!d) throw new ApiError('validation-failed', `${what} must be an RFC 3339 time`);
  return d;
}

export async function accountRoutes(parent: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const accounts = new AccountsService(ctx);

  app.get(
    '/api/accounts',
    {
      config: { access: { kind: 'authenticated' } },
      schema: {
        tags: ['accounts'],
        summary: 'Accounts the caller can see (all of them for the operator administrator)',
        querystring: Type.Object({ after: Type.Optional(Type.String({ maxLength: 64 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ accounts: Type.Array(AccountJson) }) },
      },
    },
    async (req) => ({ accounts: await accounts.visibleTo(req.principal!, req.query) }),
  );

  app.post(
    '/api/accounts',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account and sign its account assertion (snapline account add)',
        body: NewAccount,
        response: { 201: Type.Object({ account: AccountJson, assertion: Type.String() }) },
      },
    },
    async (req, reply) => {
      const { account, assertion } = await accounts.create(req.body, actorOf(req));
      return reply.status(201).send({ account, assertion: assertion.toString() });
    },
  );

  app.get(
    '/api/accounts/:account',
    {
      config: { access: { kind: 'account', roles: [...READERS], account: accountParam } },
      schema: {
        tags: ['accounts'],
        summary: 'An account and its signed account assertion',
        params: AccountParams,
        response: { 200: Type.Object({ account: AccountJson, assertion: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (req) => {
      const { account, assertion } = await accounts.get(req.params.account);
      return { account, assertion: assertion?.toString() ?? null };
    },
  );

  app.post(
    '/api/accounts/:account/account-keys',
    {
      bodyLimit: 128 * 1024,
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: {
        tags: ['accounts'],
        summary: 'Certify a key from its account-key-request (snapline key register --url): the root key signs the account-key',
        params: AccountParams,
        body: KeyRegistration,
        response: { 201: Type.Object({ assertion: Type.String(), chain: Type.String() }) },
      },
    },
    async (req, reply) => {
      const since = timeOption(req.body.since, 'since');
      const until = timeOption(req.body.until, 'until');
      const { assertion, chain } = await accounts.registerKey(
        req.params.account,
        { accountKeyRequest: req.body.accountKeyRequest, ...(since ? { since } : {}), ...(until ? { until } : {}) },
        actorOf(req),
      );
      return reply.status(201).send({ assertion: assertion.toString(), chain: encodeStream(chain).toString() });
    },
  );

  app.get(
    '/api/accounts/:account/account-keys',
    {
      config: { access: { kind: 'account', roles: [...READERS], account: accountParam } },
      schema: { tags: ['accounts'], summary: "The account's registered account-keys, as an assertion stream", params: AccountParams },
    },
    async (req, reply) => reply.type(MEDIA_TYPE).send(encodeStream(await accounts.accountKeys(req.params.account))),
  );

  app.get(
    '/api/accounts/:account/audit',
    {
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: { tags: ['audit'], summary: "The account's audit log, newest first", params: AccountParams, querystring: AuditQuery },
    },
    async (req) => accounts.auditLog({ ...req.query, accountId: req.params.account }),
  );

  app.get(
    '/api/accounts/:account/members',
    {
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: { tags: ['accounts'], summary: 'Users with roles on the account', params: AccountParams },
    },
    async (req) => ({ members: await accounts.members(req.params.account) }),
  );
}
