// Publishing: stores, snap registration (with its snap-declaration), uploads
// (with their snap-revision), releases and closes, collaborators, and who may
// do which (roles on the store's brand or the snap's publisher, collaborator
// accounts, base snaps only by the root account, gadgets and kernels only by
// the store's brand). Signing happens outside transactions; each change is
// stored in one transaction. `PublishingService` is what the publisher API,
// the CLI through it, and later the web console call.
import type { Readable } from 'node:stream';
import { SnapDeclarationType, SnapRevisionType, StoreType, SNAP_SERIES, WELL_KNOWN_SNAP_IDS, formatTimestamp } from '../assertions/index.ts';
import { ChannelError, type Channel } from '../channel/channel.ts';
import { fullChannelName } from '../channel/channel.ts';
import { findAssertion, putAssertion } from '../platform/assertions/index.ts';
import { ConflictError, platformView, toDbTime } from '../platform/db/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { StoreError } from './store.errors.ts';
import { signAssertion } from '../platform/keys/index.ts';
import { readSnapMetadata, snapNameError, SnapError, SquashfsReader, type RandomAccessSource, type SnapMetadata } from '../snap/index.ts';
import { BRANCH_TTL_MS, DEFAULT_TRACK, parseStoreChannel, resolveChannel, type Release } from './channels.ts';
import type { StoreOwnTables } from './store.tables.ts';
import { audit, type Actor } from '../platform/context.ts';
import { accountsWithRole, hasRole, type Principal, type Role } from '../platform/http/access.ts';
import { channelMap, type ChannelMapRow } from './channels.ts';
import type { Catalog } from './catalog.repo.ts';
import { atStep, parsePlan, PlanError, type RolloutPlan } from '../rollout/index.ts';
import { currentPercentages, groupsOf, releaseCounts } from './rollouts.ts';
import { STORE_ID, type CloseInput, type CollaboratorInput, type CreateStoreInput, type RegisterSnapInput, type ReleaseInput, type StoreSettingsInput } from './store.schemas.ts';
import {
  snapById,
  addCollaborator,
  collaboratorsOf,
  getStore,
  insertStore,
  LEGACY_RELEASE,
  listStores,
  newSnapId,
  releasesOf,
  removeCollaborator,
  revisionByDigest,
  revisionOf,
  revisionsOf,
  setPrivateAccess,
  snapsNamed,
  toRevision,
  toSnap,
  type PrivateAccess,
  type Revision,
  type Snap,
  type Store,
  type StoreDb,
} from './store.repo.ts';

export { STORE_ID };

async function hasAccountAssertion(db: StoreDb, accountId: string): Promise<boolean> {
  return (await findAssertion(platformView(db), 'account', [accountId])) !== undefined;
}

async function createStore(ctx: PlatformContext, db: StoreDb, input: { storeId: string; brandId: string; includes: string[]; privateAccess?: PrivateAccess }): Promise<{ store: Store; assertion: string }> {
  if (!STORE_ID.test(input.storeId)) throw new StoreError('validation-failed', `invalid store id ${JSON.stringify(input.storeId)}`);
  if (!(await hasAccountAssertion(db, input.brandId))) throw new StoreError('account-not-found', `no account ${JSON.stringify(input.brandId)} (create it with snapline account add)`);
  if (await getStore(db, input.storeId)) throw new StoreError('store-exists', `store ${JSON.stringify(input.storeId)} already exists`);
  for (const inc of input.includes) {
    if (inc === input.storeId || !(await getStore(db, inc))) throw new StoreError('store-not-found', `included store ${JSON.stringify(inc)} does not exist`);
  }
  const now = ctx.now();
  const assertion = await signAssertion(
    StoreType,
    { headers: { 'authority-id': ctx.root.rootId, store: input.storeId, 'operator-id': input.brandId, url: ctx.config.publicUrl, timestamp: formatTimestamp(now) } },
    ctx.root.storeSigner,
    now,
  );
  ctx.metrics.signatures.inc({ type: 'store' });
  try {
    const store = await ctx.db.transaction(async (trx) => {
      const t = trx.withTables<StoreOwnTables>();
      const s = await insertStore(t, input, now);
      await putAssertion(trx, assertion, now);
      return s;
    });
    return { store, assertion: assertion.toString() };
  } catch (err) {
    if (err instanceof ConflictError) throw new StoreError('store-exists', `store ${JSON.stringify(input.storeId)} already exists`);
    throw err;
  }
}

