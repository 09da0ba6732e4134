// Device groups of a store (update control, docs/update-control.md): named
// sets of its devices by model, serial list or serial pattern; a held group
// is offered nothing new.
import type { Migration } from '../../platform/db/index.ts';

export const deviceGroups: Migration = {
  name: '0005-device-groups',
  async up(db) {
    await db.schema
      .createTable('store_device_groups')
      .addColumn('store_id', 'text', (c) => c.notNull().references('store_stores.store_id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('models', 'text', (c) => c.notNull())
      .addColumn('serials', 'text', (c) => c.notNull())
      .addColumn('serial_pattern', 'text')
      .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('store_device_groups_pkey', ['store_id', 'name'])
      .execute();
  },
};
