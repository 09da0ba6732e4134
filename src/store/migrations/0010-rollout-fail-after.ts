// Health after a time (update control, docs/update-control.md): a device
// that downloaded a release's revision and still reports another this many
// seconds after the download has failed (as after the number of check-ins,
// whichever comes first).
import type { Migration } from '../../platform/db/index.ts';

export const rolloutFailAfter: Migration = {
  name: '0010-rollout-fail-after',
  async up(db) {
    await db.schema.alterTable('store_releases').addColumn('fail_after_seconds', 'integer').execute();
  },
};
