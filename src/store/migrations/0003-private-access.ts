// Who sees a store's private snaps (docs/store.md, Visibility): a column per
// store. Existing stores keep what they did ('store-id': naming the store in
// a header is enough); stores created from now on get 'verified' (a device
// session of one of the store's models, or a store-download credential),
// which the store code writes explicitly, since SQLite cannot change a
// column's default after the fact.
import type { Migration } from '../../platform/db/index.ts';

export const privateAccess: Migration = {
  name: '0003-private-access',
  async up(db) {
    await db.schema
      .alterTable('store_stores')
      .addColumn('private_access', 'text', (c) => c.notNull().defaultTo('store-id'))
      .execute();
  },
};
