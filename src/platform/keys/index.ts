// Key custody: signing keys sealed at rest under a master key, and the Signer contract.
export * from './errors.ts';
export * from './master-key.ts';
export type { SealedKey } from './sealed-key.ts';
export * from './signer.ts';
export * from './sign-assertion.ts';
export * from './key-custody.ts';
export type { KeyTables, SigningKeysTable } from './keys.tables.ts';
