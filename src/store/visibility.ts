// Who sees which snap. A private snap of store S is visible only to requests
// naming S (Snap-Device-Store / X-Ubuntu-Store, or a device session of S) or
// naming a store that includes S. Anything else is "not found".
import type { FastifyRequest } from 'fastify';
import { findAccount } from '../platform/auth/index.ts';
import { fromDbTime, platformView } from '../platform/db/index.ts';
import { listStores, type Snap, type Store, type StoreDb } from './repo.ts';
import { CatalogCache } from './catalog.ts';
import type { ReleaseEvent } from './cohorts.ts';

/**
 * A short-lived cache of small, rarely changing tables (stores, accounts):
 * configuration, not device state. Loads are shared by concurrent callers,
 * and an expired value is served while one refresh runs (for up to
 * `staleMs`), so an expiry never stalls every request in flight.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number; refreshing: boolean }>();
  private generation = 0;
  constructor(
    private readonly ttlMs: number,
    private readonly staleMs = 10_000,
  ) {}
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const e = this.entries.get(key);
    if (e && e.until > now) return e.value;
    if (e && e.until + this.staleMs > now) {
      if (!e.refreshing) {
        e.refreshing = true;
        const gen = this.generation;
        load().then(
          (v) => {
            if (gen === this.generation) this.entries.set(key, { value: Promise.resolve(v), until: Date.now() + this.ttlMs, refreshing: false });
          },
          () => this.entries.delete(key),
        );
      }
      return e.value;
    }
    const value = load();
    value.catch(() => this.entries.delete(key));
    this.entries.set(key, { value, until: now + this.ttlMs, refreshing: false });
    if (this.entries.size > 10_000) this.entries.clear();
    return value;
  }
  clear(): void {
    this.generation++;
    this.entries.clear();
  }
}

export interface Publisher {
  id: string;
  username: string;
  'display-name': string;
  validation: string;
}

export class Catalog {
  private readonly stores = new TtlCache<Map<string, Store>>(1000);
  private readonly publishers = new TtlCache<Publisher>(5000);
  private readonly histories = new TtlCache<ReleaseEvent[]>(1000);
  /** Snaps with their releases and released revisions (device API reads). */
  readonly entries: CatalogCache;
  constructor(private readonly db: StoreDb) {
    this.entries = new CatalogCache(db);
  }

  allStores(): Promise<Map<string, Store>> {
    return this.stores.get('all', async () => new Map((await listStores(this.db)).map((s) => [s.storeId, s])));
  }

  /** After a change made by this process: its next reads see it at once. */
  invalidate(): void {
    this.stores.clear();
    this.histories.clear();
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

  /** A snap's release history, oldest first (what cohorts replay). */
  releaseHistory(snapId: string): Promise<ReleaseEvent[]> {
    return this.histories.get(snapId, async () => {
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

  publisher(accountId: string): Promise<Publisher> {
    return this.publishers.get(accountId, async () => {
      const a = await findAccount(platformView(this.db), accountId);
      return { id: accountId, username: a?.username ?? accountId, 'display-name': a?.displayName ?? accountId, validation: a?.validation ?? 'unproven' };
    });
  }
}

export function visible(snap: Snap, seen: readonly string[]): boolean {
  return !snap.private || seen.includes(snap.storeId);
}

/** Of the snaps with one name (one per store), the one a request sees: its own store first, then included stores, then public ones. */
export function pickVisible(snaps: readonly Snap[], seen: readonly string[]): Snap | undefined {
  for (const id of seen) {
    const s = snaps.find((x) => x.storeId === id);
    if (s) return s;
  }
  return snaps.find((s) => !s.private);
}

/** A header's single value. */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) return v[0];
  return v === undefined || v === '' ? undefined : v;
}
