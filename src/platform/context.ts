// What every route and service of one server process shares.
import type { FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import type { Database } from './db/index.ts';
import type { BlobStore } from './blobs/index.ts';
import type { KeyCustody } from './keys/index.ts';
import type { Metrics } from './http/metrics.ts';
import type { RootAuthority } from './root-authority.ts';
import type { PrincipalCache } from './http/principal-cache.ts';
import { appendAudit, type AuditEvent } from './audit/index.ts';
import type { Principal } from './http/access.ts';

export interface PlatformContext {
  readonly config: Config;
  readonly db: Database;
  readonly blobs: BlobStore;
  readonly keys: KeyCustody;
  readonly metrics: Metrics;
  readonly root: RootAuthority;
  readonly now: () => Date;
  readonly version: string;
  /** Resolved tokens, kept a second; clear it after changing tokens or roles. */
  readonly principals: PrincipalCache;
  /** Who an API token is (through `principals`); unknown, expired or revoked tokens throw AuthError. */
  readonly authenticate: (token: string) => Promise<Principal>;
}

/**
 * Who asks a service to do something, without HTTP: the caller's principal
 * (undefined for anonymous callers and devices), where from, and the request
 * id that ties the audit trail to the server log. Route adapters build it with
 * `actorOf(req)`; other callers (the console, tests, jobs) build their own.
 */
export interface Actor {
  readonly principal: Principal | undefined;
  readonly ip: string;
  readonly requestId: string;
  readonly origin?: string;
}

/** The actor of an HTTP request. */
export function actorOf(req: FastifyRequest): Actor {
  return { principal: req.principal, ip: req.ip, requestId: String(req.id) };
}

export type AuditFacts = Omit<AuditEvent, 'actor' | 'actorUserId' | 'ip' | 'requestId' | 'origin'>;

/** Records what an actor changed, with who, from where and its request id. */
export async function audit(ctx: PlatformContext, actor: Actor, event: AuditFacts): Promise<void> {
  const p = actor.principal;
  await appendAudit(
    ctx.db.kysely,
    {
      ...event,
      actor: p ? `user:${p.username}` : 'anonymous',
      actorUserId: p ? Number(p.userId) : null,
      origin: actor.origin ?? 'api',
      ip: actor.ip,
      requestId: actor.requestId,
    },
    ctx.now(),
  );
}

/** `audit` for the actor of an HTTP request. */
export async function auditRequest(ctx: PlatformContext, req: FastifyRequest, event: AuditFacts): Promise<void> {
  await audit(ctx, actorOf(req), event);
}
