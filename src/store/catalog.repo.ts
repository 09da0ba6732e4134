// What the device API reads, cached per process: per snap, the snap, its live
// releases and the revisions they point to, loaded in one joined query and
// kept for a second (like the platform's token cache: a release reaches
// devices served by other processes within a second; this process sees its
// own changes at once); the stores, publisher accounts and release histories.
// Device sessions are cached in sessions.service.ts.
import { findAccount } from '../platform/auth/index.ts';
import { TtlCache, type TtlCacheOptions } from '../platform/cache/ttl-cache.ts';
import { fromDbTime, platformView } from '../platform/db/index.ts';
import type { Release } from './channels.ts';
import type { ReleaseEvent } from './cohorts.ts';
import { groupsOf, heldGroups, watched, type HeldGroups } from './rollouts.ts';
import { listStores, rolloutColumns, toRevision, toSnap, type Revision, type Snap, type Store, type StoreDb } from './store.repo.ts';

export interface CatalogEntry {
  snap: Snap;
  releases: Release[];
  /** The released revisions, by number. */
  revisions: Map<number, Revision>;
  /**
   * Revisions read since the entry loaded that no channel releases (the
   * previous revision a device outside a progressive release keeps getting, a
   * revision asked for by number): revisions never change, so they live as
   * long as the entry (built on first use).
   */
  readRevisions?: Map<number, Revision>;
  /** Some release is progressive, paused or a rollback: refreshes ask update control (src/rollout) and record facts. */
  watched: boolean;
  /** Serialized snap results (`,"snap-id":…,"name":…,"snap":{…}`) by base URL (prefixed "yaml " with snap-yaml), then revision (built on first use; dropped with the entry). */
  json: Map<string, Map<number, Buffer>>;
}

export const CATALOG_TTL_MS = 1000;
const MAX_ENTRIES = 50_000;

/** A cached value and when its load ended (ms, the caches' clock). */
interface Loaded<T> {
  value: T;
  loadedAt: number;
}

/**
 * Catalog entries by snap-id and snap-ids by name, in the platform's TtlCache.
 * An entry is fresh for `ttlMs`; then, for `staleMs` more, it is still served
 * while one refresh of it runs in the background, so an expiry never stalls
 * the requests in flight. Misses are loaded together, in one query per call.
 */
export class CatalogCache {
  private byId: TtlCache<string, Loaded<CatalogEntry>>;
  private byName: TtlCache<string, Loaded<string[]>>;
  private readonly refreshing = new Set<string>();
  private readonly now: () => number;
  constructor(
    private readonly db: StoreDb,
    private readonly ttlMs = CATALOG_TTL_MS,
    /** An expired entry is still served (while one refresh runs) for this long. */
    private readonly staleMs = 10_000,
    now: () => number = () => performance.now(),
  ) {
    this.now = now;
    this.byId = this.newCache();
    this.byName = this.newCache();
  }

  private newCache<V>(): TtlCache<string, Loaded<V>> {
    return new TtlCache({ ttlMs: this.ttlMs + this.staleMs, maxEntries: MAX_ENTRIES, now: this.now });
  }

  /** Forgets everything; loads started before do not fill the new caches. */
  invalidate(): void {
    this.byId = this.newCache();
    this.byName = this.newCache();
  }

  /** Entries by snap-id (unknown ids are absent). */
  async byIds(ids: readonly string[]): Promise<Map<string, CatalogEntry>> {
    const fresh = this.now() - this.ttlMs;
    const out = new Map<string, CatalogEntry>();
    const missing: string[] = [];
    const stale: string[] = [];
    for (const id of new Set(ids)) {
      const c = this.byId.get(id);
      if (!c) missing.push(id);
      else {
        out.set(id, c.value);
        if (c.loadedAt <= fresh && !this.refreshing.has(`i:${id}`)) stale.push(id);
      }
    }
    if (stale.length) this.background(stale.map((id) => `i:${id}`), () => this.load('s.snap_id', stale));
    if (missing.length) for (const e of await this.load('s.snap_id', missing)) out.set(e.snap.snapId, e);
    return out;
  }

