// The store's tables (service "store"). Times are DbTime strings, booleans
// 0/1, JSON as text (see docs/platform.md, value representations).
import type { Generated } from 'kysely';
import type { DbTime } from '../platform/db/values.ts';
import type { PlatformTables } from '../platform/db/platform.tables.ts';

export interface StoresTable {
  store_id: string;
  brand_id: string;
  /** JSON array of store ids whose snaps this store also serves. */
  includes: string;
  created_at: DbTime;
  /** Who sees its private snaps: 'verified' (device sessions of its models, store-download credentials) or 'store-id' (any request naming it; stores made before migration 0003). */
  private_access: Generated<string>;
}

export interface StoreSnapsTable {
  snap_id: string;
  store_id: string;
  name: string;
  publisher_id: string;
  /** 1: visible only to requests naming the store (or one including it). */
  private: number;
  default_track: string;
  created_at: DbTime;
}

export interface StoreRevisionsTable {
  id: Generated<number>;
  snap_id: string;
  revision: number;
  version: string;
  type: string;
  confinement: string;
  grade: string;
  base: string | null;
  /** JSON array, e.g. ["amd64"] or ["all"]. */
  architectures: string;
  /** JSON {"read":[..],"write":[..]}. */
  epoch: string;
  summary: string;
  title: string;
  description: string;
  license: string;
  snap_yaml: string;
  /** Lowercase hex SHA3-384 of the whole file. */
  sha3_384: string;
  size: number;
  developer_id: string;
  created_at: DbTime;
}

export interface StoreReleasesTable {
  snap_id: string;
  /** A dpkg architecture, or "all". */
  architecture: string;
  track: string;
  risk: string;
  /** "" when the channel has no branch. */
  branch: string;
  revision: number;
  progressive_percentage: number | null;
  released_at: DbTime;
  /** Branches expire; null for track/risk channels. */
  expires_at: DbTime | null;
}

export interface StoreReleaseHistoryTable {
  id: Generated<number>;
  snap_id: string;
  architecture: string;
  channel: string;
  /** null when the channel was closed. */
  revision: number | null;
  progressive_percentage: number | null;
  actor: string;
  at: DbTime;
}

/** Accounts that may upload and release a snap besides its publisher. */
export interface StoreSnapCollaboratorsTable {
  snap_id: string;
  account_id: string;
  created_at: DbTime;
}

export interface StoreNoncesTable {
  nonce: string;
  expires_at: DbTime;
}

export interface StoreSessionsTable {
  /** hex SHA-256 of the opaque session token. */
  token_hash: string;
  store_id: string;
  brand_id: string;
  model: string;
  serial: string;
  created_at: DbTime;
  expires_at: DbTime;
}

// A type alias (not an interface) so that Kysely's withTables accepts it.
export type StoreOwnTables = {
  store_stores: StoresTable;
  store_snaps: StoreSnapsTable;
  store_revisions: StoreRevisionsTable;
  store_releases: StoreReleasesTable;
  store_release_history: StoreReleaseHistoryTable;
  store_snap_collaborators: StoreSnapCollaboratorsTable;
  store_nonces: StoreNoncesTable;
  store_sessions: StoreSessionsTable;
};

export type StoreTables = PlatformTables & StoreOwnTables;
