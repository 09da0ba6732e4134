// account-key and account-key-request: public keys of accounts (snapd asserts/account_key.go).
import type { AssertionType } from '../assertion.ts';
import { checkNotEmptyString, checkStringMatches } from '../checks.ts';
import type { PublicKey } from '../crypto.ts';
import { ACCOUNT_KEY_NAME } from '../names.ts';
import { checkPublicKeyBody, checkSinceUntil, inconsistent, notDirectlyTrusted, type SinceUntil } from './common.ts';

export interface AccountKeyData extends SinceUntil {
  readonly accountId: string;
  /** The key's name within its account ("" when absent). */
  readonly name: string;
  readonly publicKeyId: string;
  readonly publicKey: PublicKey;
}

export const AccountKeyType: AssertionType<AccountKeyData> = {
  name: 'account-key',
  primaryKey: ['public-key-sha3-384'],
  maxFormat: 0,
  assemble({ headers, body }) {
    const accountId = checkNotEmptyString(headers, 'account-id');
    const name = Object.hasOwn(headers, 'name') ? checkStringMatches(headers, 'name', ACCOUNT_KEY_NAME) : '';
    const window = checkSinceUntil(headers);
    const publicKey = checkPublicKeyBody(headers, body, 'public-key-sha3-384');
    return { accountId, name, ...window, publicKeyId: publicKey.id, publicKey };
  },
  prerequisites: (a) => [{ type: 'account', primaryKey: [a.data.accountId] }],
  checkConsistency(db, a) {
    const { accountId, name, publicKeyId } = a.data;
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(`account-key assertion for "${accountId}"`, a.authorityId);
    if (!db.find('account', [accountId])) {
      inconsistent(`account-key assertion for "${accountId}" does not have a matching account assertion`);
    }
    if (name === '') return;
    for (const existing of db.findMany('account-key', { 'account-id': accountId, name })) {
      const existingId = existing.headerString('public-key-sha3-384');
      if (existingId !== publicKeyId) {
        inconsistent(
          `account-key assertion for "${accountId}" with ID "${publicKeyId}" has the same name "${name}" as existing ID "${existingId}"`,
        );
      }
    }
  },
};

export interface AccountKeyRequestData extends SinceUntil {
  readonly accountId: string;
  readonly name: string;
  readonly publicKeyId: string;
  readonly publicKey: PublicKey;
}

export const AccountKeyRequestType: AssertionType<AccountKeyRequestData> = {
  name: 'account-key-request',
  primaryKey: ['public-key-sha3-384'],
  noAuthority: true,
  maxFormat: 0,
  assemble({ headers, body }) {
    const accountId = checkNotEmptyString(headers, 'account-id');
    const name = checkStringMatches(headers, 'name', ACCOUNT_KEY_NAME);
    const window = checkSinceUntil(headers);
    const publicKey = checkPublicKeyBody(headers, body, 'public-key-sha3-384');
    return { accountId, name, ...window, publicKeyId: publicKey.id, publicKey };
  },
  prerequisites: (a) => [{ type: 'account', primaryKey: [a.data.accountId] }],
  checkConsistency(db, a) {
    if (!db.find('account', [a.data.accountId])) {
      inconsistent(`account-key-request assertion for "${a.data.accountId}" does not have a matching account assertion`);
    }
  },
};
