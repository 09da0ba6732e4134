// The store's domain errors: a code from the catalog (src/errors/catalog.ts)
// and a message. The HTTP edge renders them in the route's wire shape (the
// platform JSON for the publisher API, snapd's error-list for the device API);
// nothing here knows about HTTP.
import { CodedError, type CodedErrorOptions } from '../errors/coded-error.ts';

export type StoreErrorCode =
  // publishing
  | 'validation-failed'
  | 'unauthorized'
  | 'forbidden'
  | 'payload-too-large'
  | 'not-found'
  | 'account-not-found'
  | 'store-not-found'
  | 'store-exists'
  | 'store-required'
  | 'snap-invalid'
  | 'snap-name-mismatch'
  | 'snap-name-registered'
  | 'snap-name-reserved'
  | 'snap-publisher-invalid'
  | 'revision-exists'
  | 'revision-not-found'
  | 'invalid-channel'
  // update control
  | 'rollout-not-found'
  | 'rollout-conflict'
  | 'group-not-found'
  | 'group-exists'
  | 'rollout-plan-invalid'
  | 'approval-not-found'
  | 'approval-conflict'
  | 'approval-own-request'
  | 'validation-set-invalid'
  | 'validation-set-conflict'
  | 'validation-set-breaks-model'
  | 'validation-invalid'
  // snapd-facing
  | 'name-not-found'
  | 'resource-not-found'
  | 'invalid-cohort-key'
  | 'invalid-request'
  | 'invalid-credentials'
  | 'device-authorization-needs-refresh';

export class StoreError<C extends StoreErrorCode = StoreErrorCode> extends CodedError<C> {
  override readonly name: string = 'StoreError';
  constructor(code: C, message: string, options?: CodedErrorOptions) {
    super(code, message, options);
  }
}

export type SessionErrorCode = 'invalid-request' | 'invalid-credentials' | 'device-authorization-needs-refresh';

/** A device-session request or session the store refuses (401, or 400 for undecodable input). */
export class SessionError extends StoreError<SessionErrorCode> {
  override readonly name: string = 'SessionError';
}

/** A cohort key that is malformed, forged, of another snap or from the future. */
export class CohortKeyError extends StoreError<'invalid-cohort-key'> {
  override readonly name: string = 'CohortKeyError';
  constructor(message: string) {
    super('invalid-cohort-key', message);
  }
}
