// The publisher and admin API under /api/store (OpenAPI tag "store"). Each
// route checks the caller's role on the account it acts on: the store's
// brand for stores and registrations, the snap's publisher for snaps.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { findAssertion } from '../platform/assertions/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { ConflictError, platformView, toDbTime } from '../platform/db/index.ts';
import { auditRequest } from '../platform/context.ts';
import { accountsWithRole, hasRole, type Role } from '../platform/http/access.ts';
import { ApiError, ERROR_SCHEMA } from '../platform/http/errors.ts';
import { channelMap } from './channels.ts';
import { closeIn, createStore, parseReleaseChannels, registerSnap, releaseIn, uploadRevision, STORE_ID } from './publish.ts';
import { getStore, listStores, releasesOf, revisionOf, revisionsOf, snapsNamed, type Snap, type Store, type StoreDb } from './repo.ts';
import type { StoreOwnTables } from './tables.ts';
import type { Catalog } from './visibility.ts';

const WRITE = ['admin', 'publisher'] as const;
const READ = ['admin', 'publisher', 'viewer'] as const;
/**
 * For an unknown snap or store the access check gets an account id no one
 * holds (it is not a valid id): everyone but the superuser is refused (403)
 * without learning whether the name exists elsewhere; the superuser gets the 404.
 */
const nobody = (what: string) => `unknown ${what} (or not yours)`;

const resolvedSnap = new WeakMap<FastifyRequest, Snap | { error: ApiError }>();
const resolvedCollaborators = new WeakMap<FastifyRequest, string[]>();
const resolvedStore = new WeakMap<FastifyRequest, Store | undefined>();

const snapParams = { type: 'object', required: ['snap'], properties: { snap: { type: 'string', maxLength: 64 } } } as const;
const snapQuery = { type: 'object', additionalProperties: false, properties: { store: { type: 'string', maxLength: 64 } } } as const;
const storeParams = { type: 'object', required: ['store'], properties: { store: { type: 'string', maxLength: 64 } } } as const;
const channelsSchema = { type: 'array', minItems: 1, maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 200 } } as const;
const errors = { 400: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA };

const storeJson = { type: 'object', properties: { storeId: { type: 'string' }, brandId: { type: 'string' }, includes: { type: 'array', items: { type: 'string' } }, createdAt: { type: 'string' } } } as const;
const snapJson = {
  type: 'object',
  properties: { snapId: { type: 'string' }, storeId: { type: 'string' }, name: { type: 'string' }, publisherId: { type: 'string' }, private: { type: 'boolean' }, defaultTrack: { type: 'string' }, createdAt: { type: 'string' } },
} as const;
const revisionJson = {
  type: 'object',
  additionalProperties: true,
  properties: { revision: { type: 'integer' }, version: { type: 'string' }, type: { type: 'string' }, architectures: { type: 'array', items: { type: 'string' } }, sha3_384: { type: 'string' }, size: { type: 'integer' } },
} as const;

function snapOf(req: FastifyRequest): Snap {
  const s = resolvedSnap.get(req);
  if (!s) throw new ApiError('not-found', 'no such snap');
  if ('error' in s) throw s.error;
  return s;
}

function actor(req: FastifyRequest): string {
  return req.principal ? `user:${req.principal.username}` : 'anonymous';
}

