// The platform's own migrations, in order. Append new ones at the end; never
// edit one that has been released.
import type { ServiceMigrations } from '../migrate.ts';
import { accountsUsers } from './0001-accounts-users.ts';
import { apiTokens } from './0002-api-tokens.ts';
import { loginFailures } from './0003-login-failures.ts';
import { auditLog } from './0004-audit-log.ts';
import { signingKeys } from './0005-signing-keys.ts';
import { assertions } from './0006-assertions.ts';
import { storeDownloadRole } from './0007-store-download-role.ts';
import { approverRole } from './0008-approver-role.ts';

export const platformMigrations: ServiceMigrations = {
  service: 'platform',
  migrations: [accountsUsers, apiTokens, loginFailures, auditLog, signingKeys, assertions, storeDownloadRole, approverRole],
};
