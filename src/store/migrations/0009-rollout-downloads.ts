// Downloads per device (update control, docs/update-control.md): when a
// device with a session first downloaded a release's revision, to tell a
// device that has not tried it yet from one that tried and reverted (only
// the latter counts as failed).
import type { Migration } from '../../platform/db/index.ts';

export const rolloutDownloads: Migration = {
  name: '0009-rollout-downloads',
  async up(db) {
    await db.schema.alterTable('store_rollout_devices').addColumn('downloaded_at', 'text').execute();
  },
};
