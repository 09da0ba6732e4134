// The serial vault as a service of `snapline serve`: its migrations, and its
// device and admin routes over one vault (vault.service.ts).
import type { Service } from '../platform/services.ts';
import { adminRoutes } from './admin.routes.ts';
import { deviceRoutes } from './device.routes.ts';
import { vaultMigrations } from './migrations/index.ts';
import type { VaultOptions } from './registration.service.ts';
import { createVault } from './vault.service.ts';

export function createVaultPlugin(options: VaultOptions = {}): Service {
  return {
    name: 'vault',
    migrations: vaultMigrations,
    async register(app, ctx) {
      const vault = createVault(ctx, options);
      await deviceRoutes(app, vault.registration, ctx.version);
      await adminRoutes(app, vault.admin);
    },
  };
}

export const vaultPlugin: Service = createVaultPlugin();

/** The names `snapline serve` and the tests have used so far. */
export const vaultService = vaultPlugin;
export const createVaultService = createVaultPlugin;
