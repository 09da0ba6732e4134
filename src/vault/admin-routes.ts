// The vault's admin API under /api/vault/brands/{account}/...: signing keys,
// models, factory API keys, the signing log (list, search, export) and
// system-user assertions. Reads: brand admins and viewers; changes: brand
// admins; the log also: factory operators.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  AccountKeyType,
  AssertionError,
  SystemUserType,
  TrustDatabase,
  accountKeyInput,
  decode,
  encodeStream,
  formatTimestamp,
  parseRFC3339,
  type Assertion,
} from '../assertions/index.ts';
import { findAssertion, putAssertion, signingChain } from '../platform/assertions/index.ts';
import { getAccount } from '../platform/auth/index.ts';
import { ConflictError, platformView } from '../platform/db/index.ts';
import { hasRole, type Role } from '../platform/http/access.ts';
import { ApiError } from '../platform/http/errors.ts';
import { KeyCustodyError, signAssertion, type SigningKeyInfo } from '../platform/keys/index.ts';
import { auditRequest, type PlatformContext } from '../platform/context.ts';
import { VaultError } from './errors.ts';
import { DUPLICATE_POLICIES, createApiKey, deleteModel, findModel, insertModel, updateModel, listApiKeys, listLog, listModels, revokeApiKey, type DuplicatePolicy, type LogEntry, type LogQuery } from './repo.ts';
import { checkTemplate } from './serials.ts';
import type { Vault } from './vault.ts';

const ACCOUNT_ID_PATTERN = '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$';
const KEY_NAME_PATTERN = '^[a-z0-9](?:-?[a-z0-9]){0,23}$';
const MODEL_PATTERN = '^[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$';
const accountParam = (req: FastifyRequest) => (req.params as { account: string }).account;
const READERS: Role[] = ['admin', 'viewer'];
const ADMINS: Role[] = ['admin'];
const LOG_READERS: Role[] = ['admin', 'viewer', 'factory-operator'];
const access = (roles: Role[]) => ({ access: { kind: 'account' as const, roles, account: accountParam } });
const params = (extra: Record<string, object> = {}) => ({
  type: 'object',
  required: ['account', ...Object.keys(extra)],
  properties: { account: { type: 'string', pattern: ACCOUNT_ID_PATTERN }, ...extra },
});
const TAGS = ['vault'];

/** Key custody names of vault keys: vault.<brand>.<name> (custody names allow no "/"). */
export const custodyName = (brandId: string, name: string) => `vault.${brandId}.${name}`;

function keyJson(k: SigningKeyInfo, brandId: string) {
  return {
    name: k.name.slice(custodyName(brandId, '').length),
    keyId: k.keyId,
    bits: k.bits,
    createdAt: k.createdAt.toISOString(),
    disabledAt: k.disabledAt?.toISOString() ?? null,
    publicKey: k.publicKey.encode(),
  };
}

function timeField(value: string | undefined, what: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = parseRFC3339(value);
  if (!d) throw new ApiError('validation-failed', `${what} must be an RFC 3339 time`);
  return d;
}

