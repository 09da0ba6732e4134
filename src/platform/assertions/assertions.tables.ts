import type { DbTime } from '../db/values.ts';

export interface AssertionsTable {
  type: string;
  primary_key: string;
  revision: number;
  format: number;
  authority_id: string | null;
  sign_key_id: string;
  encoded: string;
  created_at: DbTime;
}

export interface AssertionTables {
  assertions: AssertionsTable;
}
