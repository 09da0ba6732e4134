// Read-only listings the console needs and the store's publisher API does not
// offer yet: a store's snaps, the devices that opened sessions with it, and
// one device's history. Public API routes like any other (OpenAPI tag
// "console"), with the store's read roles on its brand. They read the store's
// tables through the platform's database, with a type of their own for the
// columns they read: the console does not import the store's code.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { PlatformContext } from '../../platform/context.ts';
import { ApiError, ERROR_SCHEMA } from '../../platform/http/errors.ts';
import type { Role } from '../../platform/http/access.ts';
import { fromDbTime, type DbTime } from '../../platform/db/values.ts';

/** The store columns these routes read (src/store/store.tables.ts owns the tables). A type alias, as Kysely's withTables wants. */
type ReadTables = {
  store_stores: { store_id: string; brand_id: string };
  store_snaps: { snap_id: string; store_id: string; name: string; publisher_id: string; private: number; default_track: string; created_at: DbTime };
  store_sessions: { store_id: string; model: string; serial: string; created_at: DbTime };
  store_rollout_devices: {
    release_id: string;
    brand_id: string;
    model: string;
    serial: string;
    snap_id: string;
    first_seen_at: DbTime;
    offered_at: DbTime | null;
    downloaded_at: DbTime | null;
    took_at: DbTime | null;
    reported_revision: number | null;
    failed_at: DbTime | null;
  };
  store_releases: { release_id: string | null; track: string; risk: string; branch: string; architecture: string; revision: number };
};

/** The same roles as the store's reads (src/store/publishing.service.ts READ_ROLES). */
const READ_ROLES: readonly Role[] = ['admin', 'publisher', 'viewer'];
/** An account no one holds a role on: the check refuses every caller but the superuser. */
const NO_ACCOUNT = '\u0000no-such-store';