  /** Entries by snap name: every store's snap of that name. */
  async byNames(names: readonly string[]): Promise<Map<string, CatalogEntry[]>> {
    const fresh = this.now() - this.ttlMs;
    const out = new Map<string, CatalogEntry[]>();
    const missing: string[] = [];
    const stale: string[] = [];
    for (const name of new Set(names)) {
      const c = this.byName.get(name);
      const entries = c ? c.value.map((id) => this.byId.get(id)) : undefined;
      if (c && entries && entries.every((e) => e !== undefined)) {
        out.set(
          name,
          entries.map((e) => e!.value),
        );
        if (c.loadedAt <= fresh || entries.some((e) => e!.loadedAt <= fresh)) {
          if (!this.refreshing.has(`n:${name}`)) stale.push(name);
        }
      } else missing.push(name);
    }
    if (stale.length) this.background(stale.map((n) => `n:${n}`), () => this.loadNames(stale));
    if (missing.length) for (const [name, list] of await this.loadNames(missing)) out.set(name, list);
    return out;
  }

  private background(keys: string[], run: () => Promise<unknown>): void {
    for (const k of keys) this.refreshing.add(k);
    run()
      .catch(() => undefined)
      .finally(() => {
        for (const k of keys) this.refreshing.delete(k);
      });
  }

  private async loadNames(names: string[]): Promise<Map<string, CatalogEntry[]>> {
    const byName = this.byName;
    const loaded = await this.load('s.name', names);
    const out = new Map<string, CatalogEntry[]>();
    const loadedAt = this.now();
    for (const name of names) {
      const list = loaded.filter((e) => e.snap.name === name);
      out.set(name, list);
      byName.set(name, { value: list.map((e) => e.snap.snapId), loadedAt });
    }
    return out;
  }

  private async load(column: 's.snap_id' | 's.name', values: string[]): Promise<CatalogEntry[]> {
    const byId = this.byId;
    const rows = await this.db
      .selectFrom('store_snaps as s')
      .leftJoin('store_releases as r', 'r.snap_id', 's.snap_id')
      .leftJoin('store_revisions as v', (j) => j.onRef('v.snap_id', '=', 'r.snap_id').onRef('v.revision', '=', 'r.revision'))
      .leftJoin('store_channel_windows as w', (j) => j.onRef('w.snap_id', '=', 'r.snap_id').onRef('w.track', '=', 'r.track').onRef('w.risk', '=', 'r.risk').onRef('w.branch', '=', 'r.branch'))
      .select([
        's.snap_id',
        's.store_id',
        's.name',
        's.publisher_id',
        's.private',
        's.default_track',
        's.created_at as snap_created_at',
        'r.architecture',
        'r.track',
        'r.risk',
        'r.branch',
        'r.revision as rel_revision',
        'r.progressive_percentage',
        'r.released_at',
        'r.expires_at',
        'r.release_id',
        'r.previous_revision',
        'r.paused',
        'r.rollback_of',
        'r.fail_after_checkins',
        'r.fail_after_seconds',
        'r.error_threshold',
        'r.min_devices',
        'r.paused_reason',
        'r.plan',
        'r.plan_step',
        'r.step_started_at',
        'r.target_groups',
        'w.windows as channel_windows',
        'v.version',
        'v.type',
        'v.confinement',
        'v.grade',
        'v.base',
        'v.architectures',
        'v.epoch',
        'v.summary',
        'v.title',
        'v.description',
        'v.license',
        'v.snap_yaml',
        'v.sha3_384',
        'v.size',
        'v.developer_id',
        'v.created_at as rev_created_at',
      ])
      .where(column, 'in', values)
      .execute();
    const entries = new Map<string, CatalogEntry>();
    for (const row of rows) {
      let e = entries.get(row.snap_id);
      if (!e) {
        e = { snap: toSnap({ ...row, created_at: row.snap_created_at }), releases: [], revisions: new Map(), json: new Map(), watched: false };
        entries.set(row.snap_id, e);
      }
      if (row.rel_revision === null || row.architecture === null) continue;
      const revision = Number(row.rel_revision);
      const release: Release = {
        architecture: row.architecture,
        track: row.track!,
        risk: row.risk!,
        branch: row.branch!,
        revision,
        progressivePercentage: row.progressive_percentage === null ? null : Number(row.progressive_percentage),
        releasedAt: fromDbTime(row.released_at!),
        expiresAt: row.expires_at ? fromDbTime(row.expires_at) : null,
        ...rolloutColumns({ ...row, revision }),
      };
      e.releases.push(release);
      if (watched(release)) e.watched = true;
      if (row.sha3_384 !== null && !e.revisions.has(revision)) e.revisions.set(revision, toRevision({ ...row, revision, created_at: row.rev_created_at }));
    }
    // Into the caches of when the load started: after an invalidate() they are dropped.
    const loadedAt = this.now();
    for (const e of entries.values()) byId.set(e.snap.snapId, { value: e, loadedAt });
    return [...entries.values()];
  }
}