async function registerSnap(
  ctx: PlatformContext,
  db: StoreDb,
  store: Store,
  input: { name: string; publisherId: string; private: boolean; defaultTrack?: string },
): Promise<{ snap: Snap; assertion: string }> {
  const bad = snapNameError(input.name);
  if (bad) throw new StoreError('validation-failed', bad);
  if (!(await hasAccountAssertion(db, input.publisherId))) throw new StoreError('account-not-found', `no account ${JSON.stringify(input.publisherId)}`);
  const wellKnown = WELL_KNOWN_SNAP_IDS[input.name];
  if (wellKnown && input.publisherId !== ctx.root.rootId) {
    throw new StoreError('snap-name-reserved', `${input.name} is a base snap snapd knows by its snap-id: only the root account (${ctx.root.rootId}) may publish it`);
  }
  const defaultTrack = input.defaultTrack ?? DEFAULT_TRACK;
  try {
    parseStoreChannel(`${defaultTrack}/stable`);
  } catch {
    throw new StoreError('invalid-channel', `invalid default track ${JSON.stringify(defaultTrack)}`);
  }
  if (await db.selectFrom('store_snaps').select('snap_id').where('store_id', '=', store.storeId).where('name', '=', input.name).executeTakeFirst()) {
    throw new StoreError('snap-name-registered', `snap ${input.name} is already registered in store ${store.storeId}`);
  }
  const snapId = wellKnown ?? newSnapId();
  const now = ctx.now();
  const assertion = await signAssertion(
    SnapDeclarationType,
    { headers: { 'authority-id': ctx.root.rootId, series: SNAP_SERIES, 'snap-id': snapId, 'snap-name': input.name, 'publisher-id': input.publisherId, timestamp: formatTimestamp(now) } },
    ctx.root.storeSigner,
    now,
  );
  ctx.metrics.signatures.inc({ type: 'snap-declaration' });
  const row = {
    snap_id: snapId,
    store_id: store.storeId,
    name: input.name,
    publisher_id: input.publisherId,
    private: input.private ? 1 : 0,
    default_track: defaultTrack,
    created_at: toDbTime(now),
  };
  try {
    await ctx.db.transaction(async (trx) => {
      await trx.withTables<StoreOwnTables>().insertInto('store_snaps').values(row).execute();
      await putAssertion(trx, assertion, now);
    });
  } catch (err) {
    if (err instanceof ConflictError) {
      throw new StoreError('snap-name-registered', wellKnown ? `snap ${input.name} (snap-id ${snapId}) is already registered in another store` : `snap ${input.name} is already registered in store ${store.storeId}`);
    }
    throw err;
  }
  return { snap: toSnap(row), assertion: assertion.toString() };
}

/** Random access to a stored blob by byte ranges (for the squashfs reader). */
class BlobSource implements RandomAccessSource {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly digest: string,
    readonly size: number,
  ) {}
  async read(offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    if (offset < 0 || offset + length > this.size) throw new RangeError(`read of ${length} bytes at ${offset} is outside the source`);
    const { stream } = await this.ctx.blobs.get(this.digest, { start: offset, end: offset + length - 1 });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const out = Buffer.concat(chunks);
    if (out.length !== length) throw new RangeError('short read');
    return out;
  }
  async close(): Promise<void> {}
}

/** Parses release channels up front, so a bad one refuses the whole request. */
function parseReleaseChannels(channels: readonly string[], snap: Snap): Channel[] {
  if (channels.length === 0) throw new StoreError('invalid-channel', 'no channel given');
  return channels.map((c) => {
    try {
      return parseStoreChannel(c, snap.defaultTrack);
    } catch (err) {
      if (err instanceof ChannelError) throw new StoreError('invalid-channel', err.message);
      throw err;
    }
  });
}

