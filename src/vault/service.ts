// The serial vault as a service of `snapline serve`.
import type { Service } from '../platform/services.ts';
import { adminRoutes } from './admin-routes.ts';
import { deviceRoutes } from './device-routes.ts';
import { vaultMigrations } from './migrations.ts';
import { Vault, type VaultOptions } from './vault.ts';

export function createVaultService(options: VaultOptions = {}): Service {
  return {
    name: 'vault',
    migrations: vaultMigrations,
    async register(app, ctx) {
      const vault = new Vault(ctx, options);
      await deviceRoutes(app, vault, ctx.version);
      await adminRoutes(app, ctx, vault);
    },
  };
}

export const vaultService: Service = createVaultService();
