// Store data access: stores, snaps, revisions, releases. Functions take a
// Kysely over the store's tables, so a transaction can be passed in.
import { randomInt } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConflictError, fromDbTime, toDbTime } from '../platform/db/index.ts';
import type { Release } from './channels.ts';
import type { MaintenanceWindow, RolloutPlan } from '../rollout/index.ts';
import type { StoreTables } from './store.tables.ts';

export type StoreDb = Kysely<StoreTables>;

/** Who sees a store's private snaps (docs/store.md, Visibility). */
export const PRIVATE_ACCESS = ['verified', 'store-id'] as const;
export type PrivateAccess = (typeof PRIVATE_ACCESS)[number];

export interface Store {
  storeId: string;
  brandId: string;
  includes: string[];
  createdAt: string;
  /** 'verified': device sessions of the store's models and store-download credentials; 'store-id': any request naming the store. */
  privateAccess: PrivateAccess;
}

export interface Snap {
  snapId: string;
  storeId: string;
  name: string;
  publisherId: string;
  private: boolean;
  defaultTrack: string;
  createdAt: string;
}

export interface Revision {
  snapId: string;
  revision: number;
  version: string;
  type: string;
  confinement: string;
  grade: string;
  base: string | null;
  architectures: string[];
  epoch: { read: number[]; write: number[] };
  summary: string;
  title: string;
  description: string;
  license: string;
  snapYaml: string;
  sha3_384: string;
  size: number;
  developerId: string;
  createdAt: string;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A new snap-id: 32 random alphanumerics, as the snap store makes them. */
export function newSnapId(): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return s;
}

type StoreRow = StoreTables['store_stores'];
type SnapRow = StoreTables['store_snaps'];

