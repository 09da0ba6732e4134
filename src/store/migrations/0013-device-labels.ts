// Device labels (update control, docs/update-control.md): labels a store's
// brand sets on its devices through the API, and device groups that take
// the devices carrying any of their labels.
import type { Migration } from '../../platform/db/index.ts';

export const deviceLabels: Migration = {
  name: '0013-device-labels',
  async up(db) {
    await db.schema
      .createTable('store_device_labels')
      .addColumn('store_id', 'text', (c) => c.notNull().references('store_stores.store_id'))
      .addColumn('brand_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_device_labels_pkey', ['store_id', 'brand_id', 'model', 'serial'])
      .execute();
    await db.schema.alterTable('store_device_groups').addColumn('labels', 'text').execute();
  },
};
