// Rollout plans in the store (docs/update-control.md): after check-ins that
// touch a release following a plan, the pure `evaluateStep` is given what the
// store measured (devices offered, running the revision, failed) and the
// service clock; the store acts on its verdict: advance to the next step
// (percentage and groups of that step, its error threshold) or pause by
// itself at the error threshold. A person advances an approval step with
// `rollout advance`. Every change is in the audit log and the metrics.
import { atStep, evaluateStep, type PlanVerdict } from '../rollout/index.ts';
import { audit, type Actor, type PlatformContext } from '../platform/context.ts';
import { toDbTime } from '../platform/db/index.ts';
import type { Catalog } from './catalog.repo.ts';
import type { ReleasePlan } from './channels.ts';
import { rolloutMetrics } from './rollout-metrics.ts';
import { releaseCounts, type FactRecorder } from './rollouts.ts';
import type { StoreDb } from './store.repo.ts';

/** A release following a plan, as the refresh path saw it. */
export interface PlannedRelease {
  readonly releaseId: string;
  readonly plan: ReleasePlan;
  readonly paused: boolean;
}

/** How often (service clock) a process looks at one release's plan after check-ins. */
export const PLAN_CHECK_MS = 1000;
const UPDATE_CONTROL: Actor = { principal: undefined, ip: '', requestId: '', origin: 'update-control' };

export class PlanDriver {
  private checked = new Map<string, number>();
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
    private readonly facts: FactRecorder,
  ) {}

  /**
   * After a check-in: each release's plan at most once per PLAN_CHECK_MS of
   * the service clock and process; undefined when none is due (no promise on
   * the usual refresh).
   */
  afterCheckIn(releases: readonly PlannedRelease[], now: Date): Promise<void> | undefined {
    let due: PlannedRelease[] | undefined;
    for (const r of releases) {
      const last = this.checked.get(r.releaseId);
      if (last !== undefined && now.getTime() - last < PLAN_CHECK_MS) continue;
      if (this.checked.size > 10_000) this.checked.clear();
      this.checked.set(r.releaseId, now.getTime());
      (due ??= []).push(r);
    }
    return due && this.actOn(due, now);
  }

  private async actOn(releases: readonly PlannedRelease[], now: Date): Promise<void> {
    for (const r of releases) await this.act(r, now);
  }

  /** The plan's verdict from the counts the store keeps. */
  async verdict(r: PlannedRelease, now: Date): Promise<PlanVerdict> {
    const c = (await releaseCounts(this.db, [r.releaseId])).get(r.releaseId) ?? { seen: 0, offered: 0, took: 0, failed: 0 };
    return evaluateStep(r.plan.plan, r.plan.step, r.plan.startedAt, r.paused, c, now);
  }

  private async act(r: PlannedRelease, now: Date): Promise<void> {
    const v = await this.verdict(r, now);
    if (v.state === 'advance') await this.advance(r, v.to, now, UPDATE_CONTROL, v);
    else if (v.state === 'halt') await this.halt(r.releaseId, v.reason, now);
  }

  /**
   * Moves the release to step `to`: that step's percentage and groups (only
   * adding devices: same release id, same buckets) and error threshold. Only
   * from the step it was at and not paused, so two processes cannot both
   * advance it. Returns whether it moved.
   */
  async advance(r: PlannedRelease, to: number, now: Date, actor: Actor, verdict: PlanVerdict | { state: 'by-hand' }): Promise<boolean> {
    const plan = r.plan.plan;
    const next = atStep(plan, to);
    const step = plan.steps[to]!;
    const res = await this.db
      .updateTable('store_releases')
      .set({
        progressive_percentage: next.percentage >= 100 ? 100 : next.percentage,
        target_groups: next.groups.length ? JSON.stringify(next.groups) : null,
        plan_step: to,
        step_started_at: toDbTime(now),
        error_threshold: step.errorThreshold,
        min_devices: step.minDevices,
      })
      .where('release_id', '=', r.releaseId)
      .where('plan_step', '=', r.plan.step)
      .where('paused', '=', 0)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    this.catalog.invalidate();
    this.facts.forget();
    rolloutMetrics(this.ctx.metrics.registry).events.inc({ event: 'advance' });
    const snap = await this.snapOf(r.releaseId);
    await audit(this.ctx, actor, {
      action: 'store.rollout.advance',
      target: r.releaseId,
      ...(snap ? { accountId: snap.publisher_id } : {}),
      details: { snap: snap?.name ?? null, from: r.plan.step + 1, to: to + 1, steps: plan.steps.length, percentage: next.percentage, groups: next.groups, verdict: verdict.state, at: now.toISOString() },
    });
    return true;
  }

  /** Pauses the release by itself (health): nobody new is offered the revision; the reason is kept. */
  async halt(releaseId: string, reason: string, now: Date): Promise<boolean> {
    const res = await this.db.updateTable('store_releases').set({ paused: 1, paused_reason: reason }).where('release_id', '=', releaseId).where('paused', '=', 0).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) return false;
    this.catalog.invalidate();
    this.facts.forget();
    rolloutMetrics(this.ctx.metrics.registry).events.inc({ event: 'auto-pause' });
    const snap = await this.snapOf(releaseId);
    await audit(this.ctx, UPDATE_CONTROL, { action: 'store.rollout.auto-pause', target: releaseId, ...(snap ? { accountId: snap.publisher_id } : {}), details: { snap: snap?.name ?? null, reason, at: now.toISOString() } });
    return true;
  }

  private snapOf(releaseId: string) {
    return this.db.selectFrom('store_releases as r').innerJoin('store_snaps as s', 's.snap_id', 'r.snap_id').select(['s.name', 's.publisher_id']).where('r.release_id', '=', releaseId).executeTakeFirst();
  }
}