export const toStore = (r: Omit<StoreRow, 'private_access'> & { private_access: string }): Store => ({
  storeId: r.store_id,
  brandId: r.brand_id,
  includes: JSON.parse(r.includes) as string[],
  createdAt: r.created_at,
  privateAccess: r.private_access === 'verified' ? 'verified' : 'store-id',
});
export const toSnap = (r: SnapRow): Snap => ({
  snapId: r.snap_id,
  storeId: r.store_id,
  name: r.name,
  publisherId: r.publisher_id,
  private: r.private === 1,
  defaultTrack: r.default_track,
  createdAt: r.created_at,
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a selected row of store_revisions
export function toRevision(r: any): Revision {
  return {
    snapId: r.snap_id,
    revision: Number(r.revision),
    version: r.version,
    type: r.type,
    confinement: r.confinement,
    grade: r.grade,
    base: r.base,
    architectures: JSON.parse(r.architectures) as string[],
    epoch: JSON.parse(r.epoch) as { read: number[]; write: number[] },
    summary: r.summary,
    title: r.title,
    description: r.description,
    license: r.license,
    snapYaml: r.snap_yaml,
    sha3_384: r.sha3_384,
    size: Number(r.size),
    developerId: r.developer_id,
    createdAt: r.created_at,
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a selected row of store_releases
export function toRelease(r: any): Release & { snapId: string } {
  return {
    snapId: r.snap_id,
    architecture: r.architecture,
    track: r.track,
    risk: r.risk,
    branch: r.branch,
    revision: Number(r.revision),
    progressivePercentage: r.progressive_percentage === null ? null : Number(r.progressive_percentage),
    releasedAt: fromDbTime(r.released_at),
    expiresAt: r.expires_at ? fromDbTime(r.expires_at) : null,
    ...rolloutColumns(r),
  };
}

/** The prefix of the release id derived for a row released before update control (migration 0004). */
export const LEGACY_RELEASE = 'legacy:';

/**
 * The update-control columns of a store_releases row (migration 0004). Rows
 * written before have no release id: one is derived from what identifies
 * the release (stable until the channel is released again). Their previous
 * revision is unknown, so they are served as before (to every device) until
 * released again, and cannot be paused or rolled back.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a selected row of store_releases
export function rolloutColumns(r: any): Pick<Release, 'releaseId' | 'previousRevision' | 'paused' | 'rollbackOf' | 'health' | 'pausedReason' | 'plan' | 'groups' | 'channelWindows'> {
  const track = r.track as string;
  const channel = [track, r.risk, r.branch].filter(Boolean).join('/');
  return {
    releaseId: r.release_id ?? `${LEGACY_RELEASE}${r.snap_id}:${r.architecture}:${channel}:${Number(r.revision)}:${r.released_at}`,
    previousRevision: r.previous_revision === null || r.previous_revision === undefined ? null : Number(r.previous_revision),
    paused: Number(r.paused ?? 0) === 1,
    rollbackOf: r.rollback_of ?? null,
    health:
      r.fail_after_checkins === null || r.fail_after_checkins === undefined
        ? null
        : {
            failAfterCheckins: Number(r.fail_after_checkins),
            errorThreshold: r.error_threshold === null ? null : Number(r.error_threshold),
            minDevices: Number(r.min_devices ?? 1),
            failAfterSeconds: r.fail_after_seconds === null || r.fail_after_seconds === undefined ? null : Number(r.fail_after_seconds),
          },
    pausedReason: r.paused_reason ?? null,
    plan: r.plan ? { plan: JSON.parse(r.plan) as RolloutPlan, step: Number(r.plan_step ?? 0), startedAt: fromDbTime(r.step_started_at) } : null,
    groups: r.target_groups ? (JSON.parse(r.target_groups) as string[]) : [],
    channelWindows: r.channel_windows ? (JSON.parse(r.channel_windows) as MaintenanceWindow[]) : undefined,
  };
}

export async function getStore(db: StoreDb, storeId: string): Promise<Store | undefined> {
  const r = await db.selectFrom('store_stores').selectAll().where('store_id', '=', storeId).executeTakeFirst();
  return r ? toStore(r) : undefined;
}

export async function setPrivateAccess(db: StoreDb, storeId: string, access: PrivateAccess): Promise<void> {
  await db.updateTable('store_stores').set({ private_access: access }).where('store_id', '=', storeId).execute();
}

export async function listStores(db: StoreDb): Promise<Store[]> {
  return (await db.selectFrom('store_stores').selectAll().orderBy('store_id').execute()).map(toStore);
}

export async function insertStore(db: StoreDb, s: { storeId: string; brandId: string; includes: string[]; privateAccess?: PrivateAccess }, now: Date): Promise<Store> {
  const row = { store_id: s.storeId, brand_id: s.brandId, includes: JSON.stringify(s.includes), created_at: toDbTime(now), private_access: s.privateAccess ?? 'verified' };
  await db.insertInto('store_stores').values(row).execute();
  return toStore(row);
}

export async function snapsNamed(db: StoreDb, name: string): Promise<Snap[]> {
  return (await db.selectFrom('store_snaps').selectAll().where('name', '=', name).execute()).map(toSnap);
}

/** Snaps by name prefix or substring (at most 500, by name), or the first 500. */
export async function findSnaps(db: StoreDb, by: { prefix?: string; substring?: string }): Promise<Snap[]> {
  let query = db.selectFrom('store_snaps').selectAll();
  if (by.prefix !== undefined) query = query.where('name', 'like', `${by.prefix}%`);
  else if (by.substring) query = query.where('name', 'like', `%${by.substring}%`);
  return (await query.orderBy('name').limit(500).execute()).map(toSnap);
}

/** The accounts that may upload and release a snap besides its publisher, sorted. */
export async function collaboratorsOf(db: StoreDb, snapId: string): Promise<string[]> {
  const rows = await db.selectFrom('store_snap_collaborators').select('account_id').where('snap_id', '=', snapId).orderBy('account_id').execute();
  return rows.map((r) => r.account_id);
}

/** Adds a collaborator; false when it already was one. */
export async function addCollaborator(db: StoreDb, snapId: string, accountId: string, now: Date): Promise<boolean> {
  try {
    await db.insertInto('store_snap_collaborators').values({ snap_id: snapId, account_id: accountId, created_at: toDbTime(now) }).execute();
    return true;
  } catch (err) {
    if (err instanceof ConflictError) return false;
    throw err;
  }
}

/** Removes a collaborator; false when it was not one. */
export async function removeCollaborator(db: StoreDb, snapId: string, accountId: string): Promise<boolean> {
  const res = await db.deleteFrom('store_snap_collaborators').where('snap_id', '=', snapId).where('account_id', '=', accountId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

export async function snapById(db: StoreDb, snapId: string): Promise<Snap | undefined> {
  const r = await db.selectFrom('store_snaps').selectAll().where('snap_id', '=', snapId).executeTakeFirst();
  return r ? toSnap(r) : undefined;
}

export async function revisionsOf(db: StoreDb, snapId: string): Promise<Revision[]> {
  return (await db.selectFrom('store_revisions').selectAll().where('snap_id', '=', snapId).orderBy('revision', 'desc').execute()).map(toRevision);
}

export async function revisionOf(db: StoreDb, snapId: string, revision: number): Promise<Revision | undefined> {
  const r = await db.selectFrom('store_revisions').selectAll().where('snap_id', '=', snapId).where('revision', '=', revision).executeTakeFirst();
  return r ? toRevision(r) : undefined;
}

export async function revisionByDigest(db: StoreDb, hex: string): Promise<Revision | undefined> {
  const r = await db.selectFrom('store_revisions').selectAll().where('sha3_384', '=', hex).executeTakeFirst();
  return r ? toRevision(r) : undefined;
}

export async function releasesOf(db: StoreDb, snapIds: readonly string[]): Promise<Map<string, Release[]>> {
  const out = new Map<string, Release[]>();
  if (snapIds.length === 0) return out;
  const rows = await db
    .selectFrom('store_releases as r')
    .leftJoin('store_channel_windows as w', (j) => j.onRef('w.snap_id', '=', 'r.snap_id').onRef('w.track', '=', 'r.track').onRef('w.risk', '=', 'r.risk').onRef('w.branch', '=', 'r.branch'))
    .selectAll('r')
    .select('w.windows as channel_windows')
    .where('r.snap_id', 'in', snapIds)
    .execute();
  for (const row of rows) {
    const r = toRelease(row);
    const list = out.get(r.snapId) ?? [];
    list.push(r);
    out.set(r.snapId, list);
  }
  return out;
}

/** Revisions by (snap-id, revision) in one query. */
export async function revisionsByKeys(db: StoreDb, keys: readonly { snapId: string; revision: number }[]): Promise<Map<string, Revision>> {
  const out = new Map<string, Revision>();
  if (keys.length === 0) return out;
  const snapIds = [...new Set(keys.map((k) => k.snapId))];
  const revs = [...new Set(keys.map((k) => k.revision))];
  const rows = await db.selectFrom('store_revisions').selectAll().where('snap_id', 'in', snapIds).where('revision', 'in', revs).execute();
  for (const row of rows) {
    const r = toRevision(row);
    out.set(`${r.snapId}#${r.revision}`, r);
  }
  return out;
}
