// The store's side of update control (docs/update-control.md): the release a
// channel resolves to, as the pure core's ChannelRelease (with the revision
// the devices outside it keep: the recorded previous revision, or the
// channel's fall-through without it), and the per-device facts the store
// keeps for a release (offered, took, the revision last reported), read
// and written in batches.
import { sql, type Insertable } from 'kysely';
import { isControlled, type ChannelRelease, type DeviceIdentity } from '../rollout/index.ts';
import type { Channel } from '../channel/channel.ts';
import { fromDbTime, toDbTime } from '../platform/db/index.ts';
import { resolveChannel, type Release, type ReleaseHealth } from './channels.ts';
import type { DeviceSession } from './sessions.service.ts';
import { LEGACY_RELEASE, type StoreDb } from './store.repo.ts';
import type { StoreOwnTables } from './store.tables.ts';

/**
 * Whether a release is under update control's decision or measured by it
 * (progressive, paused, or a rollback). Releases made before update control
 * (no stored id, no known previous revision) are served to every device as
 * they were, until released again.
 */
export function watched(r: Release): boolean {
  return (
    r.releaseId !== undefined &&
    !r.releaseId.startsWith(LEGACY_RELEASE) &&
    (r.rollbackOf != null || r.health != null || r.plan != null || (r.groups?.length ?? 0) > 0 || (r.channelWindows?.length ?? 0) > 0 || isControlled({ percentage: r.progressivePercentage, paused: r.paused ?? false }))
  );
}

/**
 * The core's view of a watched release the channel resolved to: undefined
 * for a plain release (served to everyone without asking the core). The
 * devices outside get the recorded previous revision; when none was
 * recorded (the channel was empty), what the channel would serve without
 * this release (the next more stable risk, or nothing).
 */
export function channelRelease(r: Release, snapId: string, releases: readonly Release[], arch: string, channel: Channel, now: Date): ChannelRelease | undefined {
  // Releases are the catalog's, unchanged until it reloads: the view is made once, unless the
  // previous revision has to be found in the channel (that depends on the time and the channel).
  const memo = channelReleases.get(r);
  if (memo !== undefined) return memo ?? undefined;
  if (!watched(r)) {
    channelReleases.set(r, null);
    return undefined;
  }
  if (r.previousRevision != null) {
    const view = releaseView(r, snapId, r.previousRevision);
    channelReleases.set(r, view);
    return view;
  }
  return releaseView(r, snapId, resolveChannel(releases.filter((x) => x !== r && !(x.track === r.track && x.risk === r.risk && x.branch === r.branch)), arch, channel, now)?.release.revision ?? null);
}

const channelReleases = new WeakMap<Release, ChannelRelease | null>();

function releaseView(r: Release, snapId: string, previous: number | null): ChannelRelease {
  return {
    snapId,
    releaseId: r.releaseId!,
    revision: r.revision,
    previousRevision: previous,
    percentage: r.progressivePercentage,
    paused: r.paused ?? false,
    rollbackOf: r.rollbackOf ?? undefined,
    // Paused by itself (health): the revision is offered to nobody new.
    halted: (r.paused ?? false) && r.pausedReason != null,
    groups: r.groups,
    // A plan's own windows win over the channel's.
    windows: r.plan?.plan.windows.length ? r.plan.plan.windows : r.channelWindows,
  };
}

/** The core's view of a plain release (served to every device): what a held device's decision needs. */
export function plainRelease(r: Release, snapId: string): ChannelRelease {
  return { snapId, releaseId: r.releaseId ?? '', revision: r.revision, previousRevision: null, percentage: null, paused: false };
}

/**
 * A session's device identity, one object per session object (kept in the
 * session cache for a second): the core keeps a device's digest with its
 * identity, so the requests of one device within that second hash it once.
 */
export function identityOf(s: DeviceSession): DeviceIdentity {
  let id = identities.get(s);
  if (id === undefined) identities.set(s, (id = { brand: s.brandId, model: s.model, serial: s.serial }));
  return id;
}
const identities = new WeakMap<DeviceSession, DeviceIdentity>();

