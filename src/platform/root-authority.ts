// The server's root authority: created on first start (keys "root" and
// "store" in key custody, the root account and both account-keys in the
// assertions table), loaded on every later start. Several processes starting
// at once against one database agree on a single root: unique key names and
// assertion keys decide which process's key or assertion is kept.
import { CodedError } from '../errors/coded-error.ts';
import {
  AccountKeyType,
  AccountType,
  decodeStream,
  encodeStream,
  isAssertionError,
  rootAuthorityInputs,
  type Assertion,
  type AssertionType,
  type SignInput,
} from '../assertions/index.ts';
import { ConflictError, type Database } from './db/index.ts';
import { KeyCustodyError, signAssertion, type KeyCustody, type Signer, type SigningKeyInfo } from './keys/index.ts';
import { findAssertion, putAssertion } from './assertions/index.ts';
import { createAccount, isAuthError } from './auth/index.ts';
import { appendAudit } from './audit/index.ts';

export interface RootAuthority {
  readonly rootId: string;
  /** Signs account-keys. */
  readonly rootSigner: Signer;
  /** Signs what snapd wants from a directly trusted authority: accounts, store, snap-declarations, snap-revisions. */
  readonly storeSigner: Signer;
  /** Root account, root account-key, store account-key: what devices and tools must trust. */
  readonly trusted: readonly Assertion[];
  /** The trusted assertions as one stream. */
  readonly trustedStream: Buffer;
}

export class RootAuthorityError extends CodedError<'root-authority-mismatch'> {
  override readonly name = 'RootAuthorityError';
  constructor(message: string) {
    super('root-authority-mismatch', message);
  }
}

async function keyInfo(keys: KeyCustody, name: string) {
  try {
    return await keys.get({ name });
  } catch (err) {
    if (err instanceof KeyCustodyError && err.code === 'key-not-found') return undefined;
    throw err;
  }
}

/** A key by name, generated when missing; a process losing the race to generate it reads the winner's. */
async function ensureKey(keys: KeyCustody, name: string, rootId: string): Promise<{ info: SigningKeyInfo; created: boolean }> {
  const existing = await keyInfo(keys, name);
  if (existing) return { info: existing, created: false };
  try {
    return { info: await keys.generate(name, { accountId: rootId }), created: true };
  } catch (err) {
    if (!(err instanceof KeyCustodyError && err.code === 'key-exists')) throw err;
    return { info: await keys.get({ name }), created: false };
  }
}

/** Stores `a` unless another process stored the same assertion first. */
async function putOnce(db: Database, a: Assertion, when: Date): Promise<void> {
  try {
    await putAssertion(db.kysely, a, when);
  } catch (err) {
    if (!(isAssertionError(err, 'assertion-revision') || err instanceof ConflictError)) throw err;
  }
}

/**
 * Loads the root authority, creating what is missing: on first start all of
 * it; after a crash in the middle of the first start, the rest. Idempotent
 * and safe when several processes start at once.
 */
export async function ensureRootAuthority(db: Database, keys: KeyCustody, rootId: string, now: () => Date): Promise<RootAuthority> {
  const rootKey = await ensureKey(keys, 'root', rootId);
  if (rootKey.info.accountId !== rootId) {
    throw new RootAuthorityError(
      `this database belongs to root authority ${JSON.stringify(rootKey.info.accountId)}, not ${JSON.stringify(rootId)}: set SNAPLINE_ROOT_ID to it (the root cannot change once created)`,
    );
  }
  const storeKey = await ensureKey(keys, 'store', rootId);
  const rootSigner = await keys.signer({ name: 'root' });
  const when = now();
  // Keys are valid from an hour before they were made so that devices whose
  // clock lags a little still accept what they sign (snapd rejects keys whose
  // since is after the device clock).
  const since = new Date(Math.floor((rootKey.info.createdAt.getTime() - 3600_000) / 1000) * 1000);
  const inputs = rootAuthorityInputs({ rootId, rootKey: rootKey.info.publicKey, storeKey: storeKey.info.publicKey, since });
  const wanted: [string, string, SignInput, AssertionType][] = [
    ['account', rootId, inputs.account, AccountType],
    ['account-key', rootKey.info.keyId, inputs.rootAccountKey, AccountKeyType],
    ['account-key', storeKey.info.keyId, inputs.storeAccountKey, AccountKeyType],
  ];
  const trusted: Assertion[] = [];
  for (const [type, key, input, assertionType] of wanted) {
    let a = await findAssertion(db.kysely, type, [key]);
    if (!a) {
      await putOnce(db, await signAssertion(assertionType, input, rootSigner, when), when);
      a = (await findAssertion(db.kysely, type, [key]))!;
    }
    trusted.push(a);
  }
  try {
    await createAccount(db.kysely, { accountId: rootId, displayName: rootId, username: rootId, validation: 'verified' }, when);
  } catch (err) {
    if (!isAuthError(err, 'account-exists')) throw err;
  }
  if (rootKey.created) {
    await appendAudit(db.kysely, { actor: 'system', action: 'root.create', target: rootId, accountId: rootId, origin: 'bootstrap', details: { rootKey: rootKey.info.keyId, storeKey: storeKey.info.keyId } }, when);
  }
  return {
    rootId,
    rootSigner,
    storeSigner: await keys.signer({ name: 'store' }),
    trusted,
    trustedStream: encodeStream(trusted),
  };
}

/** Parses a trusted stream (root export) back into assertions. */
export function parseTrustedStream(stream: Buffer): Assertion[] {
  return decodeStream(stream);
}
