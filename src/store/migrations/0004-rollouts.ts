// Update control (docs/update-control.md): every release gets a stable id
// (kept when the same revision is released again with another percentage),
// the revision the devices outside it keep, and a paused flag; the history
// records the release id; and per device and release the minimal facts the
// store saw (offered the release's revision, took it, the revision it last
// reported), from which the channel map's current-percentage, a paused
// rollout's frozen set and a rollback's progress are read.
import type { Migration } from '../../platform/db/index.ts';

export const rollouts: Migration = {
  name: '0004-rollouts',
  async up(db) {
    // One column per statement: SQLite adds columns one at a time.
    await db.schema.alterTable('store_releases').addColumn('release_id', 'text').execute();
    await db.schema.alterTable('store_releases').addColumn('previous_revision', 'integer').execute();
    await db.schema.alterTable('store_releases').addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('store_releases').addColumn('rollback_of', 'text').execute();
    await db.schema.alterTable('store_release_history').addColumn('release_id', 'text').execute();
    await db.schema
      .createTable('store_rollout_devices')
      .addColumn('release_id', 'text', (c) => c.notNull())
      .addColumn('brand_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addColumn('snap_id', 'text', (c) => c.notNull().references('store_snaps.snap_id'))
      .addColumn('first_seen_at', 'text', (c) => c.notNull())
      .addColumn('offered_at', 'text')
      .addColumn('took_at', 'text')
      .addColumn('reported_revision', 'integer')
      .addColumn('reported_at', 'text')
      .addPrimaryKeyConstraint('store_rollout_devices_pkey', ['release_id', 'brand_id', 'model', 'serial'])
      .execute();
    await db.schema.createIndex('store_rollout_devices_device_idx').on('store_rollout_devices').columns(['serial', 'brand_id', 'model']).execute();
  },
};
