// Issuing the assertions of a self-hosted root authority (see the Trust section
// of docs/architecture): the root account with its self-signed root key, a
// second key of the same account for what snapd wants "directly trusted"
// (store assertions, snap-declarations, snap-revisions, accounts), and
// account / account-key assertions for brands. Pure: keys and time come in.
// The *Input functions build what to sign, so that signers other than a local
// PrivateKey (the server's key custody, an HSM) issue the same assertions.
import { sign, type Assertion, type SignInput } from './assertion.ts';
import type { PrivateKey, PublicKey } from './crypto.ts';
import { AssertionError } from './errors.ts';
import { ACCOUNT_ID } from './names.ts';
import { formatTimestamp } from './checks.ts';
import { AccountType } from './types/account.ts';
import { AccountKeyType, type AccountKeyRequestData } from './types/account-key.ts';
import { verifyAccountKeyRequest } from './requests.ts';

export interface RootAuthority {
  readonly account: Assertion;
  readonly rootAccountKey: Assertion;
  readonly storeAccountKey: Assertion;
}

export function checkAccountId(id: string): void {
  if (!ACCOUNT_ID.test(id)) {
    throw new AssertionError('assertion-sign-refused', `invalid account id ${JSON.stringify(id)}: 2-28 characters of a-z, 0-9 and "-", or 32 alphanumerics`);
  }
}

export interface AccountInput {
  rootId: string;
  accountId: string;
  displayName?: string;
  username?: string;
  validation?: 'unproven' | 'starred' | 'verified';
  timestamp: Date;
}

/** The account assertion's headers (signed by the root account). */
export function accountInput(init: AccountInput): SignInput {
  checkAccountId(init.accountId);
  return {
    headers: {
      'authority-id': init.rootId,
      'account-id': init.accountId,
      'display-name': init.displayName ?? init.accountId,
      username: init.username ?? init.accountId,
      validation: init.validation ?? 'unproven',
      timestamp: formatTimestamp(init.timestamp),
    },
  };
}

export interface AccountKeyInput {
  rootId: string;
  accountId: string;
  name: string;
  publicKey: PublicKey;
  since: Date;
  until?: Date;
}

/** The account-key assertion's headers and body (signed by the root key). */
export function accountKeyInput(init: AccountKeyInput): SignInput {
  if (init.until && init.until < init.since) throw new AssertionError('assertion-sign-refused', "'until' time cannot be before 'since' time");
  return {
    headers: {
      'authority-id': init.rootId,
      'account-id': init.accountId,
      name: init.name,
      'public-key-sha3-384': init.publicKey.id,
      since: formatTimestamp(init.since),
      ...(init.until ? { until: formatTimestamp(init.until) } : {}),
    },
    body: init.publicKey.encode(),
  };
}

/** The three assertions of a new root authority, as inputs: account, root key, store key. */
export function rootAuthorityInputs(init: { rootId: string; displayName?: string; rootKey: PublicKey; storeKey: PublicKey; since: Date }) {
  checkAccountId(init.rootId);
  return {
    account: accountInput({
      rootId: init.rootId,
      accountId: init.rootId,
      ...(init.displayName ? { displayName: init.displayName } : {}),
      validation: 'verified',
      timestamp: init.since,
    }),
    rootAccountKey: accountKeyInput({ rootId: init.rootId, accountId: init.rootId, name: 'root', publicKey: init.rootKey, since: init.since }),
    storeAccountKey: accountKeyInput({ rootId: init.rootId, accountId: init.rootId, name: 'store', publicKey: init.storeKey, since: init.since }),
  };
}

/** The account-key input for the key of a checked account-key-request. */
export function accountKeyInputFromRequest(init: { rootId: string; request: Assertion; since?: Date; until?: Date }): SignInput {
  verifyAccountKeyRequest(init.request);
  const req = init.request.data as AccountKeyRequestData;
  const until = init.until ?? req.until;
  return accountKeyInput({
    rootId: init.rootId,
    accountId: req.accountId,
    name: req.name,
    publicKey: req.publicKey,
    since: init.since ?? req.since,
    ...(until ? { until } : {}),
  });
}

export interface RootInit {
  rootId: string;
  displayName?: string;
  rootKey: PrivateKey;
  storeKey: PrivateKey;
  now: Date;
  /** Start of the keys' validity; defaults to `now`. Devices reject keys whose since is after their clock. */
  since?: Date;
}

/** Creates the root account, its self-signed root account-key and its store account-key. */
export function createRootAuthority(init: RootInit): RootAuthority {
  const inputs = rootAuthorityInputs({
    rootId: init.rootId,
    ...(init.displayName ? { displayName: init.displayName } : {}),
    rootKey: init.rootKey.publicKey,
    storeKey: init.storeKey.publicKey,
    since: init.since ?? init.now,
  });
  return {
    account: sign(AccountType, inputs.account, init.rootKey, init.now),
    rootAccountKey: sign(AccountKeyType, inputs.rootAccountKey, init.rootKey, init.now),
    storeAccountKey: sign(AccountKeyType, inputs.storeAccountKey, init.rootKey, init.now),
  };
}

/** An account signed by the root's (store) key. */
export function issueAccount(init: Omit<AccountInput, 'timestamp'> & { signer: PrivateKey; now: Date }): Assertion {
  return sign(AccountType, accountInput({ ...init, timestamp: init.now }), init.signer, init.now);
}

/** An account-key signed by the root key. */
export function issueAccountKey(init: AccountKeyInput & { signer: PrivateKey; now: Date }): Assertion {
  return sign(AccountKeyType, accountKeyInput(init), init.signer, init.now);
}

/** Certifies the key of an account-key-request, after checking its self-signature. */
export function issueAccountKeyFromRequest(init: { rootId: string; signer: PrivateKey; request: Assertion; now: Date; since?: Date; until?: Date }): Assertion {
  return sign(AccountKeyType, accountKeyInputFromRequest(init), init.signer, init.now);
}
