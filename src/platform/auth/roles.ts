// The roles a user can hold in an account, and what a token may carry.

/**
 * Roles per account: what a member may do in that account. `store-download`:
 * see and download the private snaps of the account's stores (image builds,
 * docs/store.md, Visibility), and nothing else. `approver`: approve or deny
 * releases to the channels the account's stores control (update control).
 */
export const ACCOUNT_ROLES = ['admin', 'publisher', 'viewer', 'factory-operator', 'store-download', 'approver'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

/**
 * What an API token may carry: account roles, and 'superuser', which only
 * takes effect for a global token of a superuser (the operator's admin).
 */
export const TOKEN_ROLES = [...ACCOUNT_ROLES, 'superuser'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export function isAccountRole(value: unknown): value is AccountRole {
  return (ACCOUNT_ROLES as readonly unknown[]).includes(value);
}

export function isTokenRole(value: unknown): value is TokenRole {
  return (TOKEN_ROLES as readonly unknown[]).includes(value);
}
