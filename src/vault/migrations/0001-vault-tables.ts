// The vault's tables: models, factory API keys, request-id nonces, the signing log.
import { addIdColumn, type Migration } from '../../platform/db/index.ts';

export const vaultTables: Migration = {
  name: '0001-vault-tables',
  async up(db, engine) {
    await addIdColumn(db.schema.createTable('vault_models'), engine)
      .addColumn('brand_id', 'text', (c) => c.notNull().references('accounts.account_id'))
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull().references('signing_keys.key_id'))
      .addColumn('authority_id', 'text', (c) => c.notNull())
      .addColumn('serial_template', 'text', (c) => c.notNull())
      .addColumn('serial_pattern', 'text', (c) => c.notNull())
      .addColumn('allow_proposed', 'integer', (c) => c.notNull())
      .addColumn('duplicates', 'text', (c) => c.notNull())
      .addColumn('remodel_from', 'text', (c) => c.notNull())
      .addColumn('next_counter', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('vault_models_key').unique().on('vault_models').columns(['brand_id', 'model']).execute();

    await addIdColumn(db.schema.createTable('vault_api_keys'), engine)
      .addColumn('brand_id', 'text', (c) => c.notNull().references('accounts.account_id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull())
      .addColumn('models', 'text', (c) => c.notNull())
      .addColumn('max_serials', 'bigint')
      .addColumn('used_serials', 'bigint', (c) => c.notNull())
      .addColumn('valid_from', 'text')
      .addColumn('valid_until', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('vault_api_keys_hash').unique().on('vault_api_keys').column('key_hash').execute();
    await db.schema.createIndex('vault_api_keys_brand').on('vault_api_keys').column('brand_id').execute();

    await db.schema
      .createTable('vault_nonces')
      .addColumn('nonce', 'text', (c) => c.primaryKey())
      .addColumn('api_key_id', 'bigint')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
    await db.schema.createIndex('vault_nonces_expiry').on('vault_nonces').column('expires_at').execute();

    await addIdColumn(db.schema.createTable('vault_signing_log'), engine)
      .addColumn('brand_id', 'text', (c) => c.notNull())
      .addColumn('model', 'text', (c) => c.notNull())
      .addColumn('serial', 'text', (c) => c.notNull())
      .addColumn('device_key_id', 'text', (c) => c.notNull())
      .addColumn('device_key_unique', 'text')
      .addColumn('assertion', 'text')
      .addColumn('signed_at', 'text', (c) => c.notNull())
      .addColumn('api_key_id', 'bigint')
      .addColumn('api_key_name', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('user_agent', 'text', (c) => c.notNull())
      .addColumn('remodel_from', 'text', (c) => c.notNull())
      .execute();
    // The duplicate policy, enforced by the database: a serial belongs to one
    // device key; under "idempotent"/"refuse" a device key has one serial.
    await db.schema.createIndex('vault_signing_log_serial').unique().on('vault_signing_log').columns(['brand_id', 'model', 'serial']).execute();
    await db.schema.createIndex('vault_signing_log_device').unique().on('vault_signing_log').columns(['brand_id', 'model', 'device_key_unique']).execute();
    await db.schema.createIndex('vault_signing_log_device_key').on('vault_signing_log').columns(['device_key_id']).execute();
    await db.schema.createIndex('vault_signing_log_brand').on('vault_signing_log').columns(['brand_id', 'id']).execute();
  },
};