export async function publisherRoutes(app: FastifyInstance, ctx: PlatformContext, db: StoreDb, catalog: Catalog): Promise<void> {
  // Which snap a /api/store/snaps/:snap request acts on, before the access check reads its publisher.
  const loadSnap = async (req: FastifyRequest) => {
    const name = (req.params as { snap?: string }).snap ?? '';
    const storeId = (req.query as { store?: string }).store;
    const found = (await snapsNamed(db, name)).filter((s) => storeId === undefined || s.storeId === storeId);
    if (found.length === 1) {
      resolvedSnap.set(req, found[0]!);
      const rows = await db.selectFrom('store_snap_collaborators').select('account_id').where('snap_id', '=', found[0]!.snapId).execute();
      resolvedCollaborators.set(req, rows.map((r) => r.account_id).sort());
    }
    else if (found.length > 1) resolvedSnap.set(req, { error: new ApiError('store-required', `snap ${name} is registered in several stores (${found.map((s) => s.storeId).join(', ')}): name one with ?store=`) });
    else resolvedSnap.set(req, { error: new ApiError('not-found', storeId ? `no snap ${JSON.stringify(name)} in store ${storeId}` : `no snap ${JSON.stringify(name)}`) });
  };
  /**
   * The account a snap request acts as: the publisher, or a collaborator
   * account on which the caller holds `roles` (the access check then passes
   * on it). Unknown snaps get an account no one holds.
   */
  const snapAccountFor = (roles: readonly Role[]) => (req: FastifyRequest) => {
    const s = resolvedSnap.get(req);
    if (!s || 'error' in s) return nobody(`snap ${(req.params as { snap?: string }).snap ?? ''}`);
    const p = req.principal;
    if (p && !hasRole(p, s.publisherId, roles)) {
      const collaborator = (resolvedCollaborators.get(req) ?? []).find((c) => hasRole(p, c, roles));
      if (collaborator) return collaborator;
    }
    return s.publisherId;
  };
  const snapAccount = snapAccountFor(READ);
  const snapWriter = snapAccountFor(WRITE);
  const publisherAccount = (req: FastifyRequest) => {
    const s = resolvedSnap.get(req);
    return s && !('error' in s) ? s.publisherId : nobody(`snap ${(req.params as { snap?: string }).snap ?? ''}`);
  };

  const loadStore = async (req: FastifyRequest) => {
    resolvedStore.set(req, await getStore(db, (req.params as { store?: string }).store ?? ''));
  };
  const storeAccount = (req: FastifyRequest) => resolvedStore.get(req)?.brandId ?? nobody(`store ${(req.params as { store?: string }).store ?? ''}`);
  const storeOf = (req: FastifyRequest): Store => {
    const s = resolvedStore.get(req);
    if (!s) throw new ApiError('store-not-found', `no store ${JSON.stringify((req.params as { store: string }).store)}`, 404);
    return s;
  };

  app.post(
    '/api/store/stores',
    {
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['store'],
        summary: 'Create a brand store (snapline store create STORE-ID --brand ACCOUNT-ID); signs its store assertion',
        body: {
          type: 'object',
          required: ['storeId', 'brand'],
          additionalProperties: false,
          properties: { storeId: { type: 'string', pattern: STORE_ID.source }, brand: { type: 'string', maxLength: 64 }, includes: { type: 'array', maxItems: 20, items: { type: 'string' } } },
        },
        response: { 201: { type: 'object', properties: { store: storeJson, assertion: { type: 'string' } } }, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body as { storeId: string; brand: string; includes?: string[] };
      const res = await createStore(ctx, db, { storeId: body.storeId, brandId: body.brand, includes: body.includes ?? [] });
      catalog.invalidate();
      await auditRequest(ctx, req, { action: 'store.create', target: body.storeId, accountId: body.brand });
      return reply.status(201).send(res);
    },
  );

  app.get(
    '/api/store/stores',
    { config: { access: { kind: 'authenticated' } }, schema: { tags: ['store'], summary: 'Stores whose brand the caller belongs to', response: { 200: { type: 'object', properties: { stores: { type: 'array', items: storeJson } } } } } },
    async (req) => {
      const visibleTo = accountsWithRole(req.principal!, ['admin', 'publisher', 'viewer', 'factory-operator']);
      return { stores: (await listStores(db)).filter((s) => visibleTo === '*' || visibleTo.includes(s.brandId)) };
    },
  );

  app.get(
    '/api/store/stores/:store',
    {
      onRequest: loadStore,
      config: { access: { kind: 'account', roles: READ, account: storeAccount } },
      schema: { tags: ['store'], summary: 'A store', params: storeParams, response: { 200: { type: 'object', properties: { store: storeJson } }, ...errors } },
    },
    async (req) => ({ store: storeOf(req) }),
  );

  app.post(
    '/api/store/stores/:store/snaps',
    {
      onRequest: loadStore,
      config: { access: { kind: 'account', roles: WRITE, account: storeAccount } },
      schema: {
        tags: ['store'],
        summary: 'Register a snap name in a store (snapline register SNAP --store STORE-ID); signs its snap-declaration',
        params: storeParams,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 64 }, publisher: { type: 'string', maxLength: 64 }, private: { type: 'boolean' }, defaultTrack: { type: 'string', maxLength: 28 } },
        },
        response: { 201: { type: 'object', properties: { snap: snapJson, assertion: { type: 'string' } } }, ...errors },
      },
    },
    async (req, reply) => {
      const store = storeOf(req);
      const body = req.body as { name: string; publisher?: string; private?: boolean; defaultTrack?: string };
      const publisherId = body.publisher ?? store.brandId;
      if (!hasRole(req.principal!, publisherId, WRITE)) throw new ApiError('forbidden', `requires role admin or publisher on account ${JSON.stringify(publisherId)}`);
      const res = await registerSnap(ctx, db, store, { name: body.name, publisherId, private: body.private ?? true, ...(body.defaultTrack ? { defaultTrack: body.defaultTrack } : {}) });
      catalog.invalidate();
      await auditRequest(ctx, req, { action: 'store.snap.register', target: `${store.storeId}/${body.name}`, accountId: publisherId, details: { snapId: res.snap.snapId } });
      return reply.status(201).send(res);
    },
  );

  app.get(
    '/api/store/snaps/:snap',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: READ, account: snapAccount } },
      schema: {
        tags: ['store'],
        summary: 'A snap and its channel map (snapline status SNAP)',
        params: snapParams,
        querystring: snapQuery,
        response: {
          200: { type: 'object', properties: { snap: snapJson, collaborators: { type: 'array', items: { type: 'string' } }, channelMap: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const rels = (await releasesOf(db, [snap.snapId])).get(snap.snapId) ?? [];
      return { snap, collaborators: resolvedCollaborators.get(req) ?? [], channelMap: channelMap(rels, ctx.now()) };
    },
  );

  app.get(
    '/api/store/snaps/:snap/revisions',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: READ, account: snapAccount } },
      schema: {
        tags: ['store'],
        summary: 'Revisions of a snap, newest first, with the channels each is released to (snapline revisions SNAP)',
        params: snapParams,
        querystring: snapQuery,
        response: { 200: { type: 'object', properties: { revisions: { type: 'array', items: revisionJson } } }, ...errors },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const rels = (await releasesOf(db, [snap.snapId])).get(snap.snapId) ?? [];
      const now = ctx.now();
      return {
        revisions: (await revisionsOf(db, snap.snapId)).map((r) => ({
          ...r,
          snapYaml: undefined,
          channels: rels.filter((x) => x.revision === r.revision && (x.expiresAt === null || x.expiresAt > now)).map((x) => `${x.architecture}:${[x.track, x.risk, x.branch].filter(Boolean).join('/')}`)
            .sort(),
        })),
      };
    },
  );

  await app.register(async (scope) => {
    // Uploads stream straight to the blob store: no buffering, size-limited there.
    scope.addContentTypeParser(['application/octet-stream', 'application/vnd.snap'], (_req, payload, done) => done(null, payload));
    scope.post(
      '/api/store/snaps/:snap/revisions',
      {
        onRequest: loadSnap,
        config: { access: { kind: 'account', roles: WRITE, account: snapWriter }, rawBody: true },
        schema: {
          tags: ['store'],
          summary: 'Upload a .snap (body: the file, Content-Type application/octet-stream); signs its snap-revision; optionally releases it (snapline push)',
          params: snapParams,
          querystring: { type: 'object', additionalProperties: false, properties: { store: { type: 'string', maxLength: 64 }, release: { type: 'string', maxLength: 2000 } } },
          response: { 201: { type: 'object', properties: { revision: revisionJson, assertion: { type: 'string' }, released: { type: 'array', items: { type: 'string' } } } }, ...errors },
        },
      },
      async (req, reply) => {
        const snap = snapOf(req);
        const q = req.query as { release?: string };
        const channels = q.release !== undefined ? parseReleaseChannels(q.release.split(',').map((c) => c.trim()).filter(Boolean), snap) : undefined;
        const length = Number(req.headers['content-length'] ?? NaN);
        if (length > ctx.config.limits.uploadBytes) throw new ApiError('payload-too-large', `upload of ${length} bytes is over the limit of ${ctx.config.limits.uploadBytes}`);
        if (!req.body || typeof (req.body as Readable).pipe !== 'function') throw new ApiError('bad-request', 'send the .snap file as the body with Content-Type application/octet-stream');
        const abort = new AbortController();
        req.raw.once('aborted', () => abort.abort());
        req.raw.once('close', () => {
          if (!req.raw.complete) abort.abort();
        });
        const res = await uploadRevision(ctx, db, snap, req.body as Readable, { developerId: snapWriter(req), actor: actor(req), signal: abort.signal, ...(channels ? { release: channels } : {}) });
        catalog.invalidate();
        await auditRequest(ctx, req, { action: 'store.snap.upload', target: `${snap.name}/${res.revision.revision}`, accountId: snap.publisherId, details: { sha3_384: res.revision.sha3_384, size: res.revision.size, released: res.released } });
        return reply.status(201).send({ ...res, revision: { ...res.revision, snapYaml: undefined } });
      },
    );
  });

  app.post(
    '/api/store/snaps/:snap/releases',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: WRITE, account: snapWriter } },
      schema: {
        tags: ['store'],
        summary: 'Release a revision to channels (snapline release SNAP REV CHANNELS)',
        params: snapParams,
        querystring: snapQuery,
        body: {
          type: 'object',
          required: ['revision', 'channels'],
          additionalProperties: false,
          properties: { revision: { type: 'integer', minimum: 1 }, channels: channelsSchema, progressivePercentage: { type: 'integer', minimum: 1, maximum: 100 } },
        },
        response: { 200: { type: 'object', properties: { released: { type: 'array', items: { type: 'string' } }, channelMap: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...errors },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const body = req.body as { revision: number; channels: string[]; progressivePercentage?: number };
      const channels = parseReleaseChannels(body.channels, snap);
      const rev = await revisionOf(db, snap.snapId, body.revision);
      if (!rev) throw new ApiError('revision-not-found', `snap ${snap.name} has no revision ${body.revision}`, 404);
      const now = ctx.now();
      const released = await ctx.db.transaction((trx) => releaseIn(trx.withTables<StoreOwnTables>(), snap, rev, channels, body.progressivePercentage ?? null, actor(req), now));
      catalog.invalidate();
      await auditRequest(ctx, req, { action: 'store.snap.release', target: `${snap.name}/${rev.revision}`, accountId: snap.publisherId, details: { channels: released, progressivePercentage: body.progressivePercentage ?? null } });
      const rels = (await releasesOf(db, [snap.snapId])).get(snap.snapId) ?? [];
      return { released, channelMap: channelMap(rels, now) };
    },
  );

  app.post(
    '/api/store/snaps/:snap/close',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: WRITE, account: snapWriter } },
      schema: {
        tags: ['store'],
        summary: 'Close channels (snapline close SNAP CHANNELS): they follow the next more stable risk',
        params: snapParams,
        querystring: snapQuery,
        body: { type: 'object', required: ['channels'], additionalProperties: false, properties: { channels: channelsSchema } },
        response: { 200: { type: 'object', properties: { closed: { type: 'array', items: { type: 'string' } }, channelMap: { type: 'array', items: { type: 'object', additionalProperties: true } } } }, ...errors },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const channels = parseReleaseChannels((req.body as { channels: string[] }).channels, snap);
      const now = ctx.now();
      const closed = await ctx.db.transaction((trx) => closeIn(trx.withTables<StoreOwnTables>(), snap, channels, actor(req), now));
      catalog.invalidate();
      await auditRequest(ctx, req, { action: 'store.snap.close', target: snap.name, accountId: snap.publisherId, details: { channels: closed } });
      const rels = (await releasesOf(db, [snap.snapId])).get(snap.snapId) ?? [];
      return { closed, channelMap: channelMap(rels, now) };
    },
  );

  app.post(
    '/api/store/snaps/:snap/collaborators',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: ['admin'], account: publisherAccount } },
      schema: {
        tags: ['store'],
        summary: "Let another account upload and release the snap (its publishers and admins may then push and release; the publisher's admins decide)",
        params: snapParams,
        querystring: snapQuery,
        body: { type: 'object', required: ['account'], additionalProperties: false, properties: { account: { type: 'string', maxLength: 64 } } },
        response: { 200: { type: 'object', properties: { collaborators: { type: 'array', items: { type: 'string' } } } }, ...errors },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const account = (req.body as { account: string }).account;
      if (account === snap.publisherId) throw new ApiError('validation-failed', `${account} is the publisher`);
      if (!(await findAssertion(platformView(db), 'account', [account]))) throw new ApiError('account-not-found', `no account ${JSON.stringify(account)}`, 404);
      try {
        await db.insertInto('store_snap_collaborators').values({ snap_id: snap.snapId, account_id: account, created_at: toDbTime(ctx.now()) }).execute();
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
      await auditRequest(ctx, req, { action: 'store.snap.collaborator.add', target: `${snap.name}/${account}`, accountId: snap.publisherId });
      const rows = await db.selectFrom('store_snap_collaborators').select('account_id').where('snap_id', '=', snap.snapId).orderBy('account_id').execute();
      return { collaborators: rows.map((r) => r.account_id) };
    },
  );

  app.delete(
    '/api/store/snaps/:snap/collaborators/:account',
    {
      onRequest: loadSnap,
      config: { access: { kind: 'account', roles: ['admin'], account: publisherAccount } },
      schema: {
        tags: ['store'],
        summary: 'Remove a collaborator account from the snap',
        params: { type: 'object', required: ['snap', 'account'], properties: { snap: { type: 'string', maxLength: 64 }, account: { type: 'string', maxLength: 64 } } },
        querystring: snapQuery,
        response: { 200: { type: 'object', properties: { collaborators: { type: 'array', items: { type: 'string' } } } }, ...errors },
      },
    },
    async (req) => {
      const snap = snapOf(req);
      const account = (req.params as { account: string }).account;
      const res = await db.deleteFrom('store_snap_collaborators').where('snap_id', '=', snap.snapId).where('account_id', '=', account).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw new ApiError('not-found', `${account} is not a collaborator of ${snap.name}`);
      await auditRequest(ctx, req, { action: 'store.snap.collaborator.remove', target: `${snap.name}/${account}`, accountId: snap.publisherId });
      const rows = await db.selectFrom('store_snap_collaborators').select('account_id').where('snap_id', '=', snap.snapId).orderBy('account_id').execute();
      return { collaborators: rows.map((r) => r.account_id) };
    },
  );
}
