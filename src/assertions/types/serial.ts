// serial, serial-request and device-session-request: device identity
// (snapd asserts/serial_asserts.go).
import type { AssertionType } from '../assertion.ts';
import { checkNotEmptyString, checkOptionalString, checkRFC3339Date, checkStringMatches } from '../checks.ts';
import { AssertionError, HeaderError } from '../errors.ts';
import { PublicKey } from '../crypto.ts';
import { ACCOUNT_ID } from '../names.ts';
import { checkModelHeader, type ModelData } from './model.ts';
import { inconsistent } from './common.ts';

function decodeDeviceKey(encoded: string): PublicKey {
  try {
    return PublicKey.decode(encoded);
  } catch (err) {
    if (err instanceof AssertionError) throw new HeaderError(err.message);
    throw err;
  }
}

export interface SerialData {
  readonly brandId: string;
  readonly model: string;
  readonly serial: string;
  readonly deviceKey: PublicKey;
  readonly deviceKeyId: string;
  readonly timestamp: Date;
}

export const SerialType: AssertionType<SerialData> = {
  name: 'serial',
  primaryKey: ['brand-id', 'model', 'serial'],
  maxFormat: 0,
  assemble({ headers }) {
    const brandId = checkStringMatches(headers, 'brand-id', ACCOUNT_ID);
    const model = checkModelHeader(headers);
    const deviceKey = decodeDeviceKey(checkNotEmptyString(headers, 'device-key'));
    const deviceKeyId = checkNotEmptyString(headers, 'device-key-sha3-384');
    if (deviceKeyId !== deviceKey.id) throw new HeaderError('device key does not match provided key id');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { brandId, model, serial: headers['serial'] as string, deviceKey, deviceKeyId, timestamp };
  },
  timestamp: (d) => d.timestamp,
  checkConsistency(db, a) {
    const { brandId, model } = a.data;
    if (a.authorityId === brandId) return;
    const m = db.find('model', ['16', brandId, model]);
    const allowed = (m?.data as ModelData | undefined)?.serialAuthority ?? [];
    if (!allowed.includes(a.authorityId)) {
      inconsistent(
        `serial with authority "${a.authorityId}" different from brand "${brandId}" without model assertion with serial-authority set to to allow for them`,
      );
    }
  },
};

export interface SerialRequestData {
  readonly brandId: string;
  readonly model: string;
  /** The proposed serial, "" when none. */
  readonly serial: string;
  readonly requestId: string;
  readonly deviceKey: PublicKey;
  /** Remodel: the identity the device had before (all "" otherwise). */
  readonly originalBrandId: string;
  readonly originalModel: string;
  readonly originalSerial: string;
}

export const SerialRequestType: AssertionType<SerialRequestData> = {
  name: 'serial-request',
  primaryKey: [],
  noAuthority: true,
  maxFormat: 0,
  assemble({ headers }) {
    const brandId = checkNotEmptyString(headers, 'brand-id');
    const model = checkModelHeader(headers);
    const requestId = checkNotEmptyString(headers, 'request-id');
    const serial = checkOptionalString(headers, 'serial');
    const deviceKey = decodeDeviceKey(checkNotEmptyString(headers, 'device-key'));
    if (deviceKey.id !== headers['sign-key-sha3-384']) throw new HeaderError('device key does not match included signing key id');
    return {
      brandId,
      model,
      serial,
      requestId,
      deviceKey,
      originalBrandId: checkOptionalString(headers, 'original-brand-id'),
      originalModel: checkOptionalString(headers, 'original-model'),
      originalSerial: checkOptionalString(headers, 'original-serial'),
    };
  },
};

export interface DeviceSessionRequestData {
  readonly brandId: string;
  readonly model: string;
  readonly serial: string;
  readonly nonce: string;
  readonly timestamp: Date;
}

export const DeviceSessionRequestType: AssertionType<DeviceSessionRequestData> = {
  name: 'device-session-request',
  primaryKey: ['brand-id', 'model', 'serial'],
  noAuthority: true,
  maxFormat: 0,
  assemble({ headers }) {
    const model = checkModelHeader(headers);
    const nonce = checkNotEmptyString(headers, 'nonce');
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    return { brandId: headers['brand-id'] as string, model, serial: headers['serial'] as string, nonce, timestamp };
  },
};