async function uploadRevision(
  ctx: PlatformContext,
  db: StoreDb,
  snap: Snap,
  body: Readable,
  opts: { developerId: string; release?: Channel[]; actor: string; signal?: AbortSignal },
): Promise<{ revision: Revision; assertion: string; released: string[] }> {
  const store = (await getStore(db, snap.storeId))!;
  const info = await ctx.blobs.put(body, { maxSize: ctx.config.limits.uploadBytes, ...(opts.signal ? { signal: opts.signal } : {}) });
  const hex = info.sha3_384.hex;
  let committed = false;
  try {
    let meta: SnapMetadata;
    const reader = await SquashfsReader.open(new BlobSource(ctx, hex, info.size)).catch((err: unknown) => {
      if (err instanceof SnapError) throw new StoreError('snap-invalid', `not a valid snap: ${err.message}`);
      throw err;
    });
    try {
      meta = await readSnapMetadata(reader);
    } catch (err) {
      if (err instanceof SnapError) throw new StoreError('snap-invalid', `not a valid snap: ${err.message}`);
      throw err;
    } finally {
      await reader.close();
    }
    const y = meta.snapYaml;
    if (y.name !== snap.name) throw new StoreError('snap-name-mismatch', `the file is snap ${JSON.stringify(y.name)}, not ${JSON.stringify(snap.name)}`);
    if ((y.type === 'gadget' || y.type === 'kernel') && snap.publisherId !== store.brandId && snap.publisherId !== ctx.root.rootId) {
      throw new StoreError('snap-publisher-invalid', `a ${y.type} must be published by the store's brand ${store.brandId} (or the root account): devices refuse it otherwise`);
    }
    if (y.type === 'os' && snap.name !== 'core') throw new StoreError('snap-invalid', 'only the core snap may have type os');
    const existing = await revisionByDigest(db, hex);
    if (existing) throw new StoreError('revision-exists', `this file was already uploaded as revision ${existing.revision} of ${existing.snapId === snap.snapId ? snap.name : 'another snap'}`);

    for (let attempt = 0; ; attempt++) {
      const last = await db.selectFrom('store_revisions').select((eb) => eb.fn.max('revision').as('max')).where('snap_id', '=', snap.snapId).executeTakeFirst();
      const revision = Number(last?.max ?? 0) + 1;
      const now = ctx.now();
      const assertion = await signAssertion(
        SnapRevisionType,
        {
          headers: {
            'authority-id': ctx.root.rootId,
            'snap-sha3-384': info.sha3_384.base64url,
            'snap-id': snap.snapId,
            'snap-size': String(info.size),
            'snap-revision': String(revision),
            'developer-id': opts.developerId,
            timestamp: formatTimestamp(now),
          },
        },
        ctx.root.storeSigner,
        now,
      );
      ctx.metrics.signatures.inc({ type: 'snap-revision' });
      const row = {
        snap_id: snap.snapId,
        revision,
        version: y.version,
        type: y.type,
        confinement: y.confinement,
        grade: y.grade,
        base: y.base ?? null,
        architectures: JSON.stringify(y.architectures),
        epoch: JSON.stringify({ read: y.epoch.read, write: y.epoch.write }),
        summary: y.summary ?? '',
        title: y.title ?? '',
        description: y.description ?? '',
        license: y.license ?? '',
        snap_yaml: await readYamlText(ctx, hex, info.size),
        sha3_384: hex,
        size: info.size,
        developer_id: opts.developerId,
        created_at: toDbTime(now),
      };
      try {
        const released = await ctx.db.transaction(async (trx) => {
          const t = trx.withTables<StoreOwnTables>();
          await t.insertInto('store_revisions').values(row).execute();
          await putAssertion(trx, assertion, now);
          return opts.release ? await releaseIn(t, snap, { revision, architectures: y.architectures }, opts.release, null, opts.actor, now) : [];
        });
        committed = true;
        return { revision: toRevision(row), assertion: assertion.toString(), released };
      } catch (err) {
        if (err instanceof ConflictError && attempt < 4) {
          if (await revisionByDigest(db, hex)) throw new StoreError('revision-exists', 'this file was just uploaded by another request');
          continue; // another upload took this revision number
        }
        throw err;
      }
    }
  } finally {
    if (!committed && !(await revisionByDigest(db, hex).catch(() => undefined))) await ctx.blobs.delete(hex).catch(() => false);
  }
}

async function readYamlText(ctx: PlatformContext, hex: string, size: number): Promise<string> {
  const reader = await SquashfsReader.open(new BlobSource(ctx, hex, size));
  try {
    return (await reader.readFile('meta/snap.yaml', 1024 * 1024)).toString('utf8');
  } finally {
    await reader.close();
  }
}

/** What a release carries besides its revision (update control). */
export interface ReleaseOptions {
  /** The release id this release rolls back (a rollback re-releases the previous revision). */
  rollbackOf?: string;
  /** Health rules (kept from the current release of the same revision when not given). */
  health?: { failAfterCheckins: number; errorThreshold?: number | undefined; minDevices?: number | undefined; failAfterSeconds?: number | undefined } | undefined;
  /** The rollout plan the release follows (starting at its first step); a release without one drops the channel's plan. */
  plan?: RolloutPlan | undefined;
  /** Device groups whose devices are offered the revision whatever their bucket. */
  groups?: readonly string[] | undefined;
}

/**
 * What devices outside a new release of `channel` keep: what the channel
 * serves them now (its own release, or what it follows). A channel whose
 * release is itself partly rolled out serves most devices its previous
 * revision, which they keep.
 */
function servedBefore(before: readonly Release[], arch: string, channel: Channel, now: Date): number | null {
  const r = resolveChannel(before, arch, channel, now)?.release;
  if (!r) return null;
  // A release made before update control was served to every device, whatever its percentage.
  if (r.progressivePercentage !== null && r.progressivePercentage < 100 && !r.releaseId?.startsWith(LEGACY_RELEASE)) return r.previousRevision ?? null;
  return r.revision;
}

/**
 * Releases a revision to channels (one row per architecture; "all" covers
 * every architecture an arch-specific release does not). Each row gets a
 * release id: the one it had when the same revision was already released
 * there (a new percentage is the same release: raising it only adds
 * devices), else a new one, `snap-id:arch:channel:n` for the n-th release
 * of that channel and architecture; and the revision the devices outside
 * it keep.
 */
