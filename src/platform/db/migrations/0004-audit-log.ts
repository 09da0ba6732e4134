// The append-only audit log.
import { addIdColumn, makeAppendOnly } from '../engine.ts';
import type { Migration } from '../migrate.ts';

export const auditLog: Migration = {
  name: '0004-audit-log',
  async up(db, engine) {
    // No foreign keys: entries outlive what they name, and may name what
    // never came to exist (a refused account creation).
    await addIdColumn(db.schema.createTable('audit_log'), engine)
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('actor_user_id', 'bigint')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target', 'text')
      .addColumn('account_id', 'text')
      .addColumn('origin', 'text')
      .addColumn('ip', 'text')
      .addColumn('request_id', 'text')
      .addColumn('details', 'text')
      .execute();
    await db.schema.createIndex('audit_log_account_idx').on('audit_log').columns(['account_id', 'id']).execute();
    await makeAppendOnly(db, engine, 'audit_log');
  },
};