function logJson(e: LogEntry) {
  return { ...e, signedAt: e.signedAt.toISOString() };
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote everything that could break a row or be read as a formula by a spreadsheet.
  return /[",\n\r]|^[=+\-@\t]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export async function adminRoutes(app: FastifyInstance, ctx: PlatformContext, vault: Vault): Promise<void> {
  const db = vault.db;
  const pdb = platformView(db);

  async function brandKeys(brandId: string): Promise<SigningKeyInfo[]> {
    const prefix = custodyName(brandId, '');
    return (await ctx.keys.list()).filter((k) => k.accountId === brandId && k.name.startsWith(prefix));
  }

  async function brandKey(brandId: string, name: string): Promise<SigningKeyInfo> {
    try {
      const k = await ctx.keys.get({ name: custodyName(brandId, name) });
      if (k.accountId !== brandId) throw new VaultError('vault-key-not-found', `no vault key ${JSON.stringify(name)} for ${brandId}`);
      return k;
    } catch (err) {
      if (err instanceof KeyCustodyError && err.code === 'key-not-found') throw new VaultError('vault-key-not-found', `no vault key ${JSON.stringify(name)} for ${brandId}`);
      throw err;
    }
  }

  /** Checks an uploaded account-key against this server's root and stores it. */
  async function acceptAccountKey(brandId: string, key: SigningKeyInfo, text: string): Promise<Assertion> {
    let a: Assertion;
    try {
      a = decode(text);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('vault-invalid', `cannot decode the account-key: ${err.message}`);
      throw err;
    }
    if (a.type !== 'account-key') throw new VaultError('vault-invalid', `expected an account-key, got a ${a.type}`);
    if (a.headerString('account-id') !== brandId) throw new VaultError('vault-invalid', `the account-key is for ${a.headerString('account-id')}, not ${brandId}`);
    if (a.headerString('public-key-sha3-384') !== key.keyId) throw new VaultError('vault-invalid', `the account-key certifies ${a.headerString('public-key-sha3-384')}, not this key (${key.keyId})`);
    const trust = new TrustDatabase({ trusted: ctx.root.trusted, now: ctx.now });
    const account = await findAssertion(pdb, 'account', [brandId]);
    if (account) trust.addEach([account]);
    try {
      trust.check(a);
    } catch (err) {
      if (err instanceof AssertionError) throw new VaultError('vault-invalid', `the account-key does not verify against this server's root: ${err.message}`);
      throw err;
    }
    try {
      await putAssertion(pdb, a, ctx.now());
    } catch (err) {
      if (!(err instanceof ConflictError || (err instanceof AssertionError && err.code === 'assertion-revision'))) throw err;
    }
    vault.invalidate();
    return a;
  }

  // ---- signing keys

  app.get(
    '/api/vault/brands/:account/keys',
    { config: access(READERS), schema: { tags: TAGS, summary: "The brand's vault signing keys (public parts only)", params: params() } },
    async (req) => {
      const brandId = accountParam(req);
      const keys = await brandKeys(brandId);
      const out = [];
      for (const k of keys) out.push({ ...keyJson(k, brandId), registered: (await findAssertion(pdb, 'account-key', [k.keyId])) !== undefined });
      return { keys: out };
    },
  );

  app.post(
    '/api/vault/brands/:account/keys',
    {
      config: access(ADMINS),
      schema: {
        tags: TAGS,
        summary: 'Create (generate or import) a brand signing key; by default the root certifies it with an account-key',
        params: params(),
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', pattern: KEY_NAME_PATTERN },
            pem: { type: 'string', maxLength: 65536 },
            passphrase: { type: 'string', maxLength: 1024 },
            register: { type: 'boolean', default: true },
            accountKey: { type: 'string', maxLength: 65536 },
            since: { type: 'string' },
            until: { type: 'string' },
          },
        },
      },
    },
    async (req, reply) => {
      const brandId = accountParam(req);
      const body = req.body as { name: string; pem?: string; passphrase?: string; register: boolean; accountKey?: string; since?: string; until?: string };
      await getAccount(pdb, brandId);
      const name = custodyName(brandId, body.name);
      const key = body.pem
        ? await ctx.keys.import(name, body.pem, { accountId: brandId, ...(body.passphrase ? { passphrase: body.passphrase } : {}) })
        : await ctx.keys.generate(name, { accountId: brandId });
      let accountKey: Assertion | undefined;
      if (body.accountKey) accountKey = await acceptAccountKey(brandId, key, body.accountKey);
      else if (body.register) {
        const now = ctx.now();
        const since = timeField(body.since, 'since') ?? new Date(Math.floor((now.getTime() - 3600_000) / 1000) * 1000);
        const until = timeField(body.until, 'until');
        accountKey = await signAssertion(AccountKeyType, accountKeyInput({ rootId: ctx.root.rootId, accountId: brandId, name: body.name, publicKey: key.publicKey, since, ...(until ? { until } : {}) }), ctx.root.rootSigner, now);
        ctx.metrics.signatures.inc({ type: 'account-key' });
        await putAssertion(pdb, accountKey, now);
        vault.invalidate();
      }
      await auditRequest(ctx, req, { action: 'vault.key.create', target: key.keyId, accountId: brandId, details: { name: body.name, imported: body.pem !== undefined, registered: accountKey !== undefined } });
      return reply.status(201).send({ key: keyJson(key, brandId), accountKey: accountKey?.toString() ?? null });
    },
  );

  app.post(
    '/api/vault/brands/:account/keys/:name/account-key',
    {
      config: access(ADMINS),
      schema: {
        tags: TAGS,
        summary: 'Upload the signed account-key of a vault key (certified elsewhere by this root)',
        params: params({ name: { type: 'string', pattern: KEY_NAME_PATTERN } }),
        body: { type: 'object', required: ['accountKey'], additionalProperties: false, properties: { accountKey: { type: 'string', maxLength: 65536 } } },
      },
    },
    async (req, reply) => {
      const brandId = accountParam(req);
      const { name } = req.params as { name: string };
      const key = await brandKey(brandId, name);
      const a = await acceptAccountKey(brandId, key, (req.body as { accountKey: string }).accountKey);
      await auditRequest(ctx, req, { action: 'vault.key.account-key', target: key.keyId, accountId: brandId });
      return reply.status(201).send({ accountKey: a.toString() });
    },
  );

  app.delete(
    '/api/vault/brands/:account/keys/:name',
    { config: access(ADMINS), schema: { tags: TAGS, summary: 'Disable a vault key: it stays listed but signs nothing', params: params({ name: { type: 'string', pattern: KEY_NAME_PATTERN } }) } },
    async (req) => {
      const brandId = accountParam(req);
      const { name } = req.params as { name: string };
      const key = await ctx.keys.disable({ keyId: (await brandKey(brandId, name)).keyId });
      vault.invalidate();
      await auditRequest(ctx, req, { action: 'vault.key.disable', target: key.keyId, accountId: brandId });
      return { key: keyJson(key, brandId) };
    },
  );

  // ---- models

  const modelBody = {
    type: 'object',
    required: ['model', 'key'],
    additionalProperties: false,
    properties: {
      model: { type: 'string', pattern: MODEL_PATTERN, maxLength: 128 },
      key: { type: 'string', pattern: KEY_NAME_PATTERN },
      serialAuthority: { type: 'string', pattern: ACCOUNT_ID_PATTERN },
      serialTemplate: { type: 'string', minLength: 1, maxLength: 128 },
      serialPattern: { type: 'string', maxLength: 256 },
      allowProposed: { type: 'boolean' },
      duplicates: { enum: [...DUPLICATE_POLICIES] },
      remodelFrom: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[-a-zA-Z0-9]{2,32}/[a-zA-Z0-9](?:-?[a-zA-Z0-9])*$' } },
    },
  } as const;

  const { model: _model, ...modelChanges } = modelBody.properties;

  app.get(
    '/api/vault/brands/:account/models',
    { config: access(READERS), schema: { tags: TAGS, summary: 'Models the vault signs serials for', params: params() } },
    async (req) => ({ models: await listModels(db, accountParam(req)) }),
  );

  app.post(
    '/api/vault/brands/:account/models',
    { config: access(ADMINS), schema: { tags: TAGS, summary: 'Let the vault sign serials for a model, with a signing key and a serial policy', params: params(), body: modelBody } },
    async (req, reply) => {
      const brandId = accountParam(req);
      const b = req.body as { model: string; key: string; serialAuthority?: string; serialTemplate?: string; serialPattern?: string; allowProposed?: boolean; duplicates?: DuplicatePolicy; remodelFrom?: string[] };
      await getAccount(pdb, brandId);
      const authorityId = b.serialAuthority ?? brandId;
      if (authorityId !== brandId && !hasRole(req.principal!, authorityId, ['admin'])) {
        throw new ApiError('forbidden', `signing serials as ${JSON.stringify(authorityId)} requires the admin role on that account too`);
      }
      const key = await brandKey(authorityId, b.key);
      if (key.disabledAt) throw new VaultError('vault-invalid', `key ${JSON.stringify(b.key)} is disabled`);
      const serialTemplate = b.serialTemplate ?? '{uuid}';
      checkTemplate(serialTemplate);
      if (b.serialPattern) {
        try {
          new RegExp(b.serialPattern);
        } catch (err) {
          throw new VaultError('vault-invalid', `serialPattern: ${(err as Error).message}`);
        }
      }
      let model;
      try {
        model = await insertModel(
          db,
          { brandId, model: b.model, keyId: key.keyId, authorityId, serialTemplate, serialPattern: b.serialPattern ?? '', allowProposed: b.allowProposed ?? false, duplicates: b.duplicates ?? 'idempotent', remodelFrom: b.remodelFrom ?? [] },
          ctx.now(),
        );
      } catch (err) {
        if (err instanceof ConflictError) throw new VaultError('vault-model-exists', `model ${brandId}/${b.model} is already in the vault`);
        throw err;
      }
      vault.invalidate();
      await auditRequest(ctx, req, { action: 'vault.model.add', target: `${brandId}/${b.model}`, accountId: brandId, details: { key: b.key, authorityId } });
      return reply.status(201).send({ model });
    },
  );

  app.get(
    '/api/vault/brands/:account/models/:model',
    { config: access(READERS), schema: { tags: TAGS, summary: 'One vault model', params: params({ model: { type: 'string', pattern: MODEL_PATTERN } }) } },
    async (req) => {
      const brandId = accountParam(req);
      const { model } = req.params as { model: string };
      const m = await findModel(db, brandId, model);
      if (!m) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
      return { model: m };
    },
  );

  app.patch(
    '/api/vault/brands/:account/models/:model',
    {
      config: access(ADMINS),
      schema: {
        tags: TAGS,
        summary: "Change a model's signing key (key rotation) or serial policy; its counter and log stay",
        params: params({ model: { type: 'string', pattern: MODEL_PATTERN } }),
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: modelChanges },
      },
    },
    async (req) => {
      const brandId = accountParam(req);
      const { model } = req.params as { model: string };
      const b = req.body as { key?: string; serialAuthority?: string; serialTemplate?: string; serialPattern?: string; allowProposed?: boolean; duplicates?: DuplicatePolicy; remodelFrom?: string[] };
      const current = await findModel(db, brandId, model);
      if (!current) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
      const authorityId = b.serialAuthority ?? current.authorityId;
      if (authorityId !== brandId && !hasRole(req.principal!, authorityId, ['admin'])) {
        throw new ApiError('forbidden', `signing serials as ${JSON.stringify(authorityId)} requires the admin role on that account too`);
      }
      let keyId: string | undefined;
      if (b.key !== undefined || b.serialAuthority !== undefined) {
        if (b.key === undefined) throw new VaultError('vault-invalid', 'a new serialAuthority needs a key of that account');
        const key = await brandKey(authorityId, b.key);
        if (key.disabledAt) throw new VaultError('vault-invalid', `key ${JSON.stringify(b.key)} is disabled`);
        keyId = key.keyId;
      }
      if (b.serialTemplate !== undefined) checkTemplate(b.serialTemplate);
      if (b.serialPattern) {
        try {
          new RegExp(b.serialPattern);
        } catch (err) {
          throw new VaultError('vault-invalid', `serialPattern: ${(err as Error).message}`);
        }
      }
      const updated = await updateModel(db, brandId, model, {
        ...(keyId !== undefined ? { keyId, authorityId } : {}),
        ...(b.serialTemplate !== undefined ? { serialTemplate: b.serialTemplate } : {}),
        ...(b.serialPattern !== undefined ? { serialPattern: b.serialPattern } : {}),
        ...(b.allowProposed !== undefined ? { allowProposed: b.allowProposed } : {}),
        ...(b.duplicates !== undefined ? { duplicates: b.duplicates } : {}),
        ...(b.remodelFrom !== undefined ? { remodelFrom: b.remodelFrom } : {}),
      });
      vault.invalidate();
      await auditRequest(ctx, req, { action: 'vault.model.update', target: `${brandId}/${model}`, accountId: brandId, details: { ...b } });
      return { model: updated };
    },
  );

  app.delete(
    '/api/vault/brands/:account/models/:model',
    { config: access(ADMINS), schema: { tags: TAGS, summary: 'Stop signing serials for a model (its log stays)', params: params({ model: { type: 'string', pattern: MODEL_PATTERN } }) } },
    async (req) => {
      const brandId = accountParam(req);
      const { model } = req.params as { model: string };
      if (!(await deleteModel(db, brandId, model))) throw new VaultError('vault-model-not-found', `model ${brandId}/${model} is not in the vault`);
      vault.invalidate();
      await auditRequest(ctx, req, { action: 'vault.model.remove', target: `${brandId}/${model}`, accountId: brandId });
      return { removed: `${brandId}/${model}` };
    },
  );

  // ---- factory API keys

  app.get(
    '/api/vault/brands/:account/api-keys',
    { config: access(READERS), schema: { tags: TAGS, summary: "The brand's factory API keys (never their secrets)", params: params() } },
    async (req) => ({ apiKeys: await listApiKeys(db, accountParam(req)) }),
  );

  app.post(
    '/api/vault/brands/:account/api-keys',
    {
      config: access(ADMINS),
      schema: {
        tags: TAGS,
        summary: 'Create a factory API key; its secret is shown once',
        params: params(),
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^(?!user:)' },
            models: { type: 'array', maxItems: 1000, items: { type: 'string', pattern: MODEL_PATTERN } },
            maxSerials: { type: 'integer', minimum: 1 },
            validFrom: { type: 'string' },
            validUntil: { type: 'string' },
          },
        },
      },
    },
    async (req, reply) => {
      const brandId = accountParam(req);
      const b = req.body as { name: string; models?: string[]; maxSerials?: number; validFrom?: string; validUntil?: string };
      await getAccount(pdb, brandId);
      const { apiKey, secret } = await createApiKey(
        db,
        { brandId, name: b.name, models: b.models ?? [], maxSerials: b.maxSerials ?? null, validFrom: timeField(b.validFrom, 'validFrom') ?? null, validUntil: timeField(b.validUntil, 'validUntil') ?? null, createdBy: req.principal!.username },
        ctx.now(),
      );
      await auditRequest(ctx, req, { action: 'vault.api-key.create', target: String(apiKey.id), accountId: brandId, details: { name: b.name, models: apiKey.models, maxSerials: apiKey.maxSerials } });
      return reply.status(201).send({ apiKey, secret, header: 'api-key' });
    },
  );

  app.delete(
    '/api/vault/brands/:account/api-keys/:id',
    { config: access(ADMINS), schema: { tags: TAGS, summary: 'Revoke a factory API key', params: params({ id: { type: 'integer', minimum: 1 } }) } },
    async (req) => {
      const brandId = accountParam(req);
      const { id } = req.params as { id: number };
      const apiKey = await revokeApiKey(db, brandId, id, ctx.now());
      vault.invalidate();
      await auditRequest(ctx, req, { action: 'vault.api-key.revoke', target: String(id), accountId: brandId });
      return { apiKey };
    },
  );

  // ---- signing log

  const logQuery = {
    type: 'object',
    additionalProperties: false,
    properties: {
      model: { type: 'string', maxLength: 128 },
      serial: { type: 'string', maxLength: 128 },
      deviceKey: { type: 'string', maxLength: 128 },
      apiKey: { type: 'integer', minimum: 1 },
      since: { type: 'string' },
      until: { type: 'string' },
      before: { type: 'integer', minimum: 1 },
      limit: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  } as const;
  const toLogQuery = (q: Record<string, unknown>): LogQuery => {
    const since = timeField(q['since'] as string | undefined, 'since');
    const until = timeField(q['until'] as string | undefined, 'until');
    return {
      ...(q['model'] !== undefined ? { model: q['model'] as string } : {}),
      ...(q['serial'] !== undefined ? { serial: q['serial'] as string } : {}),
      ...(q['deviceKey'] !== undefined ? { deviceKey: q['deviceKey'] as string } : {}),
      ...(q['apiKey'] !== undefined ? { apiKeyId: q['apiKey'] as number } : {}),
      ...(q['before'] !== undefined ? { before: q['before'] as number } : {}),
      ...(q['limit'] !== undefined ? { limit: q['limit'] as number } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    };
  };

  // Factory operators see what they registered with their own token, nothing else.
  const ownOnly = (req: FastifyRequest): Partial<LogQuery> => (hasRole(req.principal!, accountParam(req), ['admin', 'viewer']) ? {} : { apiKeyName: `user:${req.principal!.username}` });

  app.get(
    '/api/vault/brands/:account/log',
    { config: access(LOG_READERS), schema: { tags: TAGS, summary: 'The signing log, newest first, searchable', params: params(), querystring: logQuery } },
    async (req) => {
      const r = await listLog(db, accountParam(req), { ...toLogQuery(req.query as Record<string, unknown>), ...ownOnly(req) });
      return { entries: r.entries.map(logJson), nextBefore: r.nextBefore };
    },
  );

  app.get(
    '/api/vault/brands/:account/log/export',
    {
      config: access(LOG_READERS),
      schema: {
        tags: TAGS,
        summary: 'The whole signing log (or a search of it) as CSV or JSON',
        params: params(),
        querystring: { ...logQuery, properties: { ...logQuery.properties, format: { enum: ['csv', 'json'] }, limit: { type: 'integer', minimum: 1, maximum: 1_000_000 } } },
      },
    },
    async (req, reply) => {
      const brandId = accountParam(req);
      const q = req.query as Record<string, unknown>;
      const max = (q['limit'] as number | undefined) ?? 1_000_000;
      const base = { ...toLogQuery({ ...q, limit: undefined }), ...ownOnly(req) };
      const all: LogEntry[] = [];
      let before: number | undefined;
      while (all.length < max) {
        const page = await listLog(db, brandId, { ...base, limit: Math.min(1000, max - all.length), ...(before !== undefined ? { before } : {}) });
        all.push(...page.entries);
        if (page.nextBefore === null) break;
        before = page.nextBefore;
      }
      if (q['format'] === 'json') return reply.type('application/json').send(JSON.stringify(all.map(logJson)));
      const cols = ['id', 'brandId', 'model', 'serial', 'deviceKeyId', 'signedAt', 'apiKeyId', 'apiKeyName', 'requestId', 'origin', 'userAgent', 'remodelFrom', 'pending'] as const;
      const lines = [cols.join(',')];
      for (const e of all) lines.push(cols.map((c) => csvField(c === 'signedAt' ? e.signedAt.toISOString() : e[c])).join(','));
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${brandId}-signing-log.csv"`).send(lines.join('\n') + '\n');
    },
  );

  // ---- system-user assertions

  app.post(
    '/api/vault/brands/:account/system-users',
    {
      config: access(ADMINS),
      schema: {
        tags: TAGS,
        summary: 'Sign a system-user assertion (factory or field access) for models and optionally serials, with an expiry',
        params: params(),
        body: {
          type: 'object',
          required: ['email', 'username', 'models'],
          additionalProperties: false,
          properties: {
            email: { type: 'string', minLength: 3, maxLength: 254 },
            username: { type: 'string', pattern: '^[a-z0-9][-a-z0-9+._]*$', maxLength: 32 },
            name: { type: 'string', maxLength: 200 },
            password: { type: 'string', maxLength: 512, description: 'a crypt(3) hash ($6$...), never a clear password' },
            forcePasswordChange: { type: 'boolean' },
            sshKeys: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 16384 } },
            models: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', pattern: MODEL_PATTERN } },
            serials: { type: 'array', maxItems: 10000, items: { type: 'string', minLength: 1, maxLength: 128 } },
            since: { type: 'string' },
            until: { type: 'string' },
            validHours: { type: 'integer', minimum: 1, maximum: 24 * 366 },
            key: { type: 'string', pattern: KEY_NAME_PATTERN },
          },
        },
      },
    },
    async (req, reply) => {
      const brandId = accountParam(req);
      const b = req.body as { email: string; username: string; name?: string; password?: string; forcePasswordChange?: boolean; sshKeys?: string[]; models: string[]; serials?: string[]; since?: string; until?: string; validHours?: number; key?: string };
      const now = ctx.now();
      const since = timeField(b.since, 'since') ?? new Date(Math.floor(now.getTime() / 1000) * 1000);
      const until = timeField(b.until, 'until') ?? new Date(since.getTime() + (b.validHours ?? 24) * 3600_000);
      let keyId: string;
      if (b.key) keyId = (await brandKey(brandId, b.key)).keyId;
      else {
        const m = await findModel(db, brandId, b.models[0]!);
        if (!m || m.authorityId !== brandId) throw new VaultError('vault-invalid', `name a key: model ${brandId}/${b.models[0]} has no brand key in the vault`);
        keyId = m.keyId;
      }
      const serials = b.serials ?? [];
      if (serials.length > 0 && b.models.length !== 1) throw new VaultError('vault-invalid', 'serials need exactly one model');
      const signer = await ctx.keys.signer({ keyId });
      const assertion = await signAssertion(
        SystemUserType,
        {
          headers: {
            'authority-id': brandId,
            'brand-id': brandId,
            email: b.email,
            series: ['16'],
            models: b.models,
            ...(serials.length > 0 ? { serials, format: '1' } : {}),
            ...(b.name ? { name: b.name } : {}),
            username: b.username,
            ...(b.password ? { password: b.password } : {}),
            ...(b.forcePasswordChange ? { 'force-password-change': 'true' } : {}),
            ...(b.sshKeys?.length ? { 'ssh-keys': b.sshKeys } : {}),
            since: formatTimestamp(since),
            until: formatTimestamp(until),
          },
        },
        signer,
        now,
      );
      ctx.metrics.signatures.inc({ type: 'system-user' });
      const chain = await signingChain(pdb, [assertion], new Set([ctx.root.rootSigner.keyId, ctx.root.storeSigner.keyId]));
      await auditRequest(ctx, req, { action: 'vault.system-user.sign', target: b.email, accountId: brandId, details: { username: b.username, models: b.models, serials: serials.length, until: until.toISOString() } });
      return reply.status(201).send({ assertion: assertion.toString(), stream: encodeStream([assertion, ...chain]).toString() });
    },
  );
}
