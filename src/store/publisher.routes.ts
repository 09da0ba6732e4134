// The publisher and admin API under /api/store (OpenAPI tag "store"): HTTP in
// and out only. Each route names the account its access check is made on
// (the store's brand, the snap's publisher or the collaborator the caller
// acts as: the publishing service decides which), reads the typed params,
// query and body, calls the service and sends its answer.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import type { Static } from 'typebox';
import { actorOf } from '../platform/context.ts';
import type { Role } from '../platform/http/access.ts';
import { ApiError, ERROR_SCHEMA } from '../platform/http/errors.ts';
import { COLLABORATOR_ADMIN_ROLES, PUBLISH_ROLES, READ_ROLES, STORE_ADMIN_ROLES, type SnapTarget, type StoreTarget } from './publishing.service.ts';
import { APPROVAL_SEE_ROLES, APPROVER_ROLES } from './approvals.service.ts';
import type { StoreService } from './store.service.ts';
import { AccountParams, Answers, ApprovalParams, WindowsBody, RefreshControlBody, ValidationBody, ValidationSetBody, ApprovalsQuery, ControlledChannelsBody, DecisionBody, DeviceLabelsBody, DeviceLabelsQuery, GroupBody, GroupHoldBody, GroupMembersBody, GroupParams, RolloutBody, RolloutQuery, WhyQuery, CloseBody, CollaboratorBody, CollaboratorParams, CreateStoreBody, RegisterSnapBody, ReleaseBody, SnapParams, SnapQuery, StoreParams, StoreSettingsBody, UploadQuery } from './store.schemas.ts';

const errors = { 400: ERROR_SCHEMA, 403: ERROR_SCHEMA, 404: ERROR_SCHEMA, 409: ERROR_SCHEMA };

// What a request names, found before its access check (onRequest) and used by its handler.
const snapTargets = new WeakMap<FastifyRequest, SnapTarget>();
const storeTargets = new WeakMap<FastifyRequest, StoreTarget>();

function found<T>(targets: WeakMap<FastifyRequest, T>, req: FastifyRequest): T {
  const t = targets.get(req);
  if (!t) throw new ApiError('not-found', 'no such snap or store');
  return t;
}

