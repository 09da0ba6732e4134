// The brand store's rules, for every caller: the HTTP routes (device,
// publisher and cohort routes translate requests into these calls), and
// later update control, the web console and the device agent. Inputs are
// plain values (the route schemas' types, Buffers, Readables, a
// `DeviceContext` for what a device's headers say, an `Actor` for who asks);
// failures are StoreErrors with codes from the error catalog.
import type { PlatformContext } from '../platform/context.ts';
import { BLOB_SWEEP_DEFAULTS } from '../platform/config.ts';
import { sweepOrphanBlobs, type SweepResult } from './blob-sweep.ts';
import { ApprovalService } from './approvals.service.ts';
import { ValidationSetService } from './validation-sets.service.ts';
import { GatingService } from './gating.service.ts';
import { Catalog } from './catalog.repo.ts';
import { CohortKeys } from './cohort-keys.ts';
import { PublishingService } from './publishing.service.ts';
import { RolloutService } from './rollout.service.ts';
import { SessionsService } from './sessions.service.ts';
import { SnapActionService } from './snap-action.service.ts';
import type { StoreOwnTables } from './store.tables.ts';

export class StoreService {
  /** Stores, registration, uploads, releases, collaborators (the publisher API). */
  readonly publishing: PublishingService;
  /** Nonces, device sessions, and who a device request is. */
  readonly sessions: SessionsService;
  /** Snap actions, info, find, assertions, downloads and cohorts (the device API). */
  readonly devices: SnapActionService;
  /** Update control: rollout status, pause, resume, rollback and why. */
  readonly rollouts: RolloutService;
  /** Update control: controlled channels and release requests (approve, deny). */
  readonly approvals: ApprovalService;
  /** Update control: validation sets pushed, checked and listed. */
  readonly validationSets: ValidationSetService;
  /** Update control: refresh-control in snap-declarations and validations (classic gating). */
  readonly gating: GatingService;
  /** The per-process read caches of the device API (invalidated by this process's writes). */
  readonly catalog: Catalog;

  private readonly sweepDb;

  constructor(private readonly ctx: PlatformContext) {
    const db = ctx.db.kysely.withTables<StoreOwnTables>();
    this.sweepDb = db;
    this.catalog = new Catalog(db);
    this.publishing = new PublishingService(ctx, db, this.catalog);
    this.sessions = new SessionsService(ctx, db, this.catalog);
    this.devices = new SnapActionService(ctx, db, this.catalog, new CohortKeys(ctx.root.storeSigner));
    this.rollouts = new RolloutService(ctx, db, this.catalog, this.publishing, this.devices.facts, this.devices.plans);
    this.approvals = new ApprovalService(ctx, db, this.publishing);
    this.validationSets = new ValidationSetService(ctx, db);
    this.gating = new GatingService(ctx, db, this.catalog, this.publishing);
  }

  /**
   * Removes stored blobs that no revision references once they are older
   * than the grace period (config `blobs.orphanGraceMs`): what an upload
   * killed between storing its file and committing its revision leaves.
   */
  sweepOrphanBlobs(graceMs = this.ctx.config.blobs?.orphanGraceMs ?? BLOB_SWEEP_DEFAULTS.orphanGraceMs): Promise<SweepResult> {
    return sweepOrphanBlobs(this.sweepDb, this.ctx.blobs, { graceMs, now: this.ctx.now() });
  }
}
