// What the signed-in user may do, from /api/whoami: the same role rules the
// server applies (src/platform/http/access.ts), so that the console offers
// only what the server would allow. The server still decides every request.

export type Role = 'admin' | 'publisher' | 'viewer' | 'factory-operator' | 'store-download' | 'approver';

export interface Me {
  username: string;
  superuser: boolean;
  roles: Record<string, Role[]>;
}

export function hasRole(me: Me, accountId: string | undefined, roles: readonly Role[]): boolean {
  if (me.superuser) return true;
  if (!accountId) return false;
  return [accountId, '*'].some((a) => (me.roles[a] ?? []).some((r) => roles.includes(r)));
}

/** The server's role groups, by what they allow. */
export const ROLES = {
  /** Store reads: snaps, channel maps, rollouts, groups (src/store READ_ROLES). */
  storeRead: ['admin', 'publisher', 'viewer'],
  /** Upload, release, close, rollout and group changes (PUBLISH_ROLES). */
  publish: ['admin', 'publisher'],
  /** Vault reads: keys, models, factory API keys (vault READERS). */
  vaultRead: ['admin', 'viewer'],
  /** Vault changes, account keys and members, the account's audit log. */
  admin: ['admin'],
  /** The signing log (vault LOG_READERS). */
  logRead: ['admin', 'viewer', 'factory-operator'],
  /** Release requests and controlled channels, seen (src/store APPROVAL_SEE_ROLES). */
  approvalsRead: ['admin', 'publisher', 'viewer', 'approver'],
  /** Approve or deny a release request of someone else (APPROVER_ROLES). */
  approve: ['approver'],
  /** An account's own data (accounts READERS). */
  accountRead: ['admin', 'publisher', 'viewer', 'factory-operator'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof ROLES;

export function can(me: Me, permission: Permission, accountId: string | undefined): boolean {
  return hasRole(me, accountId, ROLES[permission]);
}
