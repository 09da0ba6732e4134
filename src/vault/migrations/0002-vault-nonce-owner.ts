// request-ids bound to their caller: an API key or a factory operator's token.
import type { Migration } from '../../platform/db/index.ts';

export const nonceOwner: Migration = {
  name: '0002-vault-nonce-owner',
  async up(db) {
    await db.schema.alterTable('vault_nonces').addColumn('issued_to', 'text').execute();
  },
};