export async function releaseIn(
  t: StoreDb,
  snap: Snap,
  rev: { revision: number; architectures: readonly string[] },
  channels: readonly Channel[],
  progressive: number | null,
  actor: string,
  now: Date,
  opts: ReleaseOptions = {},
): Promise<string[]> {
  const names: string[] = [];
  const before = (await releasesOf(t, [snap.snapId])).get(snap.snapId) ?? [];
  for (const c of channels) {
    const name = fullChannelName(c);
    const arches = rev.architectures.includes('all') ? ['all'] : rev.architectures;
    if (arches.includes('all')) {
      await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    }
    for (const arch of arches) {
      const current = before.find((r) => r.architecture === arch && r.track === c.track && r.risk === c.risk && r.branch === c.branch);
      let rollout: {
        release_id: string;
        previous_revision: number | null;
        paused: number;
        rollback_of: string | null;
        fail_after_checkins: number | null;
        fail_after_seconds: number | null;
        error_threshold: number | null;
        min_devices: number | null;
        paused_reason: string | null;
      };
      const given = opts.health ? { fail_after_checkins: opts.health.failAfterCheckins, error_threshold: opts.health.errorThreshold ?? null, min_devices: opts.health.minDevices ?? 1, fail_after_seconds: opts.health.failAfterSeconds ?? null } : undefined;
      // The same revision again is the same release (a release made before update control starts a new one).
      if (current && current.revision === rev.revision && opts.rollbackOf === undefined && current.releaseId !== undefined && !current.releaseId.startsWith(LEGACY_RELEASE)) {
        const h = current.health;
        rollout = {
          release_id: current.releaseId,
          previous_revision: current.previousRevision ?? null,
          paused: current.paused ? 1 : 0,
          rollback_of: current.rollbackOf ?? null,
          ...(given ?? { fail_after_checkins: h?.failAfterCheckins ?? null, error_threshold: h?.errorThreshold ?? null, min_devices: h ? h.minDevices : null, fail_after_seconds: h?.failAfterSeconds ?? null }),
          paused_reason: current.pausedReason ?? null,
        };
      } else {
        const n = await t
          .selectFrom('store_release_history')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('snap_id', '=', snap.snapId)
          .where('architecture', '=', arch)
          .where('channel', '=', name)
          .where('revision', 'is not', null)
          .executeTakeFirst();
        rollout = {
          release_id: `${snap.snapId}:${arch}:${name}:${Number(n?.n ?? 0) + 1}`,
          previous_revision: servedBefore(before, arch, c, now),
          paused: 0,
          rollback_of: opts.rollbackOf ?? null,
          ...(given ?? { fail_after_checkins: null, error_threshold: null, min_devices: null, fail_after_seconds: null }),
          paused_reason: null,
        };
      }
      const target = {
        plan: opts.plan ? JSON.stringify(opts.plan) : null,
        plan_step: opts.plan ? 0 : null,
        step_started_at: opts.plan ? toDbTime(now) : null,
        target_groups: opts.groups?.length ? JSON.stringify([...new Set(opts.groups)].sort()) : null,
      };
      await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('architecture', '=', arch).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
      await t
        .insertInto('store_releases')
        .values({
          snap_id: snap.snapId,
          architecture: arch,
          track: c.track,
          risk: c.risk,
          branch: c.branch,
          revision: rev.revision,
          progressive_percentage: progressive,
          released_at: toDbTime(now),
          expires_at: c.branch ? toDbTime(new Date(now.getTime() + BRANCH_TTL_MS)) : null,
          ...rollout,
          ...target,
        })
        .execute();
      await t
        .insertInto('store_release_history')
        .values({ snap_id: snap.snapId, architecture: arch, channel: name, revision: rev.revision, progressive_percentage: progressive, actor, at: toDbTime(now), release_id: rollout.release_id })
        .execute();
    }
    names.push(name);
  }
  return names;
}

export async function closeIn(t: StoreDb, snap: Snap, channels: readonly Channel[], actor: string, now: Date): Promise<string[]> {
  const names: string[] = [];
  for (const c of channels) {
    const name = fullChannelName(c);
    const rows = await t.selectFrom('store_releases').select('architecture').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('track', '=', c.track).where('risk', '=', c.risk).where('branch', '=', c.branch).execute();
    for (const r of rows) {
      await t.insertInto('store_release_history').values({ snap_id: snap.snapId, architecture: r.architecture, channel: name, revision: null, progressive_percentage: null, actor, at: toDbTime(now) }).execute();
    }
    names.push(name);
  }
  return names;
}

// --- who may do what ---------------------------------------------------------

/** Roles on an account that let a caller register, upload, release and close. */
export const PUBLISH_ROLES: readonly Role[] = ['admin', 'publisher'];
/** Roles on an account that let a caller see its stores and snaps. */
export const READ_ROLES: readonly Role[] = ['admin', 'publisher', 'viewer'];
/** Roles on the brand that let a caller change its store's settings. */
export const STORE_ADMIN_ROLES: readonly Role[] = ['admin'];
/** Roles on the publisher that let a caller add and remove collaborators. */
export const COLLABORATOR_ADMIN_ROLES: readonly Role[] = ['admin'];

