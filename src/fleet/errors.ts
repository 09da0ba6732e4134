// Typed errors of the fleet simulator (codes of src/errors/catalog.ts). What
// a simulated device ends in keeps the device agent's codes (src/device).
import { CodedError, type CodedErrorOptions } from '../errors/coded-error.ts';

export type FleetErrorCode = 'fleet-keys-invalid' | 'fleet-keygen-failed' | 'fleet-options-invalid';

export class FleetError extends CodedError<FleetErrorCode> {
  override readonly name = 'FleetError';
  constructor(code: FleetErrorCode, message: string, options: CodedErrorOptions = {}) {
    super(code, message, options);
  }
}
