// The audit log: who did what, to what, in which account, from where.
// Append-only by design: this module offers no update or delete, and the
// table's triggers refuse them (db/engine.ts: makeAppendOnly).
import type { Kysely, Selectable } from 'kysely';
import type { PlatformTables } from '../db/platform.tables.ts';
import { fromDbJson, fromDbTime, toDbJson, toDbTime } from '../db/values.ts';
import type { AuditLogTable } from './audit.tables.ts';

/** What to record. */
export interface AuditEvent {
  /** who: "user:NAME", "system", "device:SERIAL", … (see actorOf) */
  actor: string;
  actorUserId?: number | null;
  /** what, dotted and stable: "account.create", "token.revoke", "key.disable" */
  action: string;
  /** what it was done to: an id or name */
  target?: string | null;
  /** the account it concerns, for per-account listing */
  accountId?: string | null;
  /** where the request came from: "api", "cli", "bootstrap", … */
  origin?: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** anything else worth keeping; stored as JSON, so never secrets */
  details?: Record<string, unknown> | null;
}

/** A recorded event. */
export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  actorUserId: number | null;
  action: string;
  target: string | null;
  accountId: string | null;
  origin: string | null;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
}

/** The actor string for a user. */
export function actorOf(user: { username: string }): string {
  return `user:${user.username}`;
}

/** Appends an event; returns it as stored. */
export async function appendAudit(db: Kysely<PlatformTables>, event: AuditEvent, now: Date = new Date()): Promise<AuditEntry> {
  const row = await db
    .insertInto('audit_log')
    .values({
      at: toDbTime(now),
      actor: event.actor,
      actor_user_id: event.actorUserId ?? null,
      action: event.action,
      target: event.target ?? null,
      account_id: event.accountId ?? null,
      origin: event.origin ?? null,
      ip: event.ip ?? null,
      request_id: event.requestId ?? null,
      details: event.details ? toDbJson(event.details) : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toEntry(row);
}

export interface AuditQuery {
  /** Only this account's events; omitted: every event (operator view). */
  accountId?: string;
  /** Only this action. */
  action?: string;
  /** Paging: only events older than this id (the previous page's `nextBefore`). */
  before?: number;
  /** Page size, 1-500 (default 50). */
  limit?: number;
}

export interface AuditPage {
  /** Newest first. */
  entries: AuditEntry[];
  /** Pass as `before` for the next page; undefined on the last page. */
  nextBefore?: number;
}

/** Lists events newest first, a page at a time (keyset paging on id, stable while new events arrive). */
export async function listAudit(db: Kysely<PlatformTables>, query: AuditQuery = {}): Promise<AuditPage> {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), 500);
  let q = db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit + 1);
  if (query.accountId !== undefined) q = q.where('account_id', '=', query.accountId);
  if (query.action !== undefined) q = q.where('action', '=', query.action);
  if (query.before !== undefined) q = q.where('id', '<', query.before);
  const rows = await q.execute();
  const entries = rows.slice(0, limit).map(toEntry);
  return rows.length > limit ? { entries, nextBefore: entries.at(-1)!.id } : { entries };
}

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id,
    at: fromDbTime(row.at),
    actor: row.actor,
    actorUserId: row.actor_user_id,
    action: row.action,
    target: row.target,
    accountId: row.account_id,
    origin: row.origin,
    ip: row.ip,
    requestId: row.request_id,
    details: row.details === null ? null : fromDbJson<Record<string, unknown>>(row.details),
  };
}
