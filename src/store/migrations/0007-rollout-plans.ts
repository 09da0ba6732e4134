// Rollout plans and group targets (update control, docs/update-control.md):
// a release may follow a plan (steps, soak times, thresholds, windows; the
// normalised plan as JSON), the step it is at and since when; and it may
// target device groups, whose devices are offered its revision whatever
// their bucket.
import type { Migration } from '../../platform/db/index.ts';

export const rolloutPlans: Migration = {
  name: '0007-rollout-plans',
  async up(db) {
    await db.schema.alterTable('store_releases').addColumn('plan', 'text').execute();
    await db.schema.alterTable('store_releases').addColumn('plan_step', 'integer').execute();
    await db.schema.alterTable('store_releases').addColumn('step_started_at', 'text').execute();
    await db.schema.alterTable('store_releases').addColumn('target_groups', 'text').execute();
  },
};
