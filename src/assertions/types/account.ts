// account: an identity known to the store (snapd asserts/account.go).
import type { AssertionType } from '../assertion.ts';
import { checkNotEmptyString, checkOptionalString, checkRFC3339Date } from '../checks.ts';
import { notDirectlyTrusted } from './common.ts';

export interface AccountData {
  readonly accountId: string;
  readonly displayName: string;
  readonly username: string;
  /** unproven, starred or verified (legacy "certified" reads as verified). */
  readonly validation: string;
  readonly timestamp: Date;
}

export const AccountType: AssertionType<AccountData> = {
  name: 'account',
  primaryKey: ['account-id'],
  maxFormat: 0,
  assemble({ headers }) {
    const displayName = checkNotEmptyString(headers, 'display-name');
    let validation = checkNotEmptyString(headers, 'validation');
    if (validation === 'certified') validation = 'verified';
    const timestamp = checkRFC3339Date(headers, 'timestamp');
    const username = checkOptionalString(headers, 'username');
    return { accountId: headers['account-id'] as string, displayName, username, validation, timestamp };
  },
  timestamp: (d) => d.timestamp,
  checkConsistency(db, a) {
    if (!db.isDirectlyTrusted(a.authorityId)) notDirectlyTrusted(`account assertion for "${a.data.accountId}"`, a.authorityId);
  },
};
