// The brand store as `snapline serve` mounts it: its migrations, the
// publisher API under /api/store and the snapd-facing API at the server root,
// all over one StoreService.
import type { Service } from '../platform/services.ts';
import { storeMigrations } from './migrations/index.ts';
import { deviceRoutes } from './device.routes.ts';
import { publisherRoutes } from './publisher.routes.ts';
import { StoreService } from './store.service.ts';

export const storePlugin: Service = {
  name: 'store',
  migrations: storeMigrations,
  async register(app, ctx) {
    const store = new StoreService(ctx);
    await publisherRoutes(app, store);
    await deviceRoutes(app, store);
  },
};
