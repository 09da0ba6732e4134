// Update control in the store (docs/update-control.md): the state of a
// channel's rollout (progressive percentage, paused, what devices did),
// pause, resume and roll back, and `why`: which rule gives which revision
// to one device, from the same pure `decide` the refresh path calls.
// Who may do which: reading like `snapline status` (READ_ROLES on the
// publisher or a collaborator account), changing like `snapline release`
// (PUBLISH_ROLES). Every change is in the audit log.
import { sql } from 'kysely';
import { ChannelError, fullChannelName, type Channel } from '../channel/channel.ts';
import { audit, type Actor } from '../platform/context.ts';
import type { PlatformContext } from '../platform/context.ts';
import { ConflictError, toDbTime } from '../platform/db/index.ts';
import { decide, evaluateStep, explain, explainVerdict, formatWindows, parseWindow, WindowError, type DeviceIdentity, type MaintenanceWindow, type PlanVerdict, type Reason, type RolloutPlan } from '../rollout/index.ts';
import type { PlanDriver } from './rollout-plans.ts';
import type { Catalog } from './catalog.repo.ts';
import { parseStoreChannel, resolveChannel, type Release } from './channels.ts';
import { releaseIn, PUBLISH_ROLES, READ_ROLES, type PublishingService, type SnapTarget, type StoreTarget } from './publishing.service.ts';
import { channelRelease, deviceFacts, deviceLabels, groupsOf, plainRelease, releaseCounts, toDeviceGroup, type DeviceGroup, type FactRecorder, type ReleaseCounts } from './rollouts.ts';
import { StoreError } from './store.errors.ts';
import { LEGACY_RELEASE, releasesOf, type Snap, type Store, type StoreDb } from './store.repo.ts';
import { MAX_DEVICE_LABELS, MAX_GROUP_SERIALS, type DeviceLabelsInput, type DeviceLabelsQueryInput, type GroupInput, type GroupMembersInput, type RolloutBodyInput, type WhyQueryInput } from './store.schemas.ts';
import type { StoreOwnTables } from './store.tables.ts';

/** A page cursor of the labelled devices: [serial, model, brand]. */
function decodeCursor(after: string): [string, string, string] {
  try {
    const v = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string')) return v as [string, string, string];
  } catch {
    // fall through
  }
  throw new StoreError('validation-failed', 'after: not a cursor this list gave');
}

/** The labels a store's brand set on one device. */
export interface DeviceLabels {
  brand: string;
  model: string;
  serial: string;
  labels: string[];
  updatedAt: string | null;
}

/** One architecture's release in a channel, as `rollout status` shows it. */
export interface RolloutRelease {
  architecture: string;
  releaseId: string;
  revision: number;
  /** What devices outside the release keep (null: what the channel follows, or nothing). */
  previousRevision: number | null;
  progressive: { percentage: number | null; paused: boolean; 'current-percentage': number };
  /** Health rules, and why the rollout paused by itself (null: not by itself). */
  health: { failAfterCheckins: number; errorThreshold: number | null; minDevices: number; failAfterSeconds?: number | null | undefined } | null;
  pausedReason: string | null;
  /** The plan the release follows: its steps, the step it is at (1-based), since when, and what it waits for (null: no plan). */
  plan: { steps: RolloutPlan['steps']; windows: string | null; step: number; of: number; stepStartedAt: string; state: PlanVerdict['state']; explanation: string } | null;
  /** Device groups whose devices are offered the revision whatever their bucket. */
  groups: string[];
  /** The channel's maintenance windows (null: none; a plan's own win). */
  channelWindows: string | null;
  releasedAt: string;
  /** Devices that refreshed from this channel since the release (with a device session), offered its revision, running it. */
  devices: ReleaseCounts;
  /** Set on a rollback: the release rolled back, how many devices had taken it, how many of those report this revision again. */
  rollback: { of: string; tookRolledBack: number; back: number } | null;
}

export interface RolloutStatus {
  snap: string;
  channel: string;
  releases: RolloutRelease[];
}

