// The services `snapline serve` can run. Store, vault and console register
// here as they are built (each: its migrations and routes).
import type { Service } from './platform/services.ts';
import { storePlugin } from './store/index.ts';
import { vaultService } from './vault/index.ts';
import { consoleService } from './console/server/console.plugin.ts';

export const SERVICES_AVAILABLE: readonly Service[] = [storePlugin, vaultService, consoleService];
