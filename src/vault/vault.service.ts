// The serial vault as a service API, without HTTP: what the device API, the
// admin API, the web console, a device agent and update control all call.
//   registration  request-ids and serial requests (RegistrationService)
//   admin         keys, models, factory API keys, the signing log, system-users (VaultAdminService)
import type { PlatformContext } from '../platform/context.ts';
import { RegistrationService, type VaultOptions } from './registration.service.ts';
import { VaultAdminService } from './vault-admin.service.ts';

export interface Vault {
  readonly registration: RegistrationService;
  readonly admin: VaultAdminService;
}

/** The vault of one server process: admin changes reach this process's registration caches at once. */
export function createVault(ctx: PlatformContext, options: VaultOptions = {}): Vault {
  const registration = new RegistrationService(ctx, options);
  return { registration, admin: new VaultAdminService(ctx, registration) };
}
