// Errors of `snapline demo`: codes of the catalog (src/errors/catalog.ts).
import { CodedError } from '../errors/coded-error.ts';

export type DemoErrorCode = 'demo-data-not-empty' | 'demo-step-failed';

export class DemoError extends CodedError<DemoErrorCode> {
  override readonly name = 'DemoError';
}

export function isDemoError(err: unknown): err is DemoError {
  return err instanceof DemoError;
}
