// Accounts (brands, developers), users and their roles per account.
import { sql } from 'kysely';
import { addIdColumn } from '../engine.ts';
import type { Migration } from '../migrate.ts';

export const accountsUsers: Migration = {
  name: '0001-accounts-users',
  async up(db, engine) {
    await db.schema
      .createTable('accounts')
      .addColumn('account_id', 'text', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('username', 'text')
      .addColumn('validation', 'text', (c) => c.notNull().check(sql`validation in ('unproven', 'starred', 'verified')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('accounts_username_key').unique().on('accounts').column('username').execute();

    await addIdColumn(db.schema.createTable('users'), engine)
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text')
      .addColumn('superuser', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('users_username_key').unique().on('users').column('username').execute();

    await db.schema
      .createTable('memberships')
      .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'publisher', 'viewer', 'factory-operator')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pkey', ['user_id', 'account_id', 'role'])
      .execute();
    await db.schema.createIndex('memberships_account_idx').on('memberships').column('account_id').execute();
  },
};