/** What the store recorded about one device and one release. */
export interface StoredFacts {
  offered: boolean;
  took: boolean;
  reportedRevision: number | null;
  reportedAt: Date | null;
}

/** The facts of one device for these releases (one query). */
export async function deviceFacts(db: StoreDb, device: DeviceIdentity, releaseIds: readonly string[]): Promise<Map<string, StoredFacts>> {
  const out = new Map<string, StoredFacts>();
  if (releaseIds.length === 0) return out;
  const rows = await db
    .selectFrom('store_rollout_devices')
    .select(['release_id', 'offered_at', 'took_at', 'reported_revision', 'reported_at'])
    .where('serial', '=', device.serial)
    .where('brand_id', '=', device.brand)
    .where('model', '=', device.model)
    .where('release_id', 'in', [...new Set(releaseIds)])
    .execute();
  for (const r of rows) {
    out.set(r.release_id, {
      offered: r.offered_at !== null,
      took: r.took_at !== null,
      reportedRevision: r.reported_revision === null ? null : Number(r.reported_revision),
      reportedAt: r.reported_at ? fromDbTime(r.reported_at) : null,
    });
  }
  return out;
}

/** One observation of a refresh: the device was offered the release's revision or not, and reported this revision. */
export interface Observation {
  releaseId: string;
  snapId: string;
  /** The release's revision. */
  revision: number;
  /** The release's health rules, when it has some. */
  health?: ReleaseHealth | null | undefined;
  offered: boolean;
  /** The installed revision the context reported (undefined on install). */
  reported: number | undefined;
  /** The reported revision is the release's. */
  took: boolean;
}

const MAX_REMEMBERED = 100_000;
/** What a process remembers of a device it counted as failed for a release. */
const FAILED = -1;
/**
 * ... of a device offered the revision that has not downloaded it: not tried,
 * so it cannot fail; its further check-ins are not written (a device holding
 * its refreshes would write at each one) until it downloads (forgetDownloaded).
 */
const NOT_TRIED = -2;
/** Otherwise what was written, as one number: offered (1), took (2), and the reported revision + 1 (0: none) times 4. */
const written = (offered: boolean, took: boolean, reported: number | undefined) => ((reported ?? -1) + 1) * 4 + (took ? 2 : 0) + (offered ? 1 : 0);
const deviceKeys = new WeakMap<DeviceIdentity, string>();
function deviceKey(d: DeviceIdentity): string {
  let key = deviceKeys.get(d);
  if (key === undefined) deviceKeys.set(d, (key = `${d.brand.length}:${d.brand}${d.model.length}:${d.model}${d.serial}`));
  return key;
}

/**
 * What a process wrote, per device and release, in nested maps: the device
 * key is made and looked up once per request, the release ids are the
 * catalog's own strings (V8 keeps their hashes): no key is built per snap.
 */
class Remembered {
  private byDevice = new Map<string, Map<string, number>>();
  private size = 0;
  /** One device's states by release id (looked up once per request). */
  of(device: string): Map<string, number> | undefined {
    return this.byDevice.get(device);
  }
  get(releaseId: string, device: string): number | undefined {
    return this.byDevice.get(device)?.get(releaseId);
  }
  set(releaseId: string, device: string, state: number): void {
    let releases = this.byDevice.get(device);
    if (!releases) this.byDevice.set(device, (releases = new Map()));
    if (!releases.has(releaseId) && ++this.size > MAX_REMEMBERED) {
      this.clear();
      return this.set(releaseId, device, state);
    }
    releases.set(releaseId, state);
  }
  delete(releaseId: string, device: string): void {
    if (this.byDevice.get(device)?.delete(releaseId)) this.size--;
  }
  clear(): void {
    this.byDevice = new Map();
    this.size = 0;
  }
}

/**
 * Writes observations as facts, in one upsert per request, and only those
 * that add something (first sighting, first offer, first take, a new
 * reported revision): a process remembers what it wrote, so a device that
 * refreshes every few hours writes nothing most of the time.
 */
export class FactRecorder {
  private written = new Remembered();
  /** Called when a device is counted as failed for a release with health rules (the store checks the threshold). */
  onFailed: (releaseId: string, health: ReleaseHealth, now: Date) => Promise<void> = async () => {};
  constructor(private readonly db: StoreDb) {}

