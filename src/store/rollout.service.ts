// Update control in the store (docs/update-control.md): the state of a
// channel's rollout (progressive percentage, paused, what devices did),
// pause, resume and roll back, and `why`: which rule gives which revision
// to one device, from the same pure `decide` the refresh path calls.
// Who may do which: reading like `snapline status` (READ_ROLES on the
// publisher or a collaborator account), changing like `snapline release`
// (PUBLISH_ROLES). Every change is in the audit log.
import { ChannelError, fullChannelName, type Channel } from '../channel/channel.ts';
import { audit, type Actor } from '../platform/context.ts';
import type { PlatformContext } from '../platform/context.ts';
import { toDbTime } from '../platform/db/index.ts';
import { decide, explain, type DeviceIdentity, type Reason } from '../rollout/index.ts';
import type { Catalog } from './catalog.repo.ts';
import { parseStoreChannel, resolveChannel, type Release } from './channels.ts';
import { releaseIn, PUBLISH_ROLES, READ_ROLES, type PublishingService, type SnapTarget } from './publishing.service.ts';
import { channelRelease, deviceFacts, releaseCounts, type FactRecorder, type ReleaseCounts } from './rollouts.ts';
import { StoreError } from './store.errors.ts';
import { LEGACY_RELEASE, releasesOf, type Snap, type StoreDb } from './store.repo.ts';
import type { RolloutBodyInput, WhyQueryInput } from './store.schemas.ts';
import type { StoreOwnTables } from './store.tables.ts';

/** One architecture's release in a channel, as `rollout status` shows it. */
export interface RolloutRelease {
  architecture: string;
  releaseId: string;
  revision: number;
  /** What devices outside the release keep (null: what the channel follows, or nothing). */
  previousRevision: number | null;
  progressive: { percentage: number | null; paused: boolean; 'current-percentage': number };
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
  answers: WhyAnswer[];
}

const historyActor = (actor: Actor) => (actor.principal ? `user:${actor.principal.username}` : 'anonymous');
const channelName = (r: Release) => fullChannelName({ track: r.track, risk: r.risk, branch: r.branch } as Channel);

export class RolloutService {
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
    private readonly publishing: PublishingService,
    private readonly facts: FactRecorder,
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
      const c = counts.get(r.releaseId!) ?? { seen: 0, offered: 0, took: 0 };
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
        releasedAt: r.releasedAt.toISOString(),
        devices: c,
        rollback,
      });
    }
    return { snap: snap.name, channel: fullChannelName(channel), releases };
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
      .set({ paused: paused ? 1 : 0 })
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
    const device = await this.findDevice(snap, input.serial, input.model);
    const now = this.ctx.now();
    const rels = (await releasesOf(this.db, [snap.snapId])).get(snap.snapId) ?? [];
    const arches = input.architecture ? [input.architecture] : [...new Set(rels.map((r) => r.architecture))].sort();
    const resolved = arches.map((arch) => ({ arch, r: resolveChannel(rels, arch, channel, now) }));
    const facts = device ? await deviceFacts(this.db, device, resolved.flatMap(({ r }) => (r?.release.releaseId ? [r.release.releaseId] : []))) : new Map();
    const answers: WhyAnswer[] = resolved.map(({ arch, r }) => {
      if (!r) return { architecture: arch, effectiveChannel: null, releaseId: null, revision: null, reason: { rule: 'channel-empty' }, explanation: `nothing: nothing is released to ${fullChannelName(channel)} (or a channel it follows) for ${arch}`, facts: null };
      const cr = channelRelease(r.release, snap.snapId, rels, arch, channel, now) ?? {
        snapId: snap.snapId,
        releaseId: r.release.releaseId!,
        revision: r.release.revision,
        previousRevision: null,
        percentage: null,
        paused: false,
      };
      const f = facts.get(cr.releaseId);
      const decision = decide(cr, device ?? undefined, f, { installedRevision: f?.reportedRevision ?? undefined });
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
    return { snap: snap.name, channel: fullChannelName(channel), device, answers };
  }

  /** The device a serial names in the stores that see the snap: its latest session, else the facts kept of it. */
  private async findDevice(snap: Snap, serial: string, model: string | undefined): Promise<DeviceIdentity | null> {
    const stores = [...(await this.catalog.allStores()).values()].filter((s) => s.storeId === snap.storeId || s.includes.includes(snap.storeId)).map((s) => s.storeId);
    let q = this.db.selectFrom('store_sessions').select(['brand_id', 'model']).where('serial', '=', serial).where('store_id', 'in', stores);
    if (model) q = q.where('model', '=', model);
    const s = await q.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (s) return { brand: s.brand_id, model: s.model, serial };
    let f = this.db.selectFrom('store_rollout_devices').select(['brand_id', 'model']).where('serial', '=', serial).where('snap_id', '=', snap.snapId);
    if (model) f = f.where('model', '=', model);
    const row = await f.orderBy('first_seen_at', 'desc').limit(1).executeTakeFirst();
    return row ? { brand: row.brand_id, model: row.model, serial } : null;
  }
}
