// The offline root ceremony's hand-over (docs/root-ceremony.md): what an
// air-gapped machine holding the root key gives a server, and its import.
// The bundle holds the trusted stream (root account, root account-key, store
// account-key, all signed by the root key) and the store key as a PKCS#8 PEM
// encrypted under a transfer passphrase. It never holds the root key: the
// server records only the root's public key (an offline key) and imports the
// store key into its custody (sealed in the database, or into the PKCS#11
// token, which keeps it from then on).
// This file is pure (the CLI's offline commands load it); the import into a
// server's database and custody is in root-bundle-import.ts.
import { PublicKey, decodeStream, encodeStream, type Assertion, type PrivateKey } from '../../assertions/index.ts';
import { KeyCustodyError } from './errors.ts';

export const ROOT_BUNDLE_FORMAT = 'snapline-root-bundle/1';

/** The file an offline root machine writes for a server (JSON). */
export interface RootBundle {
  format: typeof ROOT_BUNDLE_FORMAT;
  rootId: string;
  /** The trusted stream: account, root account-key, store account-key. */
  trusted: string;
  /**
   * The store private key, PKCS#8 PEM encrypted with the transfer passphrase;
   * absent when the store key was made in the server's custody (`snapline root
   * store-key`) and only its public key went to the offline machine.
   */
  storeKey?: string;
}

/** Writes a bundle from the trusted stream and, unless the server made it, the store key (on the offline machine). */
export function makeRootBundle(trusted: Buffer | string, storeKey?: { key: PrivateKey; transferPassphrase: string }): RootBundle {
  const parts = checkTrusted(decodeStream(Buffer.from(trusted)));
  if (storeKey && parts.storeAccountKey.headerString('public-key-sha3-384') !== storeKey.key.id) {
    throw bundleInvalid(`the store key ${storeKey.key.id} is not the one the trusted stream certifies (${parts.storeAccountKey.headerString('public-key-sha3-384')})`);
  }
  return {
    format: ROOT_BUNDLE_FORMAT,
    rootId: parts.rootId,
    trusted: encodeStream([parts.account, parts.rootAccountKey, parts.storeAccountKey]).toString(),
    ...(storeKey ? { storeKey: storeKey.key.toPem(storeKey.transferPassphrase) } : {}),
  };
}

/** Parses a bundle file's text; key-invalid when it is not one. */
export function parseRootBundle(text: string | Buffer): RootBundle {
  let data: unknown;
  try {
    data = JSON.parse(text.toString());
  } catch (err) {
    throw bundleInvalid(`not JSON: ${(err as Error).message}`);
  }
  const b = data as Partial<RootBundle> | null;
  if (!b || b.format !== ROOT_BUNDLE_FORMAT || typeof b.rootId !== 'string' || typeof b.trusted !== 'string' || !(b.storeKey === undefined || typeof b.storeKey === 'string')) {
    throw bundleInvalid(`expected a JSON object with format "${ROOT_BUNDLE_FORMAT}", rootId, trusted and optionally storeKey`);
  }
  return b as RootBundle;
}

export interface TrustedParts {
  rootId: string;
  rootKey: PublicKey;
  account: Assertion;
  rootAccountKey: Assertion;
  storeAccountKey: Assertion;
}

/** The root account and its two account-keys, each signature checked against the root key. */
export function checkTrusted(assertions: Assertion[]): TrustedParts {
  const accounts = assertions.filter((a) => a.type === 'account');
  const accountKeys = assertions.filter((a) => a.type === 'account-key');
  if (accounts.length !== 1 || accountKeys.length !== 2 || assertions.length !== 3) {
    throw bundleInvalid(`the trusted stream must hold the root account and two account-keys (root and store), as \`snapline root init\` prints; got ${assertions.map((a) => a.type).join(', ') || 'nothing'}`);
  }
  const account = accounts[0]!;
  const rootId = account.headerString('account-id');
  const rootAccountKey = accountKeys.find((k) => k.headerString('public-key-sha3-384') === account.signKeyId);
  const storeAccountKey = accountKeys.find((k) => k !== rootAccountKey);
  if (!rootAccountKey || !storeAccountKey) throw bundleInvalid('no account-key in the trusted stream matches the key that signed the root account');
  const rootKey = PublicKey.decode(rootAccountKey.body!.toString());
  for (const a of assertions) {
    if (a.authorityId !== rootId || a.signKeyId !== rootKey.id) throw bundleInvalid(`the ${a.type} ${a.primaryKey.join('/')} is not signed by the root key ${rootKey.id} of ${rootId}`);
    if (a.type === 'account-key' && a.headerString('account-id') !== rootId) throw bundleInvalid(`the account-key ${a.primaryKey.join('/')} is for ${a.headerString('account-id')}, not the root account ${rootId}`);
    try {
      rootKey.verify(a.content, a.signatureText);
    } catch (err) {
      throw bundleInvalid(`the ${a.type} ${a.primaryKey.join('/')} does not verify: ${(err as Error).message}`, err);
    }
  }
  return { rootId, rootKey, account, rootAccountKey, storeAccountKey };
}

export function bundleInvalid(message: string, cause?: unknown): KeyCustodyError {
  return new KeyCustodyError('key-invalid', `root bundle: ${message}`, cause === undefined ? {} : { cause });
}