/**
 * The snap a publisher request names, found before its access is checked:
 * the snap and its collaborators, or why there is none (unknown, or a name
 * registered in several stores without a store named).
 */
export type SnapTarget = { name: string; snap: Snap; collaborators: string[] } | { name: string; error: StoreError };
/** The store a request names (undefined store: none with that id). */
export interface StoreTarget {
  storeId: string;
  store: Store | undefined;
}

/**
 * For an unknown snap or store the access check gets an account id no one
 * holds (it is not a valid id): everyone but the superuser is refused (403)
 * without learning whether the name exists elsewhere; the superuser gets the 404.
 */
const nobody = (what: string) => `unknown ${what} (or not yours)`;

function authorize(actor: Actor, accountId: string, roles: readonly Role[]): Principal {
  const p = actor.principal;
  if (!p) throw new StoreError('unauthorized', 'authentication required');
  if (!hasRole(p, accountId, roles)) throw new StoreError('forbidden', `requires role ${roles.join(' or ')} on account ${JSON.stringify(accountId)}`);
  return p;
}

const historyActor = (actor: Actor) => (actor.principal ? `user:${actor.principal.username}` : 'anonymous');

/** A revision as the publisher API shows it (without its snap.yaml text). */
export type RevisionView = Omit<Revision, 'snapYaml'>;
function revisionView(r: Revision): RevisionView {
  const { snapYaml: _yaml, ...view } = r;
  return view;
}