  /**
   * A device of a release with health rules offered its revision while it
   * reports another: one more such check-in, written every time (only these
   * devices, and only until they are counted as failed); at the release's
   * number the device is counted as failed.
   */
  private async checkIn(device: DeviceIdentity, o: Observation, now: Date): Promise<typeof FAILED | typeof NOT_TRIED | undefined> {
    const health = o.health!;
    const at = toDbTime(now);
    const row = await this.db
      .insertInto('store_rollout_devices')
      .values({ release_id: o.releaseId, brand_id: device.brand, model: device.model, serial: device.serial, snap_id: o.snapId, first_seen_at: at, offered_at: at, took_at: null, reported_revision: o.reported ?? null, reported_at: at, checkins_after_offer: 1 })
      .onConflict((oc) =>
        oc.columns(['release_id', 'brand_id', 'model', 'serial']).doUpdateSet({
          offered_at: sql`coalesce(store_rollout_devices.offered_at, excluded.offered_at)`,
          reported_revision: sql`excluded.reported_revision`,
          reported_at: sql`excluded.reported_at`,
          checkins_after_offer: sql`store_rollout_devices.checkins_after_offer + 1`,
        }),
      )
      .returning(['checkins_after_offer', 'failed_at', 'took_at', 'downloaded_at'])
      .executeTakeFirstOrThrow();
    if (row.failed_at !== null) return FAILED;
    // Not downloaded: not tried yet (snapd holds the refresh, or has not got to it), not a failure.
    if (row.took_at === null && row.downloaded_at === null) return NOT_TRIED;
    if (row.took_at !== null) return undefined;
    const tooLong = health.failAfterSeconds != null && row.downloaded_at !== null && now.getTime() - fromDbTime(row.downloaded_at).getTime() >= health.failAfterSeconds * 1000;
    if (Number(row.checkins_after_offer) < health.failAfterCheckins && !tooLong) return undefined;
    const marked = await this.db
      .updateTable('store_rollout_devices')
      .set({ failed_at: at })
      .where('release_id', '=', o.releaseId)
      .where('brand_id', '=', device.brand)
      .where('model', '=', device.model)
      .where('serial', '=', device.serial)
      .where('failed_at', 'is', null)
      .executeTakeFirst();
    if (Number(marked.numUpdatedRows) > 0) await this.onFailed(o.releaseId, health, now);
    return FAILED;
  }

  /**
   * Writes what the observations add; undefined when there is nothing to
   * write (the usual refresh of a device the process already saw: no
   * promise, no tick).
   */
  record(device: DeviceIdentity, observations: readonly Observation[], now: Date): Promise<void> | undefined {
    let rows: Insertable<StoreOwnTables['store_rollout_devices']>[] | undefined;
    let states: [string, number][] | undefined;
    let checkIns: Observation[] | undefined;
    const dk = deviceKey(device);
    const remembered = this.written.of(dk);
    for (const o of observations) {
      const before = remembered?.get(o.releaseId);
      if (o.health && o.offered && !o.took && o.reported !== undefined) {
        // Counted as failed already, or not tried: nothing more to write for it (until it takes or downloads the revision).
        if (before !== FAILED && before !== NOT_TRIED) (checkIns ??= []).push(o);
        continue;
      }
      const known = before !== undefined && before >= 0 ? before : undefined;
      const offered = o.offered || (known !== undefined && (known & 1) === 1);
      const took = o.took || (known !== undefined && (known & 2) === 2);
      const reported = o.reported ?? (known !== undefined && known >= 4 ? Math.floor(known / 4) - 1 : undefined);
      const state = written(offered, took, reported);
      if (state === before) continue;
      (states ??= []).push([o.releaseId, state]);
      const at = toDbTime(now);
      (rows ??= []).push({
        release_id: o.releaseId,
        brand_id: device.brand,
        model: device.model,
        serial: device.serial,
        snap_id: o.snapId,
        first_seen_at: at,
        offered_at: o.offered ? at : null,
        took_at: o.took ? at : null,
        reported_revision: o.reported ?? null,
        reported_at: o.reported !== undefined ? at : null,
      });
    }
    if (!rows && !checkIns) return undefined;
    return this.write(device, dk, rows ?? [], states ?? [], checkIns ?? [], now);
  }