export async function publisherRoutes(fastify: FastifyInstance, store: StoreService): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const publishing = store.publishing;

  // Before validation (onRequest): params and query are still raw strings here.
  const locateSnap = async (req: FastifyRequest) => {
    const params = req.params as { snap?: string };
    const query = req.query as { store?: string };
    snapTargets.set(req, await publishing.locateSnap(params.snap ?? '', query.store));
  };
  const locateStore = async (req: FastifyRequest) => {
    storeTargets.set(req, await publishing.locateStore((req.params as { store?: string }).store ?? ''));
  };
  const snapAccess = (roles: readonly Role[]) => ({ kind: 'account' as const, roles, account: (req: FastifyRequest) => publishing.actingAccount(found(snapTargets, req), req.principal, roles) });
  const publisherAccess = (roles: readonly Role[]) => ({ kind: 'account' as const, roles, account: (req: FastifyRequest) => publishing.publisherAccount(found(snapTargets, req)) });
  const storeAccess = (roles: readonly Role[]) => ({ kind: 'account' as const, roles, account: (req: FastifyRequest) => publishing.storeAccount(found(storeTargets, req)) });

  app.post(
    '/api/store/stores',
    {
      config: { access: { kind: 'superuser' } },
      schema: {
        tags: ['store'],
        summary: 'Create a brand store (snapline store create STORE-ID --brand ACCOUNT-ID); signs its store assertion',
        body: CreateStoreBody,
        response: { 201: Answers.storeCreated, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await publishing.createStore(actorOf(req), req.body)),
  );

  app.get(
    '/api/store/stores',
    { config: { access: { kind: 'authenticated' } }, schema: { tags: ['store'], summary: 'Stores whose brand the caller belongs to', response: { 200: Answers.stores } } },
    async (req) => publishing.listStores(actorOf(req)),
  );

  app.get(
    '/api/store/stores/:store',
    {
      onRequest: locateStore,
      config: { access: storeAccess(READ_ROLES) },
      schema: { tags: ['store'], summary: 'A store', params: StoreParams, response: { 200: Answers.store, ...errors } },
    },
    async (req) => publishing.store(actorOf(req), found(storeTargets, req)),
  );

  app.patch(
    '/api/store/stores/:store',
    {
      onRequest: locateStore,
      config: { access: storeAccess(STORE_ADMIN_ROLES) },
      schema: {
        tags: ['store'],
        summary: "Change a store's settings (snapline store set STORE-ID --private-access verified|store-id)",
        params: StoreParams,
        body: StoreSettingsBody,
        response: { 200: Answers.store, ...errors },
      },
    },
    async (req) => publishing.updateStore(actorOf(req), found(storeTargets, req), req.body),
  );

  app.post(
    '/api/store/stores/:store/snaps',
    {
      onRequest: locateStore,
      config: { access: storeAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Register a snap name in a store (snapline register SNAP --store STORE-ID); signs its snap-declaration',
        params: StoreParams,
        body: RegisterSnapBody,
        response: { 201: Answers.snapRegistered, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await publishing.registerSnap(actorOf(req), found(storeTargets, req), req.body)),
  );

  app.get(
    '/api/store/snaps/:snap',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(READ_ROLES) },
      schema: { tags: ['store'], summary: 'A snap and its channel map (snapline status SNAP)', params: SnapParams, querystring: SnapQuery, response: { 200: Answers.status, ...errors } },
    },
    async (req) => publishing.status(actorOf(req), found(snapTargets, req)),
  );

  app.get(
    '/api/store/snaps/:snap/revisions',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(READ_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Revisions of a snap, newest first, with the channels each is released to (snapline revisions SNAP)',
        params: SnapParams,
        querystring: SnapQuery,
        response: { 200: Answers.revisions, ...errors },
      },
    },
    async (req) => publishing.revisions(actorOf(req), found(snapTargets, req)),
  );

  await app.register(async (plain) => {
    // Uploads stream straight to the blob store: no buffering, size-limited
    // there. The one parser here hands the handler the request stream,
    // whatever its content type (after the access check, which comes first);
    // a POST without a body has none.
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, payload: Readable, done: (err: null, body: UploadBody) => void) => done(null, payload));
    scope.post<{ Body: UploadBody | undefined; Querystring: Static<typeof UploadQuery> }>(
      '/api/store/snaps/:snap/revisions',
      {
        onRequest: locateSnap,
        config: { access: snapAccess(PUBLISH_ROLES), rawBody: true },
        schema: {
          tags: ['store'],
          summary: 'Upload a .snap (body: the file, Content-Type application/octet-stream); signs its snap-revision; optionally releases it (snapline push)',
          params: SnapParams,
          querystring: UploadQuery,
          response: { 201: Answers.uploaded, ...errors },
        },
      },
      async (req, reply) => {
        const file = req.body;
        if (!file || !UPLOAD_TYPES.has(req.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '')) throw new ApiError('bad-request', 'send the .snap file as the body with Content-Type application/octet-stream');
        const length = req.headers['content-length'];
        const abort = new AbortController();
        req.raw.once('aborted', () => abort.abort());
        req.raw.once('close', () => {
          if (!req.raw.complete) abort.abort();
        });
        const res = await publishing.upload(actorOf(req), found(snapTargets, req), file, {
          release: req.query.release?.split(',').map((c) => c.trim()).filter(Boolean),
          size: length === undefined ? undefined : Number(length),
          signal: abort.signal,
        });
        return reply.status(201).send(res);
      },
    );
  });

  app.post(
    '/api/store/snaps/:snap/releases',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Release a revision to channels (snapline release SNAP REV CHANNELS)',
        params: SnapParams,
        querystring: SnapQuery,
        body: ReleaseBody,
        response: { 200: Answers.released, 202: Answers.released, ...errors },
      },
    },
    async (req, reply) => {
      const res = await publishing.release(actorOf(req), found(snapTargets, req), req.body);
      // To a controlled channel: a pending request, accepted, nothing released yet.
      return reply.status(res.pending ? 202 : 200).send(res);
    },
  );

  app.post(
    '/api/store/snaps/:snap/close',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Close channels (snapline close SNAP CHANNELS): they follow the next more stable risk',
        params: SnapParams,
        querystring: SnapQuery,
        body: CloseBody,
        response: { 200: Answers.closed, ...errors },
      },
    },
    async (req) => publishing.close(actorOf(req), found(snapTargets, req), req.body),
  );

  // Update control (docs/update-control.md): a channel's rollout, read like status, changed like a release.
  app.get(
    '/api/store/snaps/:snap/rollout',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(READ_ROLES) },
      schema: {
        tags: ['store'],
        summary: "A channel's rollout: each architecture's release, its progressive state and what devices did (snapline rollout status SNAP CHANNEL)",
        params: SnapParams,
        querystring: RolloutQuery,
        response: { 200: Answers.rollout, ...errors },
      },
    },
    async (req) => store.rollouts.status(actorOf(req), found(snapTargets, req), { channel: req.query.channel }),
  );

  const rollouts = store.rollouts;
  for (const [path, run, summary] of [
    ['pause', rollouts.pause, "Pause a channel's rollout: only devices already offered its revision keep being offered it (snapline rollout pause SNAP CHANNEL)"],
    ['resume', rollouts.resume, 'Resume a paused rollout (snapline rollout resume SNAP CHANNEL)'],
    ['advance', rollouts.advance, "Advance a channel's rollout plan to its next step (an approval step, or before its conditions are met) (snapline rollout advance SNAP CHANNEL)"],
    ['rollback', rollouts.rollback, 'Roll a channel back: its previous revision is released again and devices that took the new one are offered the old (snapline rollout rollback SNAP CHANNEL)'],
  ] as const) {
    app.post(
      `/api/store/snaps/:snap/rollout/${path}`,
      {
        onRequest: locateSnap,
        config: { access: snapAccess(PUBLISH_ROLES) },
        schema: { tags: ['store'], summary, params: SnapParams, querystring: SnapQuery, body: RolloutBody, response: { 200: Answers.rollout, ...errors } },
      },
      async (req) => run.call(rollouts, actorOf(req), found(snapTargets, req), req.body),
    );
  }

  app.put(
    '/api/store/snaps/:snap/rollout/windows',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(PUBLISH_ROLES) },
      schema: { tags: ['store'], summary: "Set a channel's maintenance windows: outside them devices are offered nothing new (snapline rollout windows SNAP CHANNEL --set …)", params: SnapParams, querystring: SnapQuery, body: WindowsBody, response: { 200: Answers.rollout, ...errors } },
    },
    async (req) => store.rollouts.setWindows(actorOf(req), found(snapTargets, req), req.body),
  );

  app.get(
    '/api/store/snaps/:snap/rollout/why',
    {
      onRequest: locateSnap,
      config: { access: snapAccess(READ_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Which rule offers or withholds which revision of a channel to one device (snapline rollout why SNAP --serial S)',
        params: SnapParams,
        querystring: WhyQuery,
        response: { 200: Answers.why, ...errors },
      },
    },
    async (req) => store.rollouts.why(actorOf(req), found(snapTargets, req), req.query),
  );

  // Approvals (update control): the channels a store controls (its brand's admins set them), release requests,
  // approved or denied by an approver of the brand who did not ask.
  const approvals = store.approvals;
  app.get(
    '/api/store/stores/:store/controlled-channels',
    {
      onRequest: locateStore,
      config: { access: storeAccess(APPROVAL_SEE_ROLES) },
      schema: { tags: ['store'], summary: 'The channels a store controls: releases to them wait for an approver (snapline approvals channels STORE-ID)', params: StoreParams, response: { 200: Answers.controlledChannels, ...errors } },
    },
    async (req) => approvals.controlledChannels(actorOf(req), found(storeTargets, req)),
  );
  app.put(
    '/api/store/stores/:store/controlled-channels',
    {
      onRequest: locateStore,
      config: { access: storeAccess(STORE_ADMIN_ROLES) },
      schema: { tags: ['store'], summary: 'Set the channels a store controls (snapline approvals channels STORE-ID --set C,…)', params: StoreParams, body: ControlledChannelsBody, response: { 200: Answers.controlledChannels, ...errors } },
    },
    async (req) => approvals.setControlledChannels(actorOf(req), found(storeTargets, req), req.body.channels),
  );
  app.get(
    '/api/store/stores/:store/approvals',
    {
      onRequest: locateStore,
      config: { access: storeAccess(APPROVAL_SEE_ROLES) },
      schema: { tags: ['store'], summary: "A store's release requests: pending ones, or all (snapline approvals list STORE-ID)", params: StoreParams, querystring: ApprovalsQuery, response: { 200: Answers.approvals, ...errors } },
    },
    async (req) => approvals.list(actorOf(req), found(storeTargets, req), { all: req.query.all }),
  );
  const locateRequest = async (req: FastifyRequest) => {
    storeTargets.set(req, await publishing.locateStore(await approvals.storeOf(Number((req.params as { id?: string }).id))));
  };
  for (const [decision, approve] of [
    ['approve', true],
    ['deny', false],
  ] as const) {
    app.post(
      `/api/store/approvals/:id/${decision}`,
      {
        onRequest: locateRequest,
        config: { access: storeAccess(APPROVER_ROLES) },
        schema: { tags: ['store'], summary: `${approve ? 'Approve' : 'Deny'} a pending release request (snapline ${decision} ID); not one's own`, params: ApprovalParams, body: DecisionBody, response: { 200: Answers.decided, ...errors } },
      },
      async (req) => approvals.decide(actorOf(req), found(storeTargets, req), req.params.id, approve, req.body?.reason),
    );
  }

  // Validation sets (update control): an account's, listed by its readers, pushed by its publishers.
  const accountAccess = (roles: readonly Role[]) => ({ kind: 'account' as const, roles, account: (req: FastifyRequest) => (req.params as { account?: string }).account });
  app.get(
    '/api/store/accounts/:account/validation-sets',
    {
      config: { access: accountAccess(READ_ROLES) },
      schema: { tags: ['store'], summary: "An account's validation sets, the latest revision of each sequence point (snapline validation-set list ACCOUNT)", params: AccountParams, response: { 200: Answers.validationSets, ...errors } },
    },
    async (req) => store.validationSets.list(actorOf(req), req.params.account),
  );
  app.post(
    '/api/store/accounts/:account/validation-sets',
    {
      config: { access: accountAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Push a validation set: signed, or headers the server signs with a brand key in its custody (snapline validation-set push|create)',
        params: AccountParams,
        body: ValidationSetBody,
        response: { 200: Answers.validationSet, 201: Answers.validationSet, ...errors },
      },
    },
    async (req, reply) => {
      const res = await store.validationSets.push(actorOf(req), req.params.account, req.body);
      return reply.status(res.unchanged ? 200 : 201).send(res);
    },
  );

  // Gating (update control): refresh-control in a snap's declaration (its publisher's admins), validations (the gating snap's publisher).
  app.put(
    '/api/store/snaps/:snap/refresh-control',
    {
      onRequest: locateSnap,
      config: { access: publisherAccess(COLLABORATOR_ADMIN_ROLES) },
      schema: {
        tags: ['store'],
        summary: "Set the snaps whose refreshes this snap gates: a new revision of its snap-declaration with refresh-control (snapline gate SNAP --controls …)",
        params: SnapParams,
        querystring: SnapQuery,
        body: RefreshControlBody,
        response: { 200: Answers.refreshControl, ...errors },
      },
    },
    async (req) => store.gating.setRefreshControl(actorOf(req), found(snapTargets, req), req.body.snaps),
  );
  app.post(
    '/api/store/accounts/:account/validations',
    {
      config: { access: accountAccess(PUBLISH_ROLES) },
      schema: { tags: ['store'], summary: "Push a validation (approve or revoke a gated snap's revision) signed by the gating snap's publisher (snapline validate)", params: AccountParams, body: ValidationBody, response: { 201: Answers.validation, ...errors } },
    },
    async (req, reply) => reply.status(201).send(await store.gating.pushValidation(actorOf(req), req.params.account, req.body.assertion)),
  );

  // Device groups of a store (update control): listed by its brand's readers, changed by its publishers.
  app.get(
    '/api/store/stores/:store/groups',
    {
      onRequest: locateStore,
      config: { access: storeAccess(READ_ROLES) },
      schema: { tags: ['store'], summary: "A store's device groups (snapline group list STORE-ID)", params: StoreParams, response: { 200: Answers.groups, ...errors } },
    },
    async (req) => store.rollouts.groups(actorOf(req), found(storeTargets, req)),
  );

  app.post(
    '/api/store/stores/:store/groups',
    {
      onRequest: locateStore,
      config: { access: storeAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: 'Create a device group by models, serials and a serial pattern (snapline group create STORE-ID NAME)',
        params: StoreParams,
        body: GroupBody,
        response: { 201: Answers.group, ...errors },
      },
    },
    async (req, reply) => reply.status(201).send(await store.rollouts.createGroup(actorOf(req), found(storeTargets, req), req.body)),
  );

  app.post(
    '/api/store/stores/:store/groups/:group/members',
    {
      onRequest: locateStore,
      config: { access: storeAccess(PUBLISH_ROLES) },
      schema: { tags: ['store'], summary: 'Add models and serials to a device group (snapline group add STORE-ID NAME)', params: GroupParams, body: GroupMembersBody, response: { 200: Answers.group, ...errors } },
    },
    async (req) => store.rollouts.addToGroup(actorOf(req), found(storeTargets, req), req.params.group, req.body),
  );

  app.post(
    '/api/store/stores/:store/groups/:group/hold',
    {
      onRequest: locateStore,
      config: { access: storeAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: "Hold a device group (its devices are offered nothing new) or end the hold (snapline group hold|unhold STORE-ID NAME)",
        params: GroupParams,
        body: GroupHoldBody,
        response: { 200: Answers.group, ...errors },
      },
    },
    async (req) => store.rollouts.holdGroup(actorOf(req), found(storeTargets, req), req.params.group, req.body.held),
  );

  // Device labels (update control): set by the store brand's publishers, read by its readers; groups take devices by label.
  app.get(
    '/api/store/stores/:store/device-labels',
    {
      onRequest: locateStore,
      config: { access: storeAccess(READ_ROLES) },
      schema: { tags: ['store'], summary: "A store's labelled devices, by serial, paged (snapline group labels STORE-ID)", params: StoreParams, querystring: DeviceLabelsQuery, response: { 200: Answers.labelledDevices, ...errors } },
    },
    async (req) => store.rollouts.deviceLabels(actorOf(req), found(storeTargets, req), req.query),
  );

  app.put(
    '/api/store/stores/:store/device-labels',
    {
      onRequest: locateStore,
      config: { access: storeAccess(PUBLISH_ROLES) },
      schema: {
        tags: ['store'],
        summary: "Set a device's labels, replacing its others; an empty list removes them (snapline group label STORE-ID SERIAL)",
        params: StoreParams,
        body: DeviceLabelsBody,
        response: { 200: Answers.deviceLabels, ...errors },
      },
    },
    async (req) => store.rollouts.setDeviceLabels(actorOf(req), found(storeTargets, req), req.body),
  );

  app.post(
    '/api/store/snaps/:snap/collaborators',
    {
      onRequest: locateSnap,
      config: { access: publisherAccess(COLLABORATOR_ADMIN_ROLES) },
      schema: {
        tags: ['store'],
        summary: "Let another account upload and release the snap (its publishers and admins may then push and release; the publisher's admins decide)",
        params: SnapParams,
        querystring: SnapQuery,
        body: CollaboratorBody,
        response: { 200: Answers.collaborators, ...errors },
      },
    },
    async (req) => publishing.addCollaborator(actorOf(req), found(snapTargets, req), req.body),
  );

  app.delete(
    '/api/store/snaps/:snap/collaborators/:account',
    {
      onRequest: locateSnap,
      config: { access: publisherAccess(COLLABORATOR_ADMIN_ROLES) },
      schema: { tags: ['store'], summary: 'Remove a collaborator account from the snap', params: CollaboratorParams, querystring: SnapQuery, response: { 200: Answers.collaborators, ...errors } },
    },
    async (req) => publishing.removeCollaborator(actorOf(req), found(snapTargets, req), req.params.account),
  );
}

/** An upload's body: the request stream, as the upload scope's content-type parser passes it on. */
type UploadBody = Readable;
const UPLOAD_TYPES = new Set(['application/octet-stream', 'application/vnd.snap']);
