// POST /v2/cohorts (snapd's CreateCohorts, `snap create-cohort`): a cohort
// key per named snap. snapd reads 200 {"cohort-keys":{name:key}}, maps 404
// to "snap not found" and any other status to an error. The rules (a snap
// the request cannot see is not found, exactly like an unknown name) are the
// store service's; this only translates HTTP.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { deviceOf, sendJson, SNAPD } from './device.routes.ts';
import type { StoreService } from './store.service.ts';
import { SnapdRequest } from './device.schemas.ts';
import { CohortsBody } from './store.schemas.ts';

export { MAX_COHORT_SNAPS } from './store.schemas.ts';

export async function cohortRoutes(fastify: FastifyInstance, store: StoreService): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/v2/cohorts', { config: SNAPD, schema: { hide: true, ...SnapdRequest, body: CohortsBody } }, async (req, reply) => {
    const d = await deviceOf(store, req);
    return sendJson(reply, 200, { 'cohort-keys': await store.devices.createCohorts(d, req.body.snaps) });
  });
}
