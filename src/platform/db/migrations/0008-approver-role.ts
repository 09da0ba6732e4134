// The `approver` role (update control's approvals: approve or deny a
// release to a channel the brand controls; docs/update-control.md): the
// memberships' role check takes it. PostgreSQL replaces the check; SQLite
// cannot alter one, so the table is rebuilt (as in 0007).
import { sql } from 'kysely';
import type { Migration } from '../migrate.ts';

const ROLES = sql`role in ('admin', 'publisher', 'viewer', 'factory-operator', 'store-download', 'approver')`;

export const approverRole: Migration = {
  name: '0008-approver-role',
  async up(db, engine) {
    if (engine === 'postgres') {
      await sql`alter table memberships drop constraint if exists memberships_role_check`.execute(db);
      await sql`alter table memberships add constraint memberships_role_check check (${ROLES})`.execute(db);
      return;
    }
    await db.schema
      .createTable('memberships_new')
      .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(ROLES))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pkey', ['user_id', 'account_id', 'role'])
      .execute();
    await sql`insert into memberships_new (user_id, account_id, role, created_at) select user_id, account_id, role, created_at from memberships`.execute(db);
    await db.schema.dropTable('memberships').execute();
    await db.schema.alterTable('memberships_new').renameTo('memberships').execute();
    await db.schema.createIndex('memberships_account_idx').on('memberships').column('account_id').execute();
  },
};
