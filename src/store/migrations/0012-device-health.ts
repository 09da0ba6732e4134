// Explicit health reports (update control, docs/update-control.md): a device
// (its session) may say that a release's revision it runs is unhealthy; such
// a device counts as failed, even though it took the revision.
import type { Migration } from '../../platform/db/index.ts';

export const deviceHealth: Migration = {
  name: '0012-device-health',
  async up(db) {
    await db.schema.alterTable('store_rollout_devices').addColumn('unhealthy_at', 'text').execute();
    await db.schema.alterTable('store_rollout_devices').addColumn('health_message', 'text').execute();
  },
};
