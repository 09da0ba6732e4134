// Issuing the assertions of a self-hosted root authority (see the Trust section
// of docs/architecture): the root account with its self-signed root key, a
// second key of the same account for what snapd wants "directly trusted"
// (store assertions, snap-declarations, snap-revisions, accounts), and
// account / account-key assertions for brands. Pure: keys and time come in.
import { sign, type Assertion } from './assertion.ts';
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

export interface RootInit {
  rootId: string;
  displayName?: string;
  rootKey: PrivateKey;
  storeKey: PrivateKey;
  now: Date;
  /** Start of the keys' validity; defaults to `now`. Devices reject keys whose since is after their clock. */
  since?: Date;
}

function checkAccountId(id: string): void {
  if (!ACCOUNT_ID.test(id)) {
    throw new AssertionError('assertion-sign-refused', `invalid account id ${JSON.stringify(id)}: 2-28 characters of a-z, 0-9 and "-", or 32 alphanumerics`);
  }
}

/** Creates the root account, its self-signed root account-key and its store account-key. */
export function createRootAuthority(init: RootInit): RootAuthority {
  checkAccountId(init.rootId);
  const since = formatTimestamp(init.since ?? init.now);
  const account = sign(
    AccountType,
    {
      headers: {
        'authority-id': init.rootId,
        'account-id': init.rootId,
        'display-name': init.displayName ?? init.rootId,
        username: init.rootId,
        validation: 'verified',
        timestamp: since,
      },
    },
    init.rootKey,
    init.now,
  );
  const keyAssertion = (key: PublicKey, name: string) =>
    sign(
      AccountKeyType,
      {
        headers: { 'authority-id': init.rootId, 'account-id': init.rootId, name, 'public-key-sha3-384': key.id, since },
        body: key.encode(),
      },
      init.rootKey,
      init.now,
    );
  return {
    account,
    rootAccountKey: keyAssertion(init.rootKey.publicKey, 'root'),
    storeAccountKey: keyAssertion(init.storeKey.publicKey, 'store'),
  };
}

export interface AccountInit {
  rootId: string;
  /** The root's key that signs accounts (usually its store key, or the root key). */
  signer: PrivateKey;
  accountId: string;
  displayName?: string;
  username?: string;
  validation?: 'unproven' | 'starred' | 'verified';
  now: Date;
}

export function issueAccount(init: AccountInit): Assertion {
  checkAccountId(init.accountId);
  return sign(
    AccountType,
    {
      headers: {
        'authority-id': init.rootId,
        'account-id': init.accountId,
        'display-name': init.displayName ?? init.accountId,
        username: init.username ?? init.accountId,
        validation: init.validation ?? 'unproven',
        timestamp: formatTimestamp(init.now),
      },
    },
    init.signer,
    init.now,
  );
}

export interface AccountKeyInit {
  rootId: string;
  signer: PrivateKey;
  accountId: string;
  name: string;
  publicKey: PublicKey;
  since: Date;
  until?: Date;
  now: Date;
}

export function issueAccountKey(init: AccountKeyInit): Assertion {
  if (init.until && init.until < init.since) throw new AssertionError('assertion-sign-refused', "'until' time cannot be before 'since' time");
  return sign(
    AccountKeyType,
    {
      headers: {
        'authority-id': init.rootId,
        'account-id': init.accountId,
        name: init.name,
        'public-key-sha3-384': init.publicKey.id,
        since: formatTimestamp(init.since),
        ...(init.until ? { until: formatTimestamp(init.until) } : {}),
      },
      body: init.publicKey.encode(),
    },
    init.signer,
    init.now,
  );
}

/** Certifies the key of an account-key-request, after checking its self-signature. */
export function issueAccountKeyFromRequest(init: { rootId: string; signer: PrivateKey; request: Assertion; now: Date; since?: Date; until?: Date }): Assertion {
  verifyAccountKeyRequest(init.request);
  const req = init.request.data as AccountKeyRequestData;
  return issueAccountKey({
    rootId: init.rootId,
    signer: init.signer,
    accountId: req.accountId,
    name: req.name,
    publicKey: req.publicKey,
    since: init.since ?? req.since,
    ...((init.until ?? req.until) ? { until: (init.until ?? req.until)! } : {}),
    now: init.now,
  });
}
