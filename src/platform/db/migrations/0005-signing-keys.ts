// Signing keys, sealed at rest under a master key.
import type { Migration } from '../migrate.ts';

export const signingKeys: Migration = {
  name: '0005-signing-keys',
  async up(db) {
    await db.schema
      .createTable('signing_keys')
      .addColumn('key_id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text')
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('bits', 'integer', (c) => c.notNull())
      .addColumn('master_key_id', 'text', (c) => c.notNull())
      .addColumn('iv', 'text', (c) => c.notNull())
      .addColumn('ciphertext', 'text', (c) => c.notNull())
      .addColumn('auth_tag', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('disabled_at', 'text')
      .execute();
    await db.schema.createIndex('signing_keys_name_key').unique().on('signing_keys').column('name').execute();
    // Master key rotation looks for rows sealed under any key but the current one.
    await db.schema.createIndex('signing_keys_master_key_idx').on('signing_keys').column('master_key_id').execute();
  },
};