  private async write(device: DeviceIdentity, dk: string, rows: Insertable<StoreOwnTables['store_rollout_devices']>[], states: [string, number][], checkIns: readonly Observation[], now: Date): Promise<void> {
    for (const o of checkIns) {
      const state = await this.checkIn(device, o, now);
      if (state !== undefined) this.written.set(o.releaseId, dk, state);
    }
    if (rows.length === 0) return;
    await this.db
      .insertInto('store_rollout_devices')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['release_id', 'brand_id', 'model', 'serial']).doUpdateSet({
          offered_at: sql`coalesce(store_rollout_devices.offered_at, excluded.offered_at)`,
          took_at: sql`coalesce(store_rollout_devices.took_at, excluded.took_at)`,
          reported_revision: sql`coalesce(excluded.reported_revision, store_rollout_devices.reported_revision)`,
          reported_at: sql`coalesce(excluded.reported_at, store_rollout_devices.reported_at)`,
        }),
      )
      .execute();
    for (const [releaseId, state] of states) this.written.set(releaseId, dk, state);
  }

  /** A device downloaded these releases' revision: its next check-ins count again. */
  forgetDownloaded(device: DeviceIdentity, releaseIds: readonly string[]): void {
    const dk = deviceKey(device);
    for (const id of releaseIds) if (this.written.get(id, dk) === NOT_TRIED) this.written.delete(id, dk);
  }

  /** After a pause, resume or rollback: forget, so the next observations are written again. */
  forget(): void {
    this.written.clear();
  }
}

/** Per release: devices seen, offered the revision, that downloaded it, took it, counted as failed (tried and reverted, not on it since). */
export interface ReleaseCounts {
  seen: number;
  offered: number;
  took: number;
  failed: number;
  /** Devices that downloaded the revision (with their session). */
  downloaded?: number;
  /** Devices offered it that neither downloaded nor run it: not tried yet. */
  notTried?: number;
  /** Devices reporting the revision unhealthy (explicit health reports; counted in failed). */
  unhealthy?: number;
}

export async function releaseCounts(db: StoreDb, releaseIds: readonly string[]): Promise<Map<string, ReleaseCounts>> {
  const out = new Map<string, ReleaseCounts>();
  if (releaseIds.length === 0) return out;
  const rows = await db
    .selectFrom('store_rollout_devices')
    .select((eb) => [
      'release_id',
      eb.fn.countAll().as('seen'),
      eb.fn.count('offered_at').as('offered'),
      eb.fn.count('took_at').as('took'),
      // Failed: tried and reverted (not on it since), or reporting it unhealthy.
      eb.fn.sum(sql<number>`case when (failed_at is not null and took_at is null) or unhealthy_at is not null then 1 else 0 end`).as('failed'),
      eb.fn.count('downloaded_at').as('downloaded'),
      eb.fn.count('unhealthy_at').as('unhealthy'),
      eb.fn.sum(sql<number>`case when offered_at is not null and downloaded_at is null and took_at is null then 1 else 0 end`).as('not_tried'),
    ])
    .where('release_id', 'in', [...new Set(releaseIds)])
    .groupBy('release_id')
    .execute();
  for (const r of rows) out.set(r.release_id, { seen: Number(r.seen), offered: Number(r.offered), took: Number(r.took), failed: Number(r.failed ?? 0), downloaded: Number(r.downloaded), notTried: Number(r.not_tried ?? 0), unhealthy: Number(r.unhealthy) });
  return out;
}

/**
 * A device with a session downloaded a revision: noted on its facts for the
 * current releases of that revision it was offered (once: the first download).
 */
