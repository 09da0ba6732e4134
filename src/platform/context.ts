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
}

/** Records what a request changed, with who, from where and its request id. */
export async function auditRequest(ctx: PlatformContext, req: FastifyRequest, event: Omit<AuditEvent, 'actor' | 'actorUserId' | 'ip' | 'requestId' | 'origin'>): Promise<void> {
  const p = req.principal;
  await appendAudit(
    ctx.db.kysely,
    {
      ...event,
      actor: p ? `user:${p.username}` : 'anonymous',
      actorUserId: p ? Number(p.userId) : null,
      origin: 'api',
      ip: req.ip,
      requestId: String(req.id),
    },
    ctx.now(),
  );
}
