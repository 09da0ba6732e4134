// Maintenance windows per channel (update control, docs/update-control.md):
// when devices tracking a snap's channel are offered a new revision, for
// every release made there (a plan's own windows win over them).
import type { Migration } from '../../platform/db/index.ts';

export const channelWindows: Migration = {
  name: '0011-channel-windows',
  async up(db) {
    await db.schema
      .createTable('store_channel_windows')
      .addColumn('snap_id', 'text', (c) => c.notNull())
      .addColumn('track', 'text', (c) => c.notNull())
      .addColumn('risk', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('windows', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_channel_windows_pkey', ['snap_id', 'track', 'risk', 'branch'])
      .execute();
  },
};