export async function recordDownload(db: StoreDb, device: DeviceIdentity, snapId: string, revision: number, now: Date): Promise<string[]> {
  const rows = await db
    .updateTable('store_rollout_devices')
    .set({ downloaded_at: toDbTime(now) })
    .where('serial', '=', device.serial)
    .where('brand_id', '=', device.brand)
    .where('model', '=', device.model)
    .where('snap_id', '=', snapId)
    .where('downloaded_at', 'is', null)
    .where('offered_at', 'is not', null)
    .where('release_id', 'in', (eb) => eb.selectFrom('store_releases').select('release_id').where('snap_id', '=', snapId).where('revision', '=', revision).where('release_id', 'is not', null).$narrowType<{ release_id: string }>())
    .returning('release_id')
    .execute();
  return rows.map((r) => r.release_id);
}

/** current-percentage per release: the share of the devices seen since the release that took it (one decimal). */
export function currentPercentages(counts: ReadonlyMap<string, ReleaseCounts>): Map<string, number> {
  return new Map([...counts].map(([id, c]) => [id, c.seen === 0 ? 0 : Math.round((c.took / c.seen) * 1000) / 10]));
}

/** A device group as the refresh path matches it. */
export interface DeviceGroup {
  storeId: string;
  name: string;
  models: string[];
  serials: string[];
  serialPattern: string | null;
  /** Devices carrying any of these labels (set through the API) are in the group. */
  labels: string[];
  held: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A glob on serials (`*` any run, `?` one character) as a RegExp. */
export function serialGlob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
}

/** A store's held groups, ready to match (kept per store for a second in the catalog). */
export interface HeldGroups {
  /** Some group takes devices by label: the device's labels must be read before matching. */
  readonly usesLabels: boolean;
  /** The held group the device is in, if any. */
  match(model: string, serial: string, labels?: readonly string[]): string | undefined;
  /** Every group of the store the device is in (for releases and plan steps targeting groups). */
  memberOf(model: string, serial: string, labels?: readonly string[]): string[];
}

export const NO_HELD_GROUPS: HeldGroups = Object.freeze({ usesLabels: false, match: () => undefined, memberOf: () => [] });

export function heldGroups(groups: readonly DeviceGroup[]): HeldGroups {
  if (groups.length === 0) return NO_HELD_GROUPS;
  const all = groups.map((g) => ({ name: g.name, held: g.held, models: new Set(g.models), serials: new Set(g.serials), pattern: g.serialPattern ? serialGlob(g.serialPattern) : null, labels: g.labels }));
  const held = all.filter((g) => g.held);
  const has = (g: (typeof all)[number], model: string, serial: string, labels: readonly string[] | undefined) =>
    g.models.has(model) || g.serials.has(serial) || (g.pattern !== null && g.pattern.test(serial)) || (labels !== undefined && g.labels.some((l) => labels.includes(l)));
  return {
    usesLabels: all.some((g) => g.labels.length > 0),
    match: held.length === 0 ? () => undefined : (model, serial, labels) => held.find((g) => has(g, model, serial, labels))?.name,
    memberOf: (model, serial, labels) => all.filter((g) => has(g, model, serial, labels)).map((g) => g.name),
  };
}

/** The labels a store's brand set on a device (none when it set none). */
export async function deviceLabels(db: StoreDb, storeId: string, device: DeviceIdentity): Promise<string[]> {
  const row = await db
    .selectFrom('store_device_labels')
    .select('labels')
    .where('store_id', '=', storeId)
    .where('brand_id', '=', device.brand)
    .where('model', '=', device.model)
    .where('serial', '=', device.serial)
    .executeTakeFirst();
  return row ? (JSON.parse(row.labels) as string[]) : [];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a selected row of store_device_groups
export function toDeviceGroup(r: any): DeviceGroup {
  return {
    storeId: r.store_id,
    name: r.name,
    models: JSON.parse(r.models) as string[],
    serials: JSON.parse(r.serials) as string[],
    serialPattern: r.serial_pattern ?? null,
    labels: r.labels ? (JSON.parse(r.labels) as string[]) : [],
    held: Number(r.held) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function groupsOf(db: StoreDb, storeId: string): Promise<DeviceGroup[]> {
  return (await db.selectFrom('store_device_groups').selectAll().where('store_id', '=', storeId).orderBy('name').execute()).map(toDeviceGroup);
}
