// Key custody: signing keys sealed at rest under a master key or kept in a PKCS#11 token, the Signer contract, the offline root bundle.
export * from './errors.ts';
export * from './master-key.ts';
export type { SealedKey } from './sealed-key.ts';
export * from './signer.ts';
export * from './sign-assertion.ts';
export * from './key-custody.ts';
export type { KeyTables, SigningKeysTable } from './keys.tables.ts';
export { Pkcs11Token, loadPkcs11Binding, openConfiguredToken, type Pkcs11Options, type TokenKey } from './pkcs11-token.ts';
export * from './root-bundle.ts';
export * from './root-bundle-import.ts';
