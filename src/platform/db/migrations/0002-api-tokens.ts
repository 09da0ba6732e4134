// API tokens: stored as SHA-256 of the secret, scoped to an account or global.
import { addIdColumn } from '../engine.ts';
import type { Migration } from '../migrate.ts';

export const apiTokens: Migration = {
  name: '0002-api-tokens',
  async up(db, engine) {
    await addIdColumn(db.schema.createTable('api_tokens'), engine)
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.references('accounts.account_id').onDelete('cascade'))
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createIndex('api_tokens_hash_key').unique().on('api_tokens').column('token_hash').execute();
    await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute();
  },
};
