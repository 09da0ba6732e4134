// Who may call what. Every route declares its access in `config.access`; a
// route without one makes the server refuse to start, so nothing is ever
// exposed by accident (the authorization matrix test lists them all).
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';

export const ROLES = ['admin', 'publisher', 'viewer', 'factory-operator', 'store-download', 'approver'] as const;
export type Role = (typeof ROLES)[number];

/** A grant of roles on one account (or on every account for '*'). */
export interface Grant {
  accountId: string;
  roles: readonly Role[];
}

/** The authenticated caller of a request. */
export interface Principal {
  userId: string;
  username: string;
  /** The operator's administrator: may do everything. */
  superuser: boolean;
  grants: readonly Grant[];
  /** Set when the caller used an API token. */
  tokenId?: string;
}

export type Access =
  /** Anyone; the route does its own checks if any (health, snapd-facing device APIs). */
  | { kind: 'public' }
  /** Any authenticated caller. */
  | { kind: 'authenticated' }
  /** Only the operator's superuser. */
  | { kind: 'superuser' }
  /** Callers holding one of `roles` on the account the request acts on. */
  | { kind: 'account'; roles: readonly Role[]; account: (req: FastifyRequest) => string | undefined };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function hasRole(p: Principal, accountId: string, roles: readonly Role[]): boolean {
  if (p.superuser) return true;
  return p.grants.some((g) => (g.accountId === accountId || g.accountId === '*') && g.roles.some((r) => roles.includes(r)));
}

/** The account ids on which the principal holds any of `roles` ('*' for all). */
export function accountsWithRole(p: Principal, roles: readonly Role[]): string[] | '*' {
  if (p.superuser) return '*';
  const ids = p.grants.filter((g) => g.roles.some((r) => roles.includes(r))).map((g) => g.accountId);
  return ids.includes('*') ? '*' : [...new Set(ids)];
}

/** Decides a request; throws 401/403 ApiErrors. */
export function authorize(access: Access, req: FastifyRequest): void {
  if (access.kind === 'public') return;
  const p = req.principal;
  if (!p) throw new ApiError('unauthorized', 'authentication required: send "Authorization: Bearer <token>"');
  if (access.kind === 'authenticated') return;
  if (access.kind === 'superuser') {
    if (!p.superuser) throw new ApiError('forbidden', 'only the operator administrator may do this');
    return;
  }
  const accountId = access.account(req);
  if (accountId === undefined) throw new ApiError('bad-request', 'the request does not name an account');
  if (!hasRole(p, accountId, access.roles)) {
    throw new ApiError('forbidden', `requires role ${access.roles.join(' or ')} on account ${JSON.stringify(accountId)}`);
  }
}
