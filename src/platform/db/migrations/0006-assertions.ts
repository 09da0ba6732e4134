// Signed assertions the server issued or accepted (root authority, accounts,
// account-keys; later snap-declarations, snap-revisions, serials...), kept as
// their exact bytes. Every revision is kept; the newest is served.
import type { Migration } from '../migrate.ts';

export const assertions: Migration = {
  name: '0006-assertions',
  async up(db) {
    await db.schema
      .createTable('assertions')
      .addColumn('type', 'text', (c) => c.notNull())
      // Primary-key values joined by "/" (they cannot contain one), full form with defaults.
      .addColumn('primary_key', 'text', (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('format', 'integer', (c) => c.notNull())
      .addColumn('authority_id', 'text')
      .addColumn('sign_key_id', 'text', (c) => c.notNull())
      .addColumn('encoded', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('assertions_pkey', ['type', 'primary_key', 'revision'])
      .execute();
  },
};
