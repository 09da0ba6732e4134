// POST /v2/cohorts (snapd's CreateCohorts, `snap create-cohort`): a cohort
// key per named snap. snapd reads 200 {"cohort-keys":{name:key}}, maps 404
// to "snap not found" and any other status to an error. A snap the request
// cannot see is not found, exactly like an unknown name.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../platform/http/errors.ts';
import type { CohortKeys } from './cohort-keys.ts';
import type { DeviceRequest } from './device-routes.ts';
import { snapdError } from './snapd-error.ts';
import { pickVisible, type Catalog } from './visibility.ts';

/** How many snaps one request may ask cohorts for (each key is an RSA signature). */
export const MAX_COHORT_SNAPS = 100;

export interface CohortRouteDeps {
  catalog: Catalog;
  cohortKeys: CohortKeys;
  /** The device API's request checks (session, store, headers). */
  device: (req: FastifyRequest) => Promise<DeviceRequest>;
  now: () => Date;
}

export async function cohortRoutes(app: FastifyInstance, deps: CohortRouteDeps): Promise<void> {
  app.post(
    '/v2/cohorts',
    {
      config: { access: { kind: 'public' }, formatError: snapdError },
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['snaps'],
          properties: { snaps: { type: 'array', minItems: 1, maxItems: MAX_COHORT_SNAPS, items: { type: 'string', minLength: 1, maxLength: 40 } } },
        },
      },
    },
    async (req, reply) => {
      const d = await deps.device(req);
      const names = [...new Set((req.body as { snaps: string[] }).snaps)];
      const entries = await deps.catalog.entries.byNames(names);
      const snapIds = new Map<string, string>();
      for (const name of names) {
        const snap = pickVisible((entries.get(name) ?? []).map((e) => e.snap), d.seen);
        if (!snap) throw new ApiError('name-not-found', `snap not found: ${name}`, 404);
        snapIds.set(name, snap.snapId);
      }
      const now = deps.now();
      const keys = await Promise.all(names.map(async (name) => [name, await deps.cohortKeys.create(snapIds.get(name)!, now)] as const));
      const body = Buffer.from(JSON.stringify({ 'cohort-keys': Object.fromEntries(keys) }));
      return reply.status(200).header('content-type', 'application/json').send(body);
    },
  );
}