export class PublishingService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
  ) {}

  /** The snap `name` (in `storeId` when given) with its collaborators, or why there is none. */
  async locateSnap(name: string, storeId?: string): Promise<SnapTarget> {
    const found = (await snapsNamed(this.db, name)).filter((s) => storeId === undefined || s.storeId === storeId);
    if (found.length === 1) return { name, snap: found[0]!, collaborators: await collaboratorsOf(this.db, found[0]!.snapId) };
    if (found.length > 1) return { name, error: new StoreError('store-required', `snap ${name} is registered in several stores (${found.map((s) => s.storeId).join(', ')}): name one with ?store=`) };
    return { name, error: new StoreError('not-found', storeId ? `no snap ${JSON.stringify(name)} in store ${storeId}` : `no snap ${JSON.stringify(name)}`) };
  }

  /**
   * The account a snap request acts as, on which `roles` are checked: the
   * publisher, or a collaborator account on which the caller holds `roles`.
   * Unknown snaps get an account no one holds.
   */
  actingAccount(target: SnapTarget, principal: Principal | undefined, roles: readonly Role[]): string {
    if ('error' in target) return nobody(`snap ${target.name}`);
    if (principal && !hasRole(principal, target.snap.publisherId, roles)) {
      const collaborator = target.collaborators.find((c) => hasRole(principal, c, roles));
      if (collaborator) return collaborator;
    }
    return target.snap.publisherId;
  }

  /** The snap's publisher (collaborators do not count), or an account no one holds. */
  publisherAccount(target: SnapTarget): string {
    return 'error' in target ? nobody(`snap ${target.name}`) : target.snap.publisherId;
  }

  async locateStore(storeId: string): Promise<StoreTarget> {
    return { storeId, store: await getStore(this.db, storeId) };
  }

  /** The store's brand, or an account no one holds. */
  storeAccount(target: StoreTarget): string {
    return target.store?.brandId ?? nobody(`store ${target.storeId}`);
  }

  private snapOf(actor: Actor, target: SnapTarget, roles: readonly Role[]): { snap: Snap; collaborators: string[]; as: string } {
    const as = this.actingAccount(target, actor.principal, roles);
    authorize(actor, as, roles);
    if ('error' in target) throw target.error;
    return { snap: target.snap, collaborators: target.collaborators, as };
  }

  /** The snap a request acts on, after checking the caller holds `roles` on its publisher or a collaborator account (for update control). */
  authorizeSnap(actor: Actor, target: SnapTarget, roles: readonly Role[]): { snap: Snap; as: string } {
    const { snap, as } = this.snapOf(actor, target, roles);
    return { snap, as };
  }

  /** The store a request acts on, after checking the caller holds `roles` on its brand (for update control's device groups). */
  authorizeStore(actor: Actor, target: StoreTarget, roles: readonly Role[]): Store {
    return this.storeOf(actor, target, roles);
  }

  /** The snap, for what only its publisher's admins decide (gating). */
  authorizePublished(actor: Actor, target: SnapTarget): Snap {
    return this.publishedSnap(actor, target);
  }

  /** For what only the publisher's admins decide (collaborators do not count). */
  private publishedSnap(actor: Actor, target: SnapTarget): Snap {
    authorize(actor, this.publisherAccount(target), COLLABORATOR_ADMIN_ROLES);
    if ('error' in target) throw target.error;
    return target.snap;
  }

  private storeOf(actor: Actor, target: StoreTarget, roles: readonly Role[]): Store {
    authorize(actor, this.storeAccount(target), roles);
    if (!target.store) throw new StoreError('store-not-found', `no store ${JSON.stringify(target.storeId)}`);
    return target.store;
  }

  // --- stores ---

  /** Creates a brand store and signs its store assertion (the operator's superuser only). */
  async createStore(actor: Actor, input: CreateStoreInput): Promise<{ store: Store; assertion: string }> {
    if (!actor.principal) throw new StoreError('unauthorized', 'authentication required');
    if (!actor.principal.superuser) throw new StoreError('forbidden', 'only the operator administrator may do this');
    const res = await createStore(this.ctx, this.db, { storeId: input.storeId, brandId: input.brand, includes: input.includes ?? [], privateAccess: input.privateAccess ?? 'verified' });
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.create', target: input.storeId, accountId: input.brand });
    return res;
  }

  /** The stores whose brand the caller holds any role on. */
  async listStores(actor: Actor): Promise<{ stores: Store[] }> {
    const p = actor.principal;
    if (!p) throw new StoreError('unauthorized', 'authentication required');
    const visibleTo = accountsWithRole(p, ['admin', 'publisher', 'viewer', 'factory-operator']);
    return { stores: (await listStores(this.db)).filter((s) => visibleTo === '*' || visibleTo.includes(s.brandId)) };
  }

  async store(actor: Actor, target: StoreTarget): Promise<{ store: Store }> {
    return { store: this.storeOf(actor, target, READ_ROLES) };
  }

  /**
   * Changes a store's settings (its brand's admins): `privateAccess`, who
   * sees its private snaps (docs/store.md, Visibility).
   */
  async updateStore(actor: Actor, target: StoreTarget, input: StoreSettingsInput): Promise<{ store: Store }> {
    const store = this.storeOf(actor, target, STORE_ADMIN_ROLES);
    if (input.privateAccess !== undefined && input.privateAccess !== store.privateAccess) {
      await setPrivateAccess(this.db, store.storeId, input.privateAccess);
      this.catalog.invalidate();
      await audit(this.ctx, actor, { action: 'store.update', target: store.storeId, accountId: store.brandId, details: { privateAccess: input.privateAccess } });
    }
    return { store: (await getStore(this.db, store.storeId))! };
  }

  /**
   * Registers a snap name in a store and signs its snap-declaration: by a
   * publisher of the store's brand, for the brand or another account the
   * caller publishes for.
   */
  async registerSnap(actor: Actor, target: StoreTarget, input: RegisterSnapInput): Promise<{ snap: Snap; assertion: string }> {
    const store = this.storeOf(actor, target, PUBLISH_ROLES);
    const publisherId = input.publisher ?? store.brandId;
    authorize(actor, publisherId, PUBLISH_ROLES);
    const res = await registerSnap(this.ctx, this.db, store, { name: input.name, publisherId, private: input.private ?? true, ...(input.defaultTrack ? { defaultTrack: input.defaultTrack } : {}) });
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.snap.register', target: `${store.storeId}/${input.name}`, accountId: publisherId, details: { snapId: res.snap.snapId } });
    return res;
  }

  // --- snaps ---

  /** A snap, its collaborators and its channel map (snapline status). */
  async status(actor: Actor, target: SnapTarget): Promise<{ snap: Snap; collaborators: string[]; channelMap: ChannelMapRow[] }> {
    const { snap, collaborators } = this.snapOf(actor, target, READ_ROLES);
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    return { snap, collaborators, channelMap: await this.channelMapOf(rels, this.ctx.now()) };
  }

  /** The channel map with the current-percentage of progressive and paused releases, measured from the devices that took them. */
  private async channelMapOf(rels: readonly Release[], now: Date): Promise<ChannelMapRow[]> {
    const ids = rels.filter((r) => r.releaseId !== undefined && (r.progressivePercentage !== null || r.paused)).map((r) => r.releaseId!);
    return channelMap(rels, now, ids.length ? currentPercentages(await releaseCounts(this.db, ids)) : new Map());
  }

  /** Revisions, newest first, with the channels each is live in (snapline revisions). */
  async revisions(actor: Actor, target: SnapTarget): Promise<{ revisions: (RevisionView & { channels: string[] })[] }> {
    const { snap } = this.snapOf(actor, target, READ_ROLES);
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    const now = this.ctx.now();
    return {
      revisions: (await revisionsOf(this.db, snap.snapId)).map((r) => ({
        ...revisionView(r),
        channels: rels
          .filter((x) => x.revision === r.revision && (x.expiresAt === null || x.expiresAt > now))
          .map((x) => `${x.architecture}:${[x.track, x.risk, x.branch].filter(Boolean).join('/')}`)
          .sort(),
      })),
    };
  }

  /**
   * Uploads a .snap and signs its snap-revision, optionally releasing it.
   * `size`: the length the caller announced, refused at once when over the
   * limit (the stream is limited anyway). The file's developer is the
   * account the caller acts as (the publisher or a collaborator).
   */
  async upload(
    actor: Actor,
    target: SnapTarget,
    file: Readable,
    opts: { release?: readonly string[] | undefined; size?: number | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<{ revision: RevisionView; assertion: string; released: string[]; pending?: { id: number } }> {
    const { snap, as } = this.snapOf(actor, target, PUBLISH_ROLES);
    const channels = opts.release !== undefined ? parseReleaseChannels(opts.release, snap) : undefined;
    const limit = this.ctx.config.limits.uploadBytes;
    if (opts.size !== undefined && opts.size > limit) throw new StoreError('payload-too-large', `upload of ${opts.size} bytes is over the limit of ${limit}`);
    // A release to a controlled channel waits for approval, whichever way it is asked: uploaded first, then requested.
    const gated = channels !== undefined && (await this.controlsAny(snap, channels));
    const res = await uploadRevision(this.ctx, this.db, snap, file, { developerId: as, actor: historyActor(actor), ...(opts.signal ? { signal: opts.signal } : {}), ...(channels && !gated ? { release: channels } : {}) });
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.snap.upload', target: `${snap.name}/${res.revision.revision}`, accountId: snap.publisherId, details: { sha3_384: res.revision.sha3_384, size: res.revision.size, released: res.released } });
    const pending = gated ? await this.approvalGate(actor, snap, res.revision.revision, channels, { revision: res.revision.revision, channels: [...opts.release!] }) : undefined;
    return { ...res, revision: revisionView(res.revision), ...(pending ? { pending } : {}) };
  }

  /** Whether a release to these channels would wait for approval (approvals.service.ts sets it). */
  controlsAny: (snap: Snap, channels: readonly Channel[]) => Promise<boolean> = async () => false;

  /**
   * Update control's approvals (approvals.service.ts): asked before a
   * release; a pending request when a channel is controlled, and then the
   * release waits.
   */
  approvalGate: (actor: Actor, snap: Snap, revision: number, channels: readonly Channel[], input: ReleaseInput) => Promise<{ id: number } | undefined> = async () => undefined;

  /**
   * Releases a revision to channels (optionally to a percentage of devices,
   * groups, or following a plan); to a controlled channel, a pending request
   * instead (`pending`, nothing released).
   */
  async release(actor: Actor, target: SnapTarget, input: ReleaseInput): Promise<{ released: string[]; channelMap: ChannelMapRow[]; pending?: { id: number } }> {
    const { snap } = this.snapOf(actor, target, PUBLISH_ROLES);
    const channels = parseReleaseChannels(input.channels, snap);
    const rev = await revisionOf(this.db, snap.snapId, input.revision);
    if (!rev) throw new StoreError('revision-not-found', `snap ${snap.name} has no revision ${input.revision}`);
    const now = this.ctx.now();
    await this.rolloutTarget(snap, input); // a bad plan or group is refused now, not at approval
    const pending = await this.approvalGate(actor, snap, rev.revision, channels, input);
    if (pending) return { released: [], channelMap: await this.channelMapOf((await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [], now), pending };
    const released = await this.releaseNow(actor, snap, rev, channels, input, historyActor(actor), now);
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    return { released, channelMap: await this.channelMapOf(rels, now) };
  }

  /** An approved request's release, made as it was asked (history: who asked, approved by whom). */
  async releaseApproved(snapId: string, input: ReleaseInput, who: string, now: Date): Promise<string[]> {
    const snap = await snapById(this.db, snapId);
    if (!snap) throw new StoreError('not-found', `snap ${snapId} no longer exists`);
    const rev = await revisionOf(this.db, snap.snapId, input.revision);
    if (!rev) throw new StoreError('revision-not-found', `snap ${snap.name} has no revision ${input.revision}`);
    const actor: Actor = { principal: undefined, ip: '', requestId: '', origin: 'approval' };
    return this.releaseNow(actor, snap, rev, parseReleaseChannels(input.channels, snap), input, who, now);
  }

  private async releaseNow(actor: Actor, snap: Snap, rev: { revision: number; architectures: readonly string[] }, channels: readonly Channel[], input: ReleaseInput, who: string, now: Date): Promise<string[]> {
    const aim = await this.rolloutTarget(snap, input);
    const released = await this.ctx.db.transaction((trx) => releaseIn(trx.withTables<StoreOwnTables>(), snap, rev, channels, aim.progressive, who, now, aim.options));
    this.catalog.invalidate();
    await audit(this.ctx, actor, {
      action: 'store.snap.release',
      target: `${snap.name}/${rev.revision}`,
      accountId: snap.publisherId,
      details: { channels: released, progressivePercentage: aim.progressive, ...(aim.options.health ? { health: aim.options.health } : {}), ...(input.plan ? { plan: aim.options.plan } : {}), ...(aim.options.groups ? { groups: aim.options.groups } : {}), ...(actor.principal ? {} : { by: who }) },
    });
    return released;
  }

  /**
   * What a release targets: its percentage, health rules and groups, or,
   * with a plan, those of the plan's first step (RolloutPlan checked here:
   * StoreError rollout-plan-invalid). Named groups must exist in the snap's store.
   */
  private async rolloutTarget(snap: Snap, input: ReleaseInput): Promise<{ progressive: number | null; options: ReleaseOptions }> {
    if (!input.plan) {
      if (input.groups?.length) await this.groupsExist(snap, input.groups);
      // Groups alone: only their devices (0% of the others).
      const progressive = input.progressivePercentage ?? (input.groups?.length ? 0 : null);
      return { progressive, options: { health: input.health, ...(input.groups?.length ? { groups: input.groups } : {}) } };
    }
    if (input.progressivePercentage !== undefined || input.health !== undefined) throw new StoreError('rollout-plan-invalid', 'a release with a plan takes its percentage and health rules from the plan: give either a plan or progressivePercentage/health');
    let plan: RolloutPlan;
    try {
      plan = parsePlan(input.plan);
    } catch (err) {
      if (err instanceof PlanError) throw new StoreError('rollout-plan-invalid', `invalid rollout plan: ${err.message}`);
      throw err;
    }
    const first = atStep(plan, 0);
    const groups = [...new Set([...first.groups, ...(input.groups ?? [])])];
    await this.groupsExist(snap, [...groups, ...plan.steps.flatMap((s) => s.groups)]);
    const step = plan.steps[0]!;
    return {
      progressive: first.percentage >= 100 ? 100 : first.percentage,
      options: { plan, groups, health: { failAfterCheckins: plan.failAfterCheckins, errorThreshold: step.errorThreshold ?? undefined, minDevices: step.minDevices, failAfterSeconds: plan.failAfterSeconds ?? undefined } },
    };
  }

  /** Groups are a store's: a release may name those of the snap's store and of the stores that include it (its devices' stores). */
  private async groupsExist(snap: Snap, names: readonly string[]): Promise<void> {
    const stores = [...(await this.catalog.allStores()).values()].filter((s) => s.storeId === snap.storeId || s.includes.includes(snap.storeId)).map((s) => s.storeId);
    const known = new Set((await Promise.all(stores.map((id) => groupsOf(this.db, id)))).flat().map((g) => g.name));
    const missing = [...new Set(names)].filter((n) => !known.has(n));
    if (missing.length) throw new StoreError('group-not-found', `no store that sees ${snap.name} (${stores.join(', ')}) has a device group ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  }

  /** Closes channels: they follow the next more stable risk. */
  async close(actor: Actor, target: SnapTarget, input: CloseInput): Promise<{ closed: string[]; channelMap: ChannelMapRow[] }> {
    const { snap } = this.snapOf(actor, target, PUBLISH_ROLES);
    const channels = parseReleaseChannels(input.channels, snap);
    const now = this.ctx.now();
    const closed = await this.ctx.db.transaction((trx) => closeIn(trx.withTables<StoreOwnTables>(), snap, channels, historyActor(actor), now));
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.snap.close', target: snap.name, accountId: snap.publisherId, details: { channels: closed } });
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    return { closed, channelMap: await this.channelMapOf(rels, now) };
  }

  /** Lets another account upload and release the snap (the publisher's admins decide). */
  async addCollaborator(actor: Actor, target: SnapTarget, input: CollaboratorInput): Promise<{ collaborators: string[] }> {
    const snap = this.publishedSnap(actor, target);
    const account = input.account;
    if (account === snap.publisherId) throw new StoreError('validation-failed', `${account} is the publisher`);
    if (!(await hasAccountAssertion(this.db, account))) throw new StoreError('account-not-found', `no account ${JSON.stringify(account)}`);
    await addCollaborator(this.db, snap.snapId, account, this.ctx.now());
    await audit(this.ctx, actor, { action: 'store.snap.collaborator.add', target: `${snap.name}/${account}`, accountId: snap.publisherId });
    return { collaborators: await collaboratorsOf(this.db, snap.snapId) };
  }

  async removeCollaborator(actor: Actor, target: SnapTarget, account: string): Promise<{ collaborators: string[] }> {
    const snap = this.publishedSnap(actor, target);
    if (!(await removeCollaborator(this.db, snap.snapId, account))) throw new StoreError('not-found', `${account} is not a collaborator of ${snap.name}`);
    await audit(this.ctx, actor, { action: 'store.snap.collaborator.remove', target: `${snap.name}/${account}`, accountId: snap.publisherId });
    return { collaborators: await collaboratorsOf(this.db, snap.snapId) };
  }
}
