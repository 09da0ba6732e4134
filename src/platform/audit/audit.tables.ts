// Row type of the audit log (created by db/migrations 0004).
import type { Generated } from 'kysely';
import type { DbTime } from '../db/values.ts';

/** Append-only: the table rejects UPDATE and DELETE (db/engine.ts: makeAppendOnly). */
export interface AuditLogTable {
  id: Generated<number>;
  at: DbTime;
  /** who: "user:NAME", "system", … */
  actor: string;
  actor_user_id: number | null;
  /** what, dotted: "account.create", "key.disable", … */
  action: string;
  target: string | null;
  account_id: string | null;
  origin: string | null;
  ip: string | null;
  request_id: string | null;
  /** JSON object */
  details: string | null;
}

export interface AuditTables {
  audit_log: AuditLogTable;
}
