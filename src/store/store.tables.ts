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
  /** Stable id of the release (migration 0004): kept when the same revision is released again; null for older rows (an id is derived). */
  release_id: string | null;
  /** What the channel served before (for devices outside a progressive or paused release); null: nothing, devices fall through. */
  previous_revision: number | null;
  /** 1: paused (only devices already offered the revision keep it). */
  paused: Generated<number>;
  /** The release id this release rolled back, if it is a rollback. */
  rollback_of: string | null;
  /** Health (migration 0006): a device offered the revision that still reports another at this many check-ins has failed. */
  fail_after_checkins: number | null;
  /** Percentage of failed devices (of those offered) that pauses the rollout by itself, once `min_devices` were offered. */
  error_threshold: number | null;
  min_devices: number | null;
  /** Health (migration 0010): a device that downloaded the revision and still reports another this many seconds later has failed. */
  fail_after_seconds: number | null;
  /** Why the rollout paused by itself. */
  paused_reason: string | null;
  /** The rollout plan the release follows (migration 0007): the normalised plan as JSON, or null. */
  plan: string | null;
  /** The plan's step the release is at (0-based). */
  plan_step: number | null;
  step_started_at: DbTime | null;
  /** JSON array of device group names whose devices are offered the revision whatever their bucket, or null. */
  target_groups: string | null;
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
  /** The release's id (null for events before migration 0004 and for closes). */
  release_id: string | null;
}

/** What the store saw of one device for one release (update control): minimal facts. */
export interface StoreRolloutDevicesTable {
  release_id: string;
  brand_id: string;
  model: string;
  serial: string;
  snap_id: string;
  first_seen_at: DbTime;
  /** When the device was first offered the release's revision. */
  offered_at: DbTime | null;
  /** When the device first reported the release's revision as installed. */
  took_at: DbTime | null;
  /** The revision the device last reported in its refresh context. */
  reported_revision: number | null;
  reported_at: DbTime | null;
  /** Check-ins at which the device was offered the revision and reported another (migration 0006). */
  checkins_after_offer: Generated<number>;
  /** When it was counted as failed (offered, downloaded, still on another revision after the release's number of check-ins). */
  failed_at: DbTime | null;
  /** When the device (its session) first downloaded the release's revision (migration 0009). */
  downloaded_at: DbTime | null;
  /** Explicit health (migration 0012): since when the device reports the revision unhealthy (null: healthy or no report). */
  unhealthy_at: DbTime | null;
  health_message: string | null;
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

/** A named set of a store's devices (update control); a held group is offered nothing new. */
/** The labels a store's brand set on one device (migration 0013). */
export interface StoreDeviceLabelsTable {
  store_id: string;
  brand_id: string;
  model: string;
  serial: string;
  /** JSON array of labels, sorted. */
  labels: string;
  updated_at: DbTime;
}

export interface StoreDeviceGroupsTable {
  store_id: string;
  name: string;
  /** JSON array of model names. */
  models: string;
  /** JSON array of serials. */
  serials: string;
  /** A glob (`*`, `?`) on serials, or null. */
  serial_pattern: string | null;
  /** JSON array of device labels (devices carrying any are in the group), or null (migration 0013). */
  labels: string | null;
  held: Generated<number>;
  created_at: DbTime;
  updated_at: DbTime;
}

/** A channel a store controls (migration 0008): releasing to it waits for an approver. "stable" is every track's stable; "2.0/stable" one track's. */
export interface StoreControlledChannelsTable {
  store_id: string;
  channel: string;
  created_at: DbTime;
}

/** A release to controlled channels, waiting for an approver, approved or denied. */
export interface StoreReleaseRequestsTable {
  id: Generated<number>;
  store_id: string;
  snap_id: string;
  revision: number;
  /** JSON array of the channels' full names. */
  channels: string;
  /** The release request body (JSON), released as it is once approved. */
  body: string;
  state: 'pending' | 'approved' | 'denied';
  /** Who asked (username) and their user id: nobody approves their own request. */
  requested_by: string;
  requested_by_user: string;
  requested_at: DbTime;
  decided_by: string | null;
  decided_at: DbTime | null;
  reason: string | null;
}

/** A channel's maintenance windows (migration 0011): JSON array of the core's MaintenanceWindow. */
export interface StoreChannelWindowsTable {
  snap_id: string;
  track: string;
  risk: string;
  branch: string;
  windows: string;
  updated_at: DbTime;
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
  store_rollout_devices: StoreRolloutDevicesTable;
  store_device_groups: StoreDeviceGroupsTable;
  store_device_labels: StoreDeviceLabelsTable;
  store_controlled_channels: StoreControlledChannelsTable;
  store_release_requests: StoreReleaseRequestsTable;
  store_channel_windows: StoreChannelWindowsTable;
};

export type StoreTables = PlatformTables & StoreOwnTables;
