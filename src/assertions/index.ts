// The assertions core: snapd's assertion format, crypto and trust rules. Pure: no I/O.
export * from './errors.ts';
export * from './headers.ts';
export * from './crypto.ts';
export * from './assertion.ts';
export * from './registry.ts';
export * from './names.ts';
export * from './types/account.ts';
export * from './types/account-key.ts';
export * from './types/model.ts';
export * from './types/serial.ts';
export * from './database.ts';
export * from './authority.ts';
export * from './requests.ts';
export { formatTimestamp, parseRFC3339 } from './checks.ts';
