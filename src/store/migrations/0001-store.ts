// The store's tables: stores, snaps, revisions, releases and their history,
// device-session nonces and sessions (docs/store.md, Tables).
import { addIdColumn } from '../../platform/db/index.ts';
import type { Migration } from '../../platform/db/index.ts';

export const store: Migration = {
  name: '0001-store',
  async up(db, engine) {
    await db.schema
      .createTable('store_stores')
      .addColumn('store_id', 'text', (c) => c.primaryKey())
      .addColumn('brand_id', 'text', (c) => c.notNull().references('accounts.account_id'))
      .addColumn('includes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('store_snaps')
      .addColumn('snap_id', 'text', (c) => c.primaryKey())
      .addColumn('store_id', 'text', (c) => c.notNull().references('store_stores.store_id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('publisher_id', 'text', (c) => c.notNull().references('accounts.account_id'))
      .addColumn('private', 'integer', (c) => c.notNull())
      .addColumn('default_track', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('store_snaps_store_name_key').unique().on('store_snaps').columns(['store_id', 'name']).execute();
    await db.schema.createIndex('store_snaps_name_idx').on('store_snaps').column('name').execute();
    await addIdColumn(db.schema.createTable('store_revisions'), engine)
      .addColumn('snap_id', 'text', (c) => c.notNull().references('store_snaps.snap_id'))
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('confinement', 'text', (c) => c.notNull())
      .addColumn('grade', 'text', (c) => c.notNull())
      .addColumn('base', 'text')
      .addColumn('architectures', 'text', (c) => c.notNull())
      .addColumn('epoch', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('license', 'text', (c) => c.notNull())
      .addColumn('snap_yaml', 'text', (c) => c.notNull())
      .addColumn('sha3_384', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('developer_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('store_revisions_snap_rev_key').unique().on('store_revisions').columns(['snap_id', 'revision']).execute();
    await db.schema.createIndex('store_revisions_digest_key').unique().on('store_revisions').column('sha3_384').execute();
    await db.schema
      .createTable('store_releases')
      .addColumn('snap_id', 'text', (c) => c.notNull().references('store_snaps.snap_id'))
      .addColumn('architecture', 'text', (c) => c.notNull())
      .addColumn('track', 'text', (c) => c.notNull())
      .addColumn('risk', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('progressive_percentage', 'integer')
      .addColumn('released_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addPrimaryKeyConstraint('store_releases_pkey', ['snap_id', 'architecture', 'track', 'risk', 'branch'])
      .execute();
    await addIdColumn(db.schema.createTable('store_release_history'), engine)
      .addColumn('snap_id', 'text', (c) => c.notNull())
      .addColumn('architecture', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('revision', 'integer')
      .addColumn('progressive_percentage', 'integer')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('store_release_history_snap_idx').on('store_release_history').columns(['snap_id', 'id']).execute();
    await db.schema
      .createTable('store_nonces')
      .addColumn('nonce', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('store_nonces_expires_idx').on('store_nonces').column('expires_at').execute();
    await db.schema
      .createTable('store_sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('store_id', 'text', (c) => c.notNull())
      .addColumn('brand_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('store_sessions_expires_idx').on('store_sessions').column('expires_at').execute();
  },
};
