// Approvals (update control, docs/update-control.md): the channels a store
// controls (a release to them waits for an approver), and release requests
// (what was asked, by whom, pending, approved or denied, by whom and why).
import type { Migration } from '../../platform/db/index.ts';
import { addIdColumn } from '../../platform/db/index.ts';

export const releaseApprovals: Migration = {
  name: '0008-release-approvals',
  async up(db, engine) {
    await db.schema
      .createTable('store_controlled_channels')
      .addColumn('store_id', 'text', (c) => c.notNull().references('store_stores.store_id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_controlled_channels_pkey', ['store_id', 'channel'])
      .execute();
    await addIdColumn(db.schema.createTable('store_release_requests'), engine)
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('snap_id', 'text', (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('channels', 'text', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('requested_by_user', 'text', (c) => c.notNull())
      .addColumn('requested_at', 'text', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'text')
      .addColumn('reason', 'text')
      .execute();
    await db.schema.createIndex('store_release_requests_state_idx').on('store_release_requests').columns(['store_id', 'state']).execute();
  },
};