/**
 * A TtlCache that forgets everything on invalidate(), including what loads
 * started before it would store: a write made by this process is seen by the
 * next read at once.
 */
class InvalidatedCache<K, V> {
  private cache: TtlCache<K, V>;
  constructor(private readonly options: TtlCacheOptions) {
    this.cache = new TtlCache(options);
  }
  through(key: K, load: (key: K) => Promise<V>): Promise<V> | V {
    return this.cache.through(key, load);
  }
  invalidate(): void {
    this.cache = new TtlCache(this.options);
  }
}

export interface Publisher {
  id: string;
  username: string;
  'display-name': string;
  validation: string;
}

/** The device API's cached reads (see the top of this file). */
export class Catalog {
  /** Small, rarely changing configuration: a second, re-read ahead of expiry while it is served. */
  private readonly stores = new InvalidatedCache<'all', Map<string, Store>>({ ttlMs: 1000, refreshAheadMs: 250, maxEntries: 1 });
  private readonly publishers = new InvalidatedCache<string, Publisher>({ ttlMs: 5000, refreshAheadMs: 1000 });
  private readonly histories = new InvalidatedCache<string, ReleaseEvent[]>({ ttlMs: 1000, refreshAheadMs: 250 });
  /** Held device groups per store (update control): a hold reaches every process within a second, like a release. */
  private readonly held = new InvalidatedCache<string, HeldGroups>({ ttlMs: 1000, refreshAheadMs: 250 });
  /** Snaps with their releases and released revisions (device API reads). */
  readonly entries: CatalogCache;
  constructor(private readonly db: StoreDb) {
    this.entries = new CatalogCache(db);
  }

  async allStores(): Promise<Map<string, Store>> {
    return this.stores.through('all', async () => new Map((await listStores(this.db)).map((s) => [s.storeId, s])));
  }

  /** After a change made by this process: its next reads see it at once. */
  invalidate(): void {
    this.stores.invalidate();
    this.histories.invalidate();
    this.held.invalidate();
    this.entries.invalidate();
  }

  /** The stores whose private snaps a request for `storeId` sees, in preference order. */
  async storesSeenBy(storeId: string | undefined): Promise<string[]> {
    if (!storeId) return [];
    const all = await this.allStores();
    const s = all.get(storeId);
    if (!s) return [];
    return [s.storeId, ...s.includes.filter((i) => all.has(i))];
  }

  /** The held device groups of a store, ready to match a device (a value when cached). */
  heldGroups(storeId: string): Promise<HeldGroups> | HeldGroups {
    return this.held.through(storeId, async () => heldGroups(await groupsOf(this.db, storeId)));
  }

  /** A snap's release history, oldest first (what cohorts replay). */
  async releaseHistory(snapId: string): Promise<ReleaseEvent[]> {
    return this.histories.through(snapId, async () => {
      const rows = await this.db
        .selectFrom('store_release_history')
        .select(['architecture', 'channel', 'revision', 'progressive_percentage', 'at'])
        .where('snap_id', '=', snapId)
        .orderBy('id')
        .execute();
      return rows.map((r) => ({
        architecture: r.architecture,
        channel: r.channel,
        revision: r.revision === null ? null : Number(r.revision),
        progressivePercentage: r.progressive_percentage === null ? null : Number(r.progressive_percentage),
        at: fromDbTime(r.at),
      }));
    });
  }

  async publisher(accountId: string): Promise<Publisher> {
    return this.publishers.through(accountId, async () => {
      const a = await findAccount(platformView(this.db), accountId);
      return { id: accountId, username: a?.username ?? accountId, 'display-name': a?.displayName ?? accountId, validation: a?.validation ?? 'unproven' };
    });
  }
}