const StoreParams = Type.Object({ store: Type.String({ maxLength: 64 }) });
const Page = { after: Type.Optional(Type.String({ maxLength: 128 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) };
const errors = { 403: ERROR_SCHEMA, 404: ERROR_SCHEMA };
const Time = Type.String({ format: 'date-time' });
const OrNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const SnapsAnswer = Type.Object({
  snaps: Type.Array(Type.Object({ snapId: Type.String(), name: Type.String(), publisherId: Type.String(), private: Type.Boolean(), defaultTrack: Type.String(), createdAt: Time })),
  nextAfter: OrNull(Type.String()),
});
const DevicesAnswer = Type.Object({
  devices: Type.Array(Type.Object({ serial: Type.String(), model: Type.String(), firstSession: Time, lastSession: Time, sessions: Type.Integer() })),
  nextAfter: OrNull(Type.String()),
});
const HistoryAnswer = Type.Object({
  serial: Type.String(),
  sessions: Type.Array(Type.Object({ model: Type.String(), at: OrNull(Time) })),
  releases: Type.Array(
    Type.Object({
      snap: Type.String(),
      model: Type.String(),
      channel: OrNull(Type.String()),
      architecture: OrNull(Type.String()),
      revision: OrNull(Type.Integer()),
      firstSeenAt: OrNull(Time),
      offeredAt: OrNull(Time),
      downloadedAt: OrNull(Time),
      tookAt: OrNull(Time),
      failedAt: OrNull(Time),
      reportedRevision: OrNull(Type.Integer()),
    }),
  ),
});

export async function consoleReadRoutes(parent: FastifyInstance, ctx: PlatformContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.db.kysely.withTables<ReadTables>();
  const brands = new WeakMap<FastifyRequest, string | undefined>();

  // Before the access check: which brand the store belongs to.
  const locateStore = async (req: FastifyRequest) => {
    const storeId = (req.params as { store?: string }).store ?? '';
    const row = await db.selectFrom('store_stores').select('brand_id').where('store_id', '=', storeId).executeTakeFirst();
    brands.set(req, row?.brand_id);
  };
  const access = { kind: 'account' as const, roles: READ_ROLES, account: (req: FastifyRequest) => brands.get(req) ?? NO_ACCOUNT };
  const storeMustExist = (req: FastifyRequest, storeId: string) => {
    if (brands.get(req) === undefined) throw new ApiError('not-found', `no store ${JSON.stringify(storeId)}`);
  };

  app.get(
    '/api/console/stores/:store/snaps',
    {
      onRequest: locateStore,
      config: { access },
      schema: {
        tags: ['console'],
        summary: "The snaps registered in a store, by name; `after` is the last name of the previous page",
        params: StoreParams,
        querystring: Type.Object({ ...Page, q: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }),
        response: { 200: SnapsAnswer, ...errors },
      },
    },
    async (req) => {
      storeMustExist(req, req.params.store);
      const limit = req.query.limit ?? 50;
      let q = db.selectFrom('store_snaps').selectAll().where('store_id', '=', req.params.store).orderBy('name').limit(limit + 1);
      if (req.query.after !== undefined) q = q.where('name', '>', req.query.after);
      if (req.query.q) q = q.where('name', 'like', `%${escapeLike(req.query.q)}%`);
      const rows = await q.execute();
      const snaps = rows.slice(0, limit).map((r) => ({
        snapId: r.snap_id,
        name: r.name,
        publisherId: r.publisher_id,
        private: r.private === 1,
        defaultTrack: r.default_track,
        createdAt: fromDbTime(r.created_at).toISOString(),
      }));
      return { snaps, nextAfter: rows.length > limit ? (snaps.at(-1)?.name ?? null) : null };
    },
  );

  app.get(
    '/api/console/stores/:store/devices',
    {
      onRequest: locateStore,
      config: { access },
      schema: {
        tags: ['console'],
        summary: 'Devices that opened a session with the store, by serial: model, first and last session; search by serial (prefix) or model',
        params: StoreParams,
        querystring: Type.Object({ ...Page, serial: Type.Optional(Type.String({ maxLength: 128 })), model: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false }),
        response: { 200: DevicesAnswer, ...errors },
      },
    },
    async (req) => {
      storeMustExist(req, req.params.store);
      const limit = req.query.limit ?? 50;
      let q = db
        .selectFrom('store_sessions')
        .select(({ fn }) => ['serial', 'model', fn.min('created_at').as('first'), fn.max('created_at').as('last'), fn.countAll<number>().as('sessions')])
        .where('store_id', '=', req.params.store)
        .groupBy(['serial', 'model'])
        .orderBy('serial')
        .orderBy('model')
        .limit(limit + 1);
      if (req.query.serial) q = q.where('serial', 'like', `${escapeLike(req.query.serial)}%`);
      if (req.query.model) q = q.where('model', '=', req.query.model);
      if (req.query.after !== undefined) q = q.where('serial', '>', req.query.after);
      const rows = await q.execute();
      const devices = rows.slice(0, limit).map((r) => ({
        serial: r.serial,
        model: r.model,
        firstSession: fromDbTime(r.first).toISOString(),
        lastSession: fromDbTime(r.last).toISOString(),
        sessions: Number(r.sessions),
      }));
      return { devices, nextAfter: rows.length > limit ? (devices.at(-1)?.serial ?? null) : null };
    },
  );

  app.get(
    '/api/console/stores/:store/devices/:serial',
    {
      onRequest: locateStore,
      config: { access },
      schema: {
        tags: ['console'],
        summary: "One device's history in the store: its sessions and what each progressive release saw of it (offered, downloaded, took, failed)",
        params: Type.Object({ store: Type.String({ maxLength: 64 }), serial: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: HistoryAnswer, ...errors },
      },
    },
    async (req) => {
      storeMustExist(req, req.params.store);
      const { store, serial } = req.params;
      const sessions = await db
        .selectFrom('store_sessions')
        .select(['model', 'created_at'])
        .where('store_id', '=', store)
        .where('serial', '=', serial)
        .orderBy('created_at', 'desc')
        .limit(200)
        .execute();
      // Only the release still current is named; a replaced one shows its snap and dates.
      const decisions = await db
        .selectFrom('store_rollout_devices as d')
        .innerJoin('store_snaps as s', 's.snap_id', 'd.snap_id')
        .leftJoin('store_releases as r', 'r.release_id', 'd.release_id')
        .select(['s.name', 'd.model', 'd.first_seen_at', 'd.offered_at', 'd.downloaded_at', 'd.took_at', 'd.failed_at', 'd.reported_revision', 'r.track', 'r.risk', 'r.branch', 'r.architecture', 'r.revision'])
        .where('d.serial', '=', serial)
        // The store's brand's devices (their snaps may come from a store it includes).
        .where('d.brand_id', '=', brands.get(req)!)
        .orderBy('d.first_seen_at', 'desc')
        .limit(200)
        .execute();
      if (sessions.length === 0 && decisions.length === 0) throw new ApiError('not-found', `the store has seen no device ${JSON.stringify(serial)}`);
      const time = (t: DbTime | null) => (t === null ? null : fromDbTime(t).toISOString());
      return {
        serial,
        sessions: sessions.map((s) => ({ model: s.model, at: time(s.created_at) })),
        releases: decisions.map((d) => ({
          snap: d.name,
          model: d.model,
          channel: d.track ? [d.track, d.risk, d.branch].filter(Boolean).join('/') : null,
          architecture: d.architecture ?? null,
          revision: d.revision ?? null,
          firstSeenAt: time(d.first_seen_at),
          offeredAt: time(d.offered_at),
          downloadedAt: time(d.downloaded_at),
          tookAt: time(d.took_at),
          failedAt: time(d.failed_at),
          reportedRevision: d.reported_revision,
        })),
      };
    },
  );
}

/** A LIKE pattern matching `text` literally (with ESCAPE-less engines: % and _ are rare in names, and then match loosely). */
function escapeLike(text: string): string {
  return text.replace(/[%_]/g, '');
}
