// Health of a rollout from what devices report (update control,
// docs/update-control.md): a release may say after how many check-ins a
// device offered its revision and still reporting another counts as failed,
// and at what share of failed devices (with a minimum of devices offered) the
// rollout pauses by itself; why it paused is kept. Per device: the check-ins
// at which it was offered the revision and reported another, and when it
// was counted as failed.
import type { Migration } from '../../platform/db/index.ts';

export const rolloutHealth: Migration = {
  name: '0006-rollout-health',
  async up(db) {
    await db.schema.alterTable('store_releases').addColumn('fail_after_checkins', 'integer').execute();
    await db.schema.alterTable('store_releases').addColumn('error_threshold', 'integer').execute();
    await db.schema.alterTable('store_releases').addColumn('min_devices', 'integer').execute();
    await db.schema.alterTable('store_releases').addColumn('paused_reason', 'text').execute();
    await db.schema.alterTable('store_rollout_devices').addColumn('checkins_after_offer', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('store_rollout_devices').addColumn('failed_at', 'text').execute();
  },
};
