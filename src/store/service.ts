// The brand store service: its migrations, the publisher API under
// /api/store and the snapd-facing API at the server root.
import type { Service } from '../platform/services.ts';
import { storeMigrations } from './migrations.ts';
import { deviceRoutes } from './device-routes.ts';
import { publisherRoutes } from './publisher-routes.ts';
import type { StoreOwnTables } from './tables.ts';
import { Catalog } from './visibility.ts';

export const storeService: Service = {
  name: 'store',
  migrations: storeMigrations,
  async register(app, ctx) {
    const db = ctx.db.kysely.withTables<StoreOwnTables>();
    const catalog = new Catalog(db);
    await publisherRoutes(app, ctx, db, catalog);
    await deviceRoutes(app, ctx, db, catalog);
  },
};
