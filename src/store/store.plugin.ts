// The brand store as `snapline serve` mounts it: its migrations, the
// publisher API under /api/store and the snapd-facing API at the server root,
// all over one StoreService.
import type { Service } from '../platform/services.ts';
import { storeMigrations } from './migrations/index.ts';
import { deviceRoutes } from './device.routes.ts';
import { publisherRoutes } from './publisher.routes.ts';
import { StoreService } from './store.service.ts';
import { BLOB_SWEEP_DEFAULTS } from '../platform/config.ts';

export const storePlugin: Service = {
  name: 'store',
  migrations: storeMigrations,
  async register(app, ctx) {
    const store = new StoreService(ctx);
    await publisherRoutes(app, store);
    await deviceRoutes(app, store);
    // Orphan blobs (an upload killed before its revision was committed): swept every interval by every process.
    const every = ctx.config.blobs?.sweepIntervalMs ?? BLOB_SWEEP_DEFAULTS.sweepIntervalMs;
    if (every > 0) {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        store
          .sweepOrphanBlobs()
          .then((r) => r.removed > 0 && app.log.info({ removed: r.removed, seen: r.seen }, 'orphan blobs removed'))
          .catch((err: unknown) => app.log.warn({ err }, 'orphan blob sweep failed'))
          .finally(() => (running = false));
      }, every);
      timer.unref();
      app.addHook('onClose', async () => clearInterval(timer));
    }
  },
};