/** One architecture's answer of `rollout why`. */
export interface WhyAnswer {
  architecture: string;
  /** The channel the revision comes from (null: nothing is released there). */
  effectiveChannel: string | null;
  releaseId: string | null;
  /** The revision update control offers this device (null: nothing). */
  revision: number | null;
  reason: Reason | { rule: 'channel-empty' };
  explanation: string;
  /** What the store recorded of this device and the release. */
  facts: { offered: boolean; took: boolean; reportedRevision: number | null } | null;
}

export interface WhyResult {
  snap: string;
  channel: string;
  /** The device the serial names (its latest session, or the facts the store kept); null: unknown, answered as a device without a session. */
  device: DeviceIdentity | null;
  /** The held device group the device is in (its refreshes keep the installed revision; the answers assume the revision the store last saw it report, if any). */
  heldBy: string | null;
  answers: WhyAnswer[];
}

const uniq = (xs: readonly string[] | undefined) => [...new Set(xs ?? [])].sort();
const historyActor = (actor: Actor) => (actor.principal ? `user:${actor.principal.username}` : 'anonymous');
const channelName = (r: Release) => fullChannelName({ track: r.track, risk: r.risk, branch: r.branch } as Channel);

export class RolloutService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
    private readonly publishing: PublishingService,
    private readonly facts: FactRecorder,
    private readonly plans: PlanDriver,
  ) {}

  private parse(snap: Snap, name: string | undefined): Channel {
    try {
      return parseStoreChannel(name ?? 'stable', snap.defaultTrack);
    } catch (err) {
      if (err instanceof ChannelError) throw new StoreError('invalid-channel', err.message);
      throw err;
    }
  }

  /** The channel's own releases (every architecture), or StoreError rollout-not-found. */
  private async channelReleases(snap: Snap, channel: Channel): Promise<Release[]> {
    const now = this.ctx.now();
    const rels = ((await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? []).filter(
      (r) => r.track === channel.track && r.risk === channel.risk && r.branch === channel.branch && (r.expiresAt === null || r.expiresAt > now),
    );
    if (rels.length === 0) throw new StoreError('rollout-not-found', `nothing is released to ${fullChannelName(channel)} of ${snap.name}`);
    return rels.sort((a, b) => a.architecture.localeCompare(b.architecture));
  }

  /** The rollout of a channel: its release per architecture, progressive state and what devices did. */
  async status(actor: Actor, target: SnapTarget, input: { channel: string }): Promise<RolloutStatus> {
    const { snap } = this.publishing.authorizeSnap(actor, target, READ_ROLES);
    const channel = this.parse(snap, input.channel);
    return this.statusOf(snap, channel, await this.channelReleases(snap, channel));
  }

  private async statusOf(snap: Snap, channel: Channel, rels: readonly Release[]): Promise<RolloutStatus> {
    const ids = rels.map((r) => r.releaseId!);
    const counts = await releaseCounts(this.db, [...ids, ...rels.flatMap((r) => (r.rollbackOf ? [r.rollbackOf] : []))]);
    const releases: RolloutRelease[] = [];
    for (const r of rels) {
      const c = counts.get(r.releaseId!) ?? { seen: 0, offered: 0, took: 0, failed: 0 };
      let rollback: RolloutRelease['rollback'] = null;
      if (r.rollbackOf) {
        // Devices that had taken the rolled-back release, and of those the ones that report this revision again.
        const back = await this.db
          .selectFrom('store_rollout_devices as old')
          .innerJoin('store_rollout_devices as now', (j) => j.onRef('now.brand_id', '=', 'old.brand_id').onRef('now.model', '=', 'old.model').onRef('now.serial', '=', 'old.serial'))
          .select((eb) => eb.fn.countAll().as('n'))
          .where('old.release_id', '=', r.rollbackOf)
          .where('old.took_at', 'is not', null)
          .where('now.release_id', '=', r.releaseId!)
          .where('now.reported_revision', '=', r.revision)
          .executeTakeFirst();
        rollback = { of: r.rollbackOf, tookRolledBack: counts.get(r.rollbackOf)?.took ?? 0, back: Number(back?.n ?? 0) };
      }
      releases.push({
        architecture: r.architecture,
        releaseId: r.releaseId!,
        revision: r.revision,
        previousRevision: r.previousRevision ?? null,
        progressive: { percentage: r.progressivePercentage, paused: r.paused ?? false, 'current-percentage': c.seen === 0 ? 0 : Math.round((c.took / c.seen) * 1000) / 10 },
        health: r.health ?? null,
        pausedReason: r.pausedReason ?? null,
        plan: r.plan ? this.planOf(r, c) : null,
        groups: [...(r.groups ?? [])],
        channelWindows: r.channelWindows?.length ? formatWindows(r.channelWindows) : null,
        releasedAt: r.releasedAt.toISOString(),
        devices: c,
        rollback,
      });
    }
    return { snap: snap.name, channel: fullChannelName(channel), releases };
  }

  private planOf(r: Release, c: ReleaseCounts): NonNullable<RolloutRelease['plan']> {
    const p = r.plan!;
    const v = evaluateStep(p.plan, p.step, p.startedAt, r.paused ?? false, c, this.ctx.now());
    return { steps: p.plan.steps, windows: p.plan.windows.length ? formatWindows(p.plan.windows) : null, step: p.step + 1, of: p.plan.steps.length, stepStartedAt: p.startedAt.toISOString(), state: v.state, explanation: explainVerdict(p.plan, v) };
  }

  /**
   * Advances the channel's plan to its next step, on every architecture
   * whose release follows one: a person's go (an approval step, or before
   * the soak time or success threshold). Refused when paused (resume
   * first), without a plan, or at the last step.
   */
  async advance(actor: Actor, target: SnapTarget, input: RolloutBodyInput): Promise<RolloutStatus> {
    const { snap } = this.publishing.authorizeSnap(actor, target, PUBLISH_ROLES);
    const channel = this.parse(snap, input.channel);
    const rels = await this.channelReleases(snap, channel);
    const planned = rels.filter((r) => r.plan);
    const where = `${fullChannelName(channel)} of ${snap.name}`;
    if (planned.length === 0) throw new StoreError('rollout-conflict', `the release of ${where} follows no plan (release it with --plan)`);
    if (planned.some((r) => r.paused)) throw new StoreError('rollout-conflict', `the rollout of ${where} is paused: resume it first`);
    const movable = planned.filter((r) => r.plan!.step < r.plan!.plan.steps.length - 1);
    if (movable.length === 0) throw new StoreError('rollout-conflict', `the plan of ${where} is at its last step`);
    const now = this.ctx.now();
    for (const r of movable) await this.plans.advance({ releaseId: r.releaseId!, plan: r.plan!, paused: false }, r.plan!.step + 1, now, actor, { state: 'by-hand' });
    return this.statusOf(snap, channel, await this.channelReleases(snap, channel));
  }

  /**
   * Sets a channel's maintenance windows (every architecture, every release
   * made there; [] removes them): outside them devices are offered nothing new.
   */
  async setWindows(actor: Actor, target: SnapTarget, input: { channel: string; windows: unknown[] }): Promise<RolloutStatus> {
    const { snap } = this.publishing.authorizeSnap(actor, target, PUBLISH_ROLES);
    const channel = this.parse(snap, input.channel);
    let windows: MaintenanceWindow[];
    try {
      windows = input.windows.map(parseWindow);
    } catch (err) {
      if (err instanceof WindowError) throw new StoreError('validation-failed', `invalid maintenance window: ${err.message}`);
      throw err;
    }
    const key = { snap_id: snap.snapId, track: channel.track, risk: channel.risk, branch: channel.branch };
    await this.db.deleteFrom('store_channel_windows').where('snap_id', '=', key.snap_id).where('track', '=', key.track).where('risk', '=', key.risk).where('branch', '=', key.branch).execute();
    if (windows.length) await this.db.insertInto('store_channel_windows').values({ ...key, windows: JSON.stringify(windows), updated_at: toDbTime(this.ctx.now()) }).execute();
    this.catalog.invalidate();
    this.facts.forget();
    await audit(this.ctx, actor, { action: 'store.rollout.windows', target: `${snap.name}/${fullChannelName(channel)}`, accountId: snap.publisherId, details: { windows: windows.length ? formatWindows(windows) : null } });
    // Windows may be set before anything is released there.
    const rels = await this.channelReleases(snap, channel).catch((err: unknown) => {
      if (err instanceof StoreError && err.code === 'rollout-not-found') return [];
      throw err;
    });
    return this.statusOf(snap, channel, rels);
  }

  /** Pauses the channel's rollout: only the devices already offered its revision keep being offered it. */
  pause(actor: Actor, target: SnapTarget, input: RolloutBodyInput): Promise<RolloutStatus> {
    return this.setPaused(actor, target, input, true);
  }

  /** Resumes a paused rollout: its percentage decides again. */
  resume(actor: Actor, target: SnapTarget, input: RolloutBodyInput): Promise<RolloutStatus> {
    return this.setPaused(actor, target, input, false);
  }

  /** Releases made before update control cannot be paused or rolled back: their previous revision is unknown. */
  private refuseLegacy(snap: Snap, channel: Channel, rels: readonly Release[]): void {
    if (rels.some((r) => r.releaseId!.startsWith(LEGACY_RELEASE))) {
      throw new StoreError('rollout-conflict', `${fullChannelName(channel)} of ${snap.name} was released before update control (its previous revision is unknown): release it again first`);
    }
  }

  private async setPaused(actor: Actor, target: SnapTarget, input: RolloutBodyInput, paused: boolean): Promise<RolloutStatus> {
    const { snap } = this.publishing.authorizeSnap(actor, target, PUBLISH_ROLES);
    const channel = this.parse(snap, input.channel);
    const rels = await this.channelReleases(snap, channel);
    this.refuseLegacy(snap, channel, rels);
    const changing = rels.filter((r) => (r.paused ?? false) !== paused);
    if (changing.length === 0) throw new StoreError('rollout-conflict', `the rollout of ${fullChannelName(channel)} of ${snap.name} is ${paused ? 'already paused' : 'not paused'}`);
    const ids = changing.map((r) => r.releaseId!);
    await this.db
      .updateTable('store_releases')
      .set({ paused: paused ? 1 : 0, paused_reason: null })
      .where('snap_id', '=', snap.snapId)
      .where('track', '=', channel.track)
      .where('risk', '=', channel.risk)
      .where('branch', '=', channel.branch)
      .where('release_id', 'in', ids)
      .execute();
    this.catalog.invalidate();
    this.facts.forget();
    await audit(this.ctx, actor, {
      action: paused ? 'store.rollout.pause' : 'store.rollout.resume',
      target: `${snap.name}/${fullChannelName(channel)}`,
      accountId: snap.publisherId,
      details: { releases: changing.map((r) => ({ architecture: r.architecture, releaseId: r.releaseId, revision: r.revision, percentage: r.progressivePercentage })) },
    });
    return this.statusOf(snap, channel, await this.channelReleases(snap, channel));
  }

  /**
   * Rolls the channel back: each architecture's previous revision is released
   * again to every device (a new release that records the one it rolls back),
   * so the devices that took the new revision are offered the previous one,
   * which snapd installs; where nothing was released before, the channel is
   * closed and follows the next more stable risk as it did.
   */
  async rollback(actor: Actor, target: SnapTarget, input: RolloutBodyInput): Promise<RolloutStatus> {
    const { snap } = this.publishing.authorizeSnap(actor, target, PUBLISH_ROLES);
    const channel = this.parse(snap, input.channel);
    const rels = await this.channelReleases(snap, channel);
    this.refuseLegacy(snap, channel, rels);
    const again = rels.find((r) => r.rollbackOf);
    if (again) throw new StoreError('rollout-conflict', `${fullChannelName(channel)} of ${snap.name} serves a rollback already (of release ${again.rollbackOf}); release a revision to go on`);
    const now = this.ctx.now();
    const who = historyActor(actor);
    // "all" first: releasing it replaces every architecture's row of the channel.
    const ordered = [...rels].sort((a, b) => (a.architecture === 'all' ? -1 : b.architecture === 'all' ? 1 : 0));
    const done: { architecture: string; releaseId: string; from: number; to: number | null }[] = [];
    await this.ctx.db.transaction(async (trx) => {
      const t = trx.withTables<StoreOwnTables>();
      for (const r of ordered) {
        if (r.previousRevision === null || r.previousRevision === undefined) {
          await t.deleteFrom('store_releases').where('snap_id', '=', snap.snapId).where('architecture', '=', r.architecture).where('track', '=', r.track).where('risk', '=', r.risk).where('branch', '=', r.branch).execute();
          await t.insertInto('store_release_history').values({ snap_id: snap.snapId, architecture: r.architecture, channel: channelName(r), revision: null, progressive_percentage: null, actor: who, at: toDbTime(now), release_id: null }).execute();
          done.push({ architecture: r.architecture, releaseId: r.releaseId!, from: r.revision, to: null });
        } else {
          await releaseIn(t, snap, { revision: r.previousRevision, architectures: [r.architecture] }, [channel], null, who, now, { rollbackOf: r.releaseId! });
          done.push({ architecture: r.architecture, releaseId: r.releaseId!, from: r.revision, to: r.previousRevision });
        }
      }
    });
    this.catalog.invalidate();
    this.facts.forget();
    await audit(this.ctx, actor, { action: 'store.rollout.rollback', target: `${snap.name}/${fullChannelName(channel)}`, accountId: snap.publisherId, details: { releases: done } });
    const after = ((await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? []).filter((r) => r.track === channel.track && r.risk === channel.risk && r.branch === channel.branch);
    return this.statusOf(snap, channel, after);
  }

  /**
   * Which rule gives which revision of a channel to the device with this
   * serial (on each architecture the snap is released for, or the one
   * asked): the pure `decide` of the refresh path, with the facts the store
   * kept (what the device last reported is taken as installed). The device
   * is found among the sessions and facts of the stores that see the snap.
   */
  async why(actor: Actor, target: SnapTarget, input: WhyQueryInput): Promise<WhyResult> {
    const { snap } = this.publishing.authorizeSnap(actor, target, READ_ROLES);
    const channel = this.parse(snap, input.channel);
    const found = await this.findDevice(snap, input.serial, input.model);
    const device = found ? { brand: found.brand, model: found.model, serial: found.serial } : null;
    const groups = found ? this.catalog.heldGroups(found.storeId) : undefined;
    const matcher = found && groups ? (groups instanceof Promise ? await groups : groups) : undefined;
    const labels = found && device && matcher?.usesLabels ? await deviceLabels(this.db, found.storeId, device) : undefined;
    const heldBy = found ? matcher?.match(found.model, found.serial, labels) : undefined;
    const memberOf = found && matcher ? matcher.memberOf(found.model, found.serial, labels) : [];
    const now = this.ctx.now();
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    const arches = input.architecture ? [input.architecture] : [...new Set(rels.map((r) => r.architecture))].sort();
    const resolved = arches.map((arch) => ({ arch, r: resolveChannel(rels, arch, channel, now) }));
    const facts = device ? await deviceFacts(this.db, device, resolved.flatMap(({ r }) => (r?.release.releaseId ? [r.release.releaseId] : []))) : new Map();
    const answers: WhyAnswer[] = resolved.map(({ arch, r }) => {
      if (!r) return { architecture: arch, effectiveChannel: null, releaseId: null, revision: null, reason: { rule: 'channel-empty' }, explanation: `nothing: nothing is released to ${fullChannelName(channel)} (or a channel it follows) for ${arch}`, facts: null };
      const cr = channelRelease(r.release, snap.snapId, rels, arch, channel, now) ?? plainRelease(r.release, snap.snapId);
      const f = facts.get(cr.releaseId);
      const decision = decide(cr, device ?? undefined, f, { installedRevision: f?.reportedRevision ?? undefined, heldBy, groups: memberOf, now });
      return {
        architecture: arch,
        effectiveChannel: r.effectiveChannel,
        releaseId: cr.releaseId,
        revision: decision.revision,
        reason: decision.reason,
        explanation: explain(cr, decision),
        facts: f ? { offered: f.offered, took: f.took, reportedRevision: f.reportedRevision } : null,
      };
    });
    return { snap: snap.name, channel: fullChannelName(channel), device, heldBy: heldBy ?? null, answers };
  }

  /** The device a serial names in the stores that see the snap: its latest session, else the facts kept of it. */
  private async findDevice(snap: Snap, serial: string, model: string | undefined): Promise<(DeviceIdentity & { storeId: string }) | null> {
    const stores = [...(await this.catalog.allStores()).values()].filter((s) => s.storeId === snap.storeId || s.includes.includes(snap.storeId)).map((s) => s.storeId);
    let q = this.db.selectFrom('store_sessions').select(['brand_id', 'model', 'store_id']).where('serial', '=', serial).where('store_id', 'in', stores);
    if (model) q = q.where('model', '=', model);
    const s = await q.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (s) return { brand: s.brand_id, model: s.model, serial, storeId: s.store_id };
    let f = this.db.selectFrom('store_rollout_devices').select(['brand_id', 'model']).where('serial', '=', serial).where('snap_id', '=', snap.snapId);
    if (model) f = f.where('model', '=', model);
    const row = await f.orderBy('first_seen_at', 'desc').limit(1).executeTakeFirst();
    return row ? { brand: row.brand_id, model: row.model, serial, storeId: snap.storeId } : null;
  }

  // --- device groups -----------------------------------------------------------

  /** A store's device groups (readers of its brand). */
  async groups(actor: Actor, target: StoreTarget): Promise<{ groups: DeviceGroup[] }> {
    const store = this.publishing.authorizeStore(actor, target, READ_ROLES);
    return { groups: await groupsOf(this.db, store.storeId) };
  }

  /** Creates a device group of a store: by models, serials and a serial pattern (publishers of its brand). */
  async createGroup(actor: Actor, target: StoreTarget, input: GroupInput): Promise<{ group: DeviceGroup }> {
    const store = this.publishing.authorizeStore(actor, target, PUBLISH_ROLES);
    const now = toDbTime(this.ctx.now());
    const labels = uniq(input.labels);
    const row = { store_id: store.storeId, name: input.name, models: JSON.stringify(uniq(input.models)), serials: JSON.stringify(uniq(input.serials)), serial_pattern: input.serialPattern ?? null, labels: labels.length ? JSON.stringify(labels) : null, held: 0, created_at: now, updated_at: now };
    try {
      await this.db.insertInto('store_device_groups').values(row).execute();
    } catch (err) {
      if (err instanceof ConflictError) throw new StoreError('group-exists', `store ${store.storeId} already has a device group ${input.name}`);
      throw err;
    }
    await audit(this.ctx, actor, { action: 'store.group.create', target: `${store.storeId}/${input.name}`, accountId: store.brandId, details: { models: input.models ?? [], serials: input.serials?.length ?? 0, serialPattern: input.serialPattern ?? null, labels } });
    return { group: toDeviceGroup(row) };
  }

  /** Adds models and serials to a group. */
  async addToGroup(actor: Actor, target: StoreTarget, name: string, input: GroupMembersInput): Promise<{ group: DeviceGroup }> {
    const { store, group } = await this.groupOf(actor, target, name);
    const models = uniq([...group.models, ...(input.models ?? [])]);
    const serials = uniq([...group.serials, ...(input.serials ?? [])]);
    const labels = uniq([...group.labels, ...(input.labels ?? [])]);
    if (labels.length > MAX_DEVICE_LABELS) throw new StoreError('validation-failed', `a device group takes at most ${MAX_DEVICE_LABELS} labels`);
    if (serials.length > MAX_GROUP_SERIALS) throw new StoreError('validation-failed', `a device group holds at most ${MAX_GROUP_SERIALS} serials (use a serial pattern or models)`);
    await this.db
      .updateTable('store_device_groups')
      .set({ models: JSON.stringify(models), serials: JSON.stringify(serials), labels: labels.length ? JSON.stringify(labels) : null, updated_at: toDbTime(this.ctx.now()) })
      .where('store_id', '=', store.storeId)
      .where('name', '=', name)
      .execute();
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.group.add', target: `${store.storeId}/${name}`, accountId: store.brandId, details: { models: input.models ?? [], serials: input.serials?.length ?? 0, labels: input.labels ?? [] } });
    return { group: (await this.groupOf(actor, target, name)).group };
  }

  /** Holds a group (its devices are offered nothing new, from any snap of the store) or releases the hold. */
  async holdGroup(actor: Actor, target: StoreTarget, name: string, held: boolean): Promise<{ group: DeviceGroup }> {
    const { store, group } = await this.groupOf(actor, target, name);
    if (group.held === held) throw new StoreError('rollout-conflict', `device group ${name} is ${held ? 'already held' : 'not held'}`);
    await this.db
      .updateTable('store_device_groups')
      .set({ held: held ? 1 : 0, updated_at: toDbTime(this.ctx.now()) })
      .where('store_id', '=', store.storeId)
      .where('name', '=', name)
      .execute();
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: held ? 'store.group.hold' : 'store.group.unhold', target: `${store.storeId}/${name}`, accountId: store.brandId });
    return { group: { ...group, held } };
  }

  /**
   * Sets the labels of one device of a store (publishers of its brand),
   * replacing those it had; an empty list removes them. The brand is the
   * store's unless named (a store may serve other brands' models).
   */
  async setDeviceLabels(actor: Actor, target: StoreTarget, input: DeviceLabelsInput): Promise<{ device: DeviceLabels }> {
    const store = this.publishing.authorizeStore(actor, target, PUBLISH_ROLES);
    const brand = input.brand ?? store.brandId;
    const labels = uniq(input.labels);
    const key = { store_id: store.storeId, brand_id: brand, model: input.model, serial: input.serial };
    const now = toDbTime(this.ctx.now());
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('store_device_labels').where('store_id', '=', key.store_id).where('brand_id', '=', brand).where('model', '=', input.model).where('serial', '=', input.serial).execute();
      if (labels.length) await tx.insertInto('store_device_labels').values({ ...key, labels: JSON.stringify(labels), updated_at: now }).execute();
    });
    this.catalog.invalidate();
    await audit(this.ctx, actor, { action: 'store.device.labels', target: `${store.storeId}/${brand}/${input.model}/${input.serial}`, accountId: store.brandId, details: { labels } });
    return { device: { brand, model: input.model, serial: input.serial, labels, updatedAt: labels.length ? now : null } };
  }

  /** A store's labelled devices (readers of its brand), by serial, paged (`after`: the last serial of the page before). */
  async deviceLabels(actor: Actor, target: StoreTarget, q: DeviceLabelsQueryInput): Promise<{ devices: DeviceLabels[]; next: string | null }> {
    const store = this.publishing.authorizeStore(actor, target, READ_ROLES);
    const limit = q.limit ?? 100;
    let query = this.db.selectFrom('store_device_labels').selectAll().where('store_id', '=', store.storeId);
    if (q.serial) query = query.where('serial', '=', q.serial);
    // The stored JSON array holds the label quoted; '_' would be LIKE's any-character.
    if (q.label) query = query.where(sql<boolean>`labels like ${`%${JSON.stringify(q.label).replace(/_/g, '\\_')}%`} escape '\\'`);
    if (q.after) {
      const [serial, model, brand] = decodeCursor(q.after);
      query = query.where((eb) => eb.or([eb('serial', '>', serial), eb.and([eb('serial', '=', serial), eb.or([eb('model', '>', model), eb.and([eb('model', '=', model), eb('brand_id', '>', brand)])])])]));
    }
    const rows = await query.orderBy('serial').orderBy('model').orderBy('brand_id').limit(limit + 1).execute();
    const devices = rows.slice(0, limit).map((r) => ({ brand: r.brand_id, model: r.model, serial: r.serial, labels: JSON.parse(r.labels) as string[], updatedAt: r.updated_at as string | null }));
    const last = devices.at(-1);
    return { devices, next: rows.length > limit && last ? Buffer.from(JSON.stringify([last.serial, last.model, last.brand])).toString('base64url') : null };
  }

  private async groupOf(actor: Actor, target: StoreTarget, name: string): Promise<{ store: Store; group: DeviceGroup }> {
    const store = this.publishing.authorizeStore(actor, target, PUBLISH_ROLES);
    const row = await this.db.selectFrom('store_device_groups').selectAll().where('store_id', '=', store.storeId).where('name', '=', name).executeTakeFirst();
    if (!row) throw new StoreError('group-not-found', `store ${store.storeId} has no device group ${JSON.stringify(name)}`);
    return { store, group: toDeviceGroup(row) };
  }
}
