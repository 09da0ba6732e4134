// Accounts (brands, developers) and their keys. Creating an account signs its
// account assertion with the root's store key; registering a key certifies an
// account-key-request with the root key.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountKeyType, AccountType, MEDIA_TYPE, accountInput, accountKeyInputFromRequest, decode, encodeStream, parseRFC3339 } from '../../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../assertions/index.ts';
import { createAccount, findAccount, getAccount, listAccounts, membersOfAccount, type Account } from '../auth/index.ts';
import { listAudit } from '../audit/index.ts';
import { accountsWithRole } from '../http/access.ts';
import { ApiError } from '../http/errors.ts';
import { signAssertion } from '../keys/index.ts';
import { auditRequest, type PlatformContext } from '../context.ts';

const accountParam = (req: FastifyRequest) => (req.params as { account: string }).account;
const ACCOUNT_ID_PATTERN = '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$';
const accountParams = { type: 'object', required: ['account'], properties: { account: { type: 'string', pattern: ACCOUNT_ID_PATTERN } } } as const;

const accountJson = {
  type: 'object',
  properties: {
    accountId: { type: 'string' },
    displayName: { type: 'string' },
    username: { type: ['string', 'null'] },
    validation: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

function timeOption(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseRFC3339(value);
  if (!d) throw new ApiError('validation-failed', `${what} must be an RFC 3339 time`);
  return d;
}

export async function accountRoutes(app: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const db = ctx.db.kysely;

  app.get(
    '/api/accounts',
    {
      config: { access: { kind: 'authenticated' } },
      schema: {
        tags: ['accounts'],
        summary: 'Accounts the caller can see (all of them for the operator administrator)',
        querystring: { type: 'object', additionalProperties: false, properties: { after: { type: 'string', maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } } },
        response: { 200: { type: 'object', properties: { accounts: { type: 'array', items: accountJson } } } },
      },
    },
    async (req) => {
      const q = req.query as { after?: string; limit?: number };
      const visible = accountsWithRole(req.principal!, ['admin', 'publisher', 'viewer', 'factory-operator']);
      if (visible === '*') return { accounts: await listAccounts(db, q) };
      const accounts: Account[] = [];
      for (const id of visible.sort()) {
        if (q.after !== undefined && id <= q.after) continue;
        accounts.push(await getAccount(db, id));
        if (accounts.length >= (q.limit ?? 100)) break;
      }
      return { accounts };
    },
  );

  app.post(
    '/api/accounts',
    {
      bodyLimit: 16 * 1024,
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['accounts'],
        summary: 'Create an account and sign its account assertion (snapline account add)',
        body: {
          type: 'object',
          required: ['accountId'],
          additionalProperties: false,
          properties: {
            accountId: { type: 'string', pattern: ACCOUNT_ID_PATTERN },
            displayName: { type: 'string', minLength: 1, maxLength: 200 },
            username: { type: 'string', pattern: ACCOUNT_ID_PATTERN },
            validation: { enum: ['unproven', 'starred', 'verified'] },
          },
        },
        response: { 201: { type: 'object', properties: { account: accountJson, assertion: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const body = req.body as { accountId: string; displayName?: string; username?: string; validation?: 'unproven' | 'starred' | 'verified' };
      // Checked first to spare a signature; the insert below still settles races.
      if (await findAccount(db, body.accountId)) throw new ApiError('account-exists', `account ${JSON.stringify(body.accountId)} already exists`, 409);
      const now = ctx.now();
      const input = accountInput({
        rootId: ctx.root.rootId,
        accountId: body.accountId,
        ...(body.displayName ? { displayName: body.displayName } : {}),
        ...(body.username ? { username: body.username } : {}),
        validation: body.validation ?? 'unproven',
        timestamp: now,
      });
      // Sign first (RSA off the event loop), then store account and assertion together.
      const assertion = await signAssertion(AccountType, input, ctx.root.storeSigner, now);
      ctx.metrics.signatures.inc({ type: 'account' });
      const account = await ctx.db.transaction(async (trx) => {
        const created = await createAccount(
          trx,
          { accountId: body.accountId, displayName: body.displayName ?? body.accountId, username: body.username ?? body.accountId, validation: body.validation ?? 'unproven' },
          now,
        );
        await putAssertion(trx, assertion, now);
        return created;
      });
      await auditRequest(ctx, req, { action: 'account.create', target: body.accountId, accountId: body.accountId });
      return reply.status(201).send({ account, assertion: assertion.toString() });
    },
  );

  app.get(
    '/api/accounts/:account',
    {
      config: { access: { kind: 'account', roles: ['admin', 'publisher', 'viewer', 'factory-operator'], account: accountParam } },
      schema: { tags: ['accounts'], summary: 'An account and its signed account assertion', params: accountParams, response: { 200: { type: 'object', properties: { account: accountJson, assertion: { type: ['string', 'null'] } } } } },
    },
    async (req) => {
      const account = await getAccount(db, accountParam(req));
      const assertion = await findAssertion(db, 'account', [account.accountId]);
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
        summary: "Certify a key from its account-key-request (snapline key register --url): the root key signs the account-key",
        params: accountParams,
        body: {
          type: 'object',
          required: ['accountKeyRequest'],
          additionalProperties: false,
          properties: { accountKeyRequest: { type: 'string', maxLength: 65536 }, since: { type: 'string' }, until: { type: 'string' } },
        },
        response: { 201: { type: 'object', properties: { assertion: { type: 'string' }, chain: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const body = req.body as { accountKeyRequest: string; since?: string; until?: string };
      const accountId = accountParam(req);
      await getAccount(db, accountId);
      const request = decode(body.accountKeyRequest);
      if (request.type !== 'account-key-request') throw new ApiError('validation-failed', `expected an account-key-request, got a ${request.type}`);
      if (request.headerString('account-id') !== accountId) {
        throw new ApiError('validation-failed', `the request is for account ${JSON.stringify(request.headerString('account-id'))}, not ${JSON.stringify(accountId)}`);
      }
      const since = timeOption(body.since, 'since');
      const until = timeOption(body.until, 'until');
      const input = accountKeyInputFromRequest({ rootId: ctx.root.rootId, request, ...(since ? { since } : {}), ...(until ? { until } : {}) });
      const now = ctx.now();
      const assertion = await signAssertion(AccountKeyType, input, ctx.root.rootSigner, now);
      ctx.metrics.signatures.inc({ type: 'account-key' });
      await putAssertion(db, assertion, now);
      await auditRequest(ctx, req, { action: 'account-key.register', target: assertion.headerString('public-key-sha3-384'), accountId, details: { name: assertion.headerString('name') } });
      const chain = await signingChain(db, [assertion], new Set([ctx.root.rootSigner.keyId, ctx.root.storeSigner.keyId]));
      return reply.status(201).send({ assertion: assertion.toString(), chain: encodeStream(chain).toString() });
    },
  );

  app.get(
    '/api/accounts/:account/account-keys',
    {
      config: { access: { kind: 'account', roles: ['admin', 'publisher', 'viewer', 'factory-operator'], account: accountParam } },
      schema: { tags: ['accounts'], summary: "The account's registered account-keys, as an assertion stream", params: accountParams },
    },
    async (req, reply) => {
      const accountId = accountParam(req);
      await getAccount(db, accountId);
      const rows = await db.selectFrom('assertions').select(['primary_key', 'revision', 'encoded']).where('type', '=', 'account-key').orderBy('primary_key').orderBy('revision', 'desc').execute();
      const newest = new Map<string, string>();
      for (const r of rows) if (!newest.has(r.primary_key)) newest.set(r.primary_key, r.encoded);
      const keys = [...newest.values()].map((t) => decode(t)).filter((a) => a.headerString('account-id') === accountId);
      return reply.type(MEDIA_TYPE).send(encodeStream(keys));
    },
  );

  app.get(
    '/api/accounts/:account/audit',
    {
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: {
        tags: ['audit'],
        summary: "The account's audit log, newest first",
        params: accountParams,
        querystring: { type: 'object', additionalProperties: false, properties: { before: { type: 'integer', minimum: 1 }, limit: { type: 'integer', minimum: 1, maximum: 1000 }, action: { type: 'string', maxLength: 100 } } },
      },
    },
    async (req) => {
      const q = req.query as { before?: number; limit?: number; action?: string };
      return listAudit(db, { accountId: accountParam(req), ...q });
    },
  );

  app.get(
    '/api/accounts/:account/members',
    {
      config: { access: { kind: 'account', roles: ['admin'], account: accountParam } },
      schema: { tags: ['accounts'], summary: 'Users with roles on the account', params: accountParams },
    },
    async (req) => ({ members: await membersOfAccount(db, accountParam(req)) }),
  );
}
