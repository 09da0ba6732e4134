// Accounts that may upload and release a snap besides its publisher.
import type { Migration } from '../../platform/db/index.ts';

export const collaborators: Migration = {
  name: '0002-collaborators',
  async up(db) {
    await db.schema
      .createTable('store_snap_collaborators')
      .addColumn('snap_id', 'text', (c) => c.notNull().references('store_snaps.snap_id'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_snap_collaborators_pkey', ['snap_id', 'account_id'])
      .execute();
  },
};
