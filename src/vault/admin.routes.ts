// The vault's admin API under /api/vault/brands/{account}/...: HTTP in and
// out of VaultAdminService (vault-admin.service.ts), which holds the rules.
// Here: paths, schemas (vault.schemas.ts), the brand role each route needs
// (reads: admins and viewers; changes: admins; the log also factory
// operators), status codes and content types.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Role } from '../platform/http/access.ts';
import { actorOf } from '../platform/context.ts';
import {
  AccountKeyBody,
  AddModelBody,
  ApiKeyParams,
  BrandParams,
  CreateApiKeyBody,
  CreateKeyBody,
  KeyParams,
  LogExportQuery,
  LogSearchQuery,
  ModelParams,
  SystemUserBody,
  UpdateModelBody,
} from './vault.schemas.ts';
import { API_KEY_HEADER } from './device.routes.ts';
import type { VaultAdminService } from './vault-admin.service.ts';

/** The brand a request acts on: its `account` path parameter. */
function accountParam(req: FastifyRequest): string | undefined {
  const p = req.params;
  return typeof p === 'object' && p !== null && 'account' in p && typeof p.account === 'string' ? p.account : undefined;
}
const READERS: Role[] = ['admin', 'viewer'];
const ADMINS: Role[] = ['admin'];
const LOG_READERS: Role[] = ['admin', 'viewer', 'factory-operator'];
const access = (roles: Role[]) => ({ access: { kind: 'account' as const, roles, account: accountParam } });
const tags = ['vault'];

export async function adminRoutes(fastify: FastifyInstance, admin: VaultAdminService): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  // ---- signing keys

  app.get(
    '/api/vault/brands/:account/keys',
    { config: access(READERS), schema: { tags, summary: "The brand's vault signing keys (public parts only)", params: BrandParams } },
    async (req) => ({ keys: await admin.listKeys(req.params.account) }),
  );

  app.post(
    '/api/vault/brands/:account/keys',
    {
      config: access(ADMINS),
      schema: { tags, summary: 'Create (generate or import) a brand signing key; by default the root certifies it with an account-key', params: BrandParams, body: CreateKeyBody },
    },
    async (req, reply) => {
      const { key, accountKey } = await admin.createKey(actorOf(req), req.params.account, req.body);
      return reply.status(201).send({ key, accountKey: accountKey?.toString() ?? null });
    },
  );

  app.post(
    '/api/vault/brands/:account/keys/:name/account-key',
    { config: access(ADMINS), schema: { tags, summary: 'Upload the signed account-key of a vault key (certified elsewhere by this root)', params: KeyParams, body: AccountKeyBody } },
    async (req, reply) => {
      const accountKey = await admin.uploadAccountKey(actorOf(req), req.params.account, req.params.name, req.body.accountKey);
      return reply.status(201).send({ accountKey: accountKey.toString() });
    },
  );

  app.delete(
    '/api/vault/brands/:account/keys/:name',
    { config: access(ADMINS), schema: { tags, summary: 'Disable a vault key: it stays listed but signs nothing', params: KeyParams } },
    async (req) => ({ key: await admin.disableKey(actorOf(req), req.params.account, req.params.name) }),
  );

  // ---- models

  app.get(
    '/api/vault/brands/:account/models',
    { config: access(READERS), schema: { tags, summary: 'Models the vault signs serials for', params: BrandParams } },
    async (req) => ({ models: await admin.listModels(req.params.account) }),
  );

  app.post(
    '/api/vault/brands/:account/models',
    { config: access(ADMINS), schema: { tags, summary: 'Let the vault sign serials for a model, with a signing key and a serial policy', params: BrandParams, body: AddModelBody } },
    async (req, reply) => reply.status(201).send({ model: await admin.addModel(actorOf(req), req.params.account, req.body) }),
  );

  app.get(
    '/api/vault/brands/:account/models/:model',
    { config: access(READERS), schema: { tags, summary: 'One vault model', params: ModelParams } },
    async (req) => ({ model: await admin.getModel(req.params.account, req.params.model) }),
  );

  app.patch(
    '/api/vault/brands/:account/models/:model',
    { config: access(ADMINS), schema: { tags, summary: "Change a model's signing key (key rotation) or serial policy; its counter and log stay", params: ModelParams, body: UpdateModelBody } },
    async (req) => ({ model: await admin.updateModel(actorOf(req), req.params.account, req.params.model, req.body) }),
  );

  app.delete(
    '/api/vault/brands/:account/models/:model',
    { config: access(ADMINS), schema: { tags, summary: 'Stop signing serials for a model (its log stays)', params: ModelParams } },
    async (req) => {
      await admin.removeModel(actorOf(req), req.params.account, req.params.model);
      return { removed: `${req.params.account}/${req.params.model}` };
    },
  );

  // ---- factory API keys

  app.get(
    '/api/vault/brands/:account/api-keys',
    { config: access(READERS), schema: { tags, summary: "The brand's factory API keys (never their secrets)", params: BrandParams } },
    async (req) => ({ apiKeys: await admin.listApiKeys(req.params.account) }),
  );

  app.post(
    '/api/vault/brands/:account/api-keys',
    { config: access(ADMINS), schema: { tags, summary: 'Create a factory API key; its secret is shown once', params: BrandParams, body: CreateApiKeyBody } },
    async (req, reply) => {
      const { apiKey, secret } = await admin.createApiKey(actorOf(req), req.params.account, req.body);
      return reply.status(201).send({ apiKey, secret, header: API_KEY_HEADER });
    },
  );

  app.delete(
    '/api/vault/brands/:account/api-keys/:id',
    { config: access(ADMINS), schema: { tags, summary: 'Revoke a factory API key', params: ApiKeyParams } },
    async (req) => ({ apiKey: await admin.revokeApiKey(actorOf(req), req.params.account, req.params.id) }),
  );

  // ---- signing log

  app.get(
    '/api/vault/brands/:account/log',
    { config: access(LOG_READERS), schema: { tags, summary: 'The signing log, newest first, searchable', params: BrandParams, querystring: LogSearchQuery } },
    async (req) => admin.searchLog(actorOf(req), req.params.account, req.query),
  );

  app.get(
    '/api/vault/brands/:account/log/export',
    { config: access(LOG_READERS), schema: { tags, summary: 'The whole signing log (or a search of it) as CSV or JSON', params: BrandParams, querystring: LogExportQuery } },
    async (req, reply) => {
      const out = await admin.exportLog(actorOf(req), req.params.account, req.query);
      if (out.fileName !== undefined) reply.header('content-disposition', `attachment; filename="${out.fileName}"`);
      return reply.type(out.contentType).send(out.body);
    },
  );

  // ---- system-user assertions

  app.post(
    '/api/vault/brands/:account/system-users',
    {
      config: access(ADMINS),
      schema: { tags, summary: 'Sign a system-user assertion (factory or field access) for models and optionally serials, with an expiry', params: BrandParams, body: SystemUserBody },
    },
    async (req, reply) => {
      const { assertion, stream } = await admin.signSystemUser(actorOf(req), req.params.account, req.body);
      return reply.status(201).send({ assertion: assertion.toString(), stream: stream.toString() });
    },
  );
}
