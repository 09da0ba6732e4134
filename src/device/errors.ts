// Typed errors of the device agent: each carries a stable code of the catalog
// (src/errors/catalog.ts) that `snapline device status` shows and the state
// folder records. Never thrown to the server; a device ends in a state.
import { CodedError, type CodedErrorOptions } from '../errors/coded-error.ts';

export type DeviceErrorCode =
  | 'device-seed-invalid'
  | 'device-state-invalid'
  | 'device-hook-failed'
  | 'device-registration-failed'
  | 'device-serial-invalid'
  | 'device-not-registered'
  | 'device-session-failed'
  | 'device-store-error'
  | 'device-snap-digest-mismatch'
  | 'device-snap-unverified'
  | 'device-install-failed'
  | 'device-validation-sets';

export class DeviceError extends CodedError<DeviceErrorCode> {
  override readonly name = 'DeviceError';
  constructor(code: DeviceErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isDeviceError(err: unknown): err is DeviceError {
  return err instanceof DeviceError;
}
