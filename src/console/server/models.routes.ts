// A brand's model assertions: listed (decoded and verified against the
// server's root authority) and signed from headers with one of the brand's
// keys in the server's custody (the vault's keys), as the store signs
// validation sets (src/store/validation-sets.service.ts). A signed model is
// stored with the server's assertions: /v2/assertions serves it, and the
// store checks validation sets against it. Signing is audited (model.sign).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ModelType, decode, formatTimestamp } from '../../assertions/index.ts';
import { findAssertion, putAssertion } from '../../platform/assertions/index.ts';
import { actorOf, audit, type PlatformContext } from '../../platform/context.ts';
import type { Role } from '../../platform/http/access.ts';
import { ApiError } from '../../platform/http/errors.ts';
import { signAssertion } from '../../platform/keys/index.ts';
import { verifyAssertions } from './verify-assertions.ts';

const READERS: readonly Role[] = ['admin', 'publisher', 'viewer', 'factory-operator'];
const SIGNERS: readonly Role[] = ['admin'];
const SERIES = '16';

/** The name the vault gives a brand key in the server's custody (src/vault: custodyName). */
const custodyName = (brandId: string, name: string) => `vault.${brandId}.${name}`;
const accountOf = (req: FastifyRequest) => (req.params as { account?: string }).account;
const BrandParams = Type.Object({ account: Type.String({ pattern: '^(?:[a-z0-9A-Z]{32}|[-a-z0-9]{2,28})$' }) });

export async function consoleModelRoutes(parent: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.db.kysely;

  app.get(
    '/api/console/brands/:account/models',
    {
      config: { access: { kind: 'account', roles: READERS, account: accountOf } },
      schema: {
        tags: ['console'],
        summary: "The brand's model assertions the server holds (the latest revision of each), decoded and verified; `after` is the last model of the previous page",
        params: BrandParams,
        querystring: Type.Object({ after: Type.Optional(Type.String({ maxLength: 128 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const limit = req.query.limit ?? 50;
      const prefix = `${SERIES}/${req.params.account}/`;
      let q = db.selectFrom('assertions').select(['primary_key', 'revision', 'encoded']).where('type', '=', 'model').where('primary_key', 'like', `${prefix.replace(/[%_\\]/g, '')}%`);
      if (req.query.after !== undefined) q = q.where('primary_key', '>', prefix + req.query.after);
      const rows = await q.orderBy('primary_key').orderBy('revision', 'desc').execute();
      // The newest revision of each model, in model order.
      const latest = new Map<string, string>();
      for (const r of rows) if (r.primary_key.startsWith(prefix) && !latest.has(r.primary_key)) latest.set(r.primary_key, r.encoded);
      const page = [...latest.values()].slice(0, limit + 1);
      const models = await verifyAssertions(ctx, page.slice(0, limit).map((text) => decode(text)));
      return {
        models: models.map((m, i) => ({ ...m, assertion: page[i]! })),
        nextAfter: page.length > limit ? String(models.at(-1)!.primaryKey[2]) : null,
      };
    },
  );

  app.post(
    '/api/console/brands/:account/models',
    {
      bodyLimit: 256 * 1024,
      config: { access: { kind: 'account', roles: SIGNERS, account: accountOf } },
      schema: {
        tags: ['console'],
        summary: "Sign a model assertion from its headers with one of the brand's keys in the server's custody (a vault key); authority-id and brand-id are the brand, timestamp defaults to now, revision to the next one",
        params: BrandParams,
        body: Type.Object({ headers: Type.Record(Type.String(), Type.Unknown()), key: Type.String({ pattern: '^[a-z0-9](?:-?[a-z0-9]){0,23}$' }) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const brand = req.params.account;
      const { type, ...given } = req.body.headers;
      if (type !== undefined && type !== 'model') throw new ApiError('validation-failed', 'these are the headers of a model: type is model');
      for (const h of ['authority-id', 'brand-id'] as const) {
        if (given[h] !== undefined && given[h] !== brand) throw new ApiError('validation-failed', `${h} must be the brand, ${JSON.stringify(brand)}`);
      }
      const key = (await ctx.keys.list()).find((k) => k.name === custodyName(brand, req.body.key) && k.accountId === brand && !k.disabledAt);
      if (!key) throw new ApiError('not-found', `the brand ${brand} has no usable key ${JSON.stringify(req.body.key)} in the server's custody (vault keys: Keys page)`);
      const model = typeof given['model'] === 'string' ? given['model'] : '';
      const series = typeof given['series'] === 'string' ? given['series'] : SERIES;
      const current = model ? await findAssertion(db, 'model', [series, brand, model]) : undefined;
      const now = ctx.now();
      const headers = {
        series: SERIES,
        ...given,
        'authority-id': brand,
        'brand-id': brand,
        timestamp: typeof given['timestamp'] === 'string' ? given['timestamp'] : formatTimestamp(now),
        ...(given['revision'] === undefined && current ? { revision: String(current.revision + 1) } : {}),
      };
      const signed = await signAssertion(ModelType, { headers: headers as never }, await ctx.keys.signer({ keyId: key.keyId }), now);
      await putAssertion(db, signed, now);
      await audit(ctx, actorOf(req), { action: 'model.sign', target: signed.primaryKey.join('/'), accountId: brand, details: { revision: signed.revision, key: req.body.key } });
      const [view] = await verifyAssertions(ctx, [signed]);
      return reply.status(201).send({ model: { ...view!, assertion: signed.toString() } });
    },
  );
}
