// Failed logins, counted per username and per IP by the login limiter.
import { addIdColumn } from '../engine.ts';
import type { Migration } from '../migrate.ts';

export const loginFailures: Migration = {
  name: '0003-login-failures',
  async up(db, engine) {
    await addIdColumn(db.schema.createTable('login_failures'), engine)
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('ip', 'text', (c) => c.notNull())
      .addColumn('failed_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_failures_username_idx').on('login_failures').columns(['username', 'failed_at']).execute();
    await db.schema.createIndex('login_failures_ip_idx').on('login_failures').columns(['ip', 'failed_at']).execute();
    await db.schema.createIndex('login_failures_time_idx').on('login_failures').column('failed_at').execute();
  },
};
