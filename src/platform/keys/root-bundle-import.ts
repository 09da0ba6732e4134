// Importing an offline root ceremony's bundle (root-bundle.ts) into a
// server's database and key custody (`snapline root import`).
import type { Kysely } from 'kysely';
import { PrivateKey, decodeStream, isAssertionError } from '../../assertions/index.ts';
import { ConflictError } from '../db/errors.ts';
import type { PlatformTables } from '../db/platform.tables.ts';
import { putAssertion } from '../assertions/index.ts';
import { KeyCustodyError } from './errors.ts';
import { keyCustodyOf, type KeyCustody, type SigningKeyInfo } from './key-custody.ts';
import { bundleInvalid, checkTrusted, type RootBundle } from './root-bundle.ts';

export interface RootImportResult {
  rootKey: SigningKeyInfo;
  storeKey: SigningKeyInfo;
  /** False when this database already held exactly this root (a re-run). */
  imported: boolean;
}

/**
 * Imports a bundle into a server's database and custody: the root's public key
 * as an offline key named "root", the store key named "store" (sealed, or in
 * the token), and the three trusted assertions. Checks every signature and
 * that the bundle is for `rootId`. Idempotent: re-importing the same root is
 * a no-op; a database holding another root, or a root key it holds itself,
 * is refused.
 */
export async function importRootBundle(
  db: Kysely<PlatformTables>,
  keys: KeyCustody,
  rootId: string,
  bundle: RootBundle,
  transferPassphrase: string | undefined,
  now: Date,
): Promise<RootImportResult> {
  const parts = checkTrusted(decodeStream(Buffer.from(bundle.trusted)));
  if (parts.rootId !== rootId) {
    throw bundleInvalid(`the bundle is for root authority ${JSON.stringify(parts.rootId)}, this server is configured for ${JSON.stringify(rootId)}: set SNAPLINE_ROOT_ID (or rootId) to ${JSON.stringify(parts.rootId)}`);
  }
  const rootKeyId = parts.rootKey.id;
  const storeKeyId = parts.storeAccountKey.headerString('public-key-sha3-384');
  const existingRoot = await find(keys, 'root');
  const existingStore = await find(keys, 'store');
  if (existingRoot && existingRoot.keyId !== rootKeyId) {
    throw bundleInvalid(`this database already has root key ${existingRoot.keyId} (root authority ${JSON.stringify(existingRoot.accountId)}), not the bundle's ${rootKeyId}: import into a new database`);
  }
  if (existingRoot && keyCustodyOf(existingRoot) !== 'offline') {
    throw bundleInvalid(`this database holds the private root key ${rootKeyId} itself: an offline root is imported into a new database`);
  }
  if (existingStore && existingStore.keyId !== storeKeyId) {
    throw bundleInvalid(`this database already has store key ${existingStore.keyId}, not the bundle's ${storeKeyId}`);
  }
  const rootKey = existingRoot ?? (await keys.addOfflineKey('root', parts.rootKey, { accountId: rootId }));
  let storeKey = existingStore;
  if (!storeKey && bundle.storeKey === undefined) {
    throw bundleInvalid(`the bundle carries no store key and this server has none: make it here first (\`snapline root store-key\`), certify its public key on the offline machine (\`snapline root init ${rootId} --store-public-key FILE\`)`);
  }
  if (!storeKey) {
    if (transferPassphrase === undefined) throw bundleInvalid('the bundle carries the store key: give its transfer passphrase');
    let key: PrivateKey;
    try {
      key = PrivateKey.fromPem(bundle.storeKey!, transferPassphrase);
    } catch (err) {
      throw bundleInvalid(`cannot open the store key (wrong transfer passphrase?): ${(err as Error).message}`, err);
    }
    if (key.id !== storeKeyId) throw bundleInvalid(`the bundle's store key ${key.id} is not the one its store account-key certifies (${storeKeyId})`);
    storeKey = await keys.import('store', key.toPem(transferPassphrase), { passphrase: transferPassphrase, accountId: rootId });
  }
  for (const a of [parts.account, parts.rootAccountKey, parts.storeAccountKey]) {
    try {
      await putAssertion(db, a, now);
    } catch (err) {
      if (!(isAssertionError(err, 'assertion-revision') || err instanceof ConflictError)) throw err;
    }
  }
  return { rootKey, storeKey, imported: !existingRoot || !existingStore };
}

async function find(keys: KeyCustody, name: string): Promise<SigningKeyInfo | undefined> {
  try {
    return await keys.get({ name });
  } catch (err) {
    if (err instanceof KeyCustodyError && err.code === 'key-not-found') return undefined;
    throw err;
  }
}

/**
 * The server's half of a ceremony where the store key never leaves the
 * server's custody (its HSM): the key named "store", generated here when
 * missing, whose public key the offline machine then certifies. Refused once
 * the server has a root.
 */
export async function ensureStoreKeyForCeremony(keys: KeyCustody, rootId: string): Promise<SigningKeyInfo> {
  if (await find(keys, 'root')) throw bundleInvalid('this server already has a root: the store key of an offline root is made before the import, in a new database');
  const existing = await find(keys, 'store');
  if (existing) return existing;
  return keys.generate('store', { accountId: rootId });
}
