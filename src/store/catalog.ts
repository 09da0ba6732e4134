// What the device API reads per snap: the snap, its live releases and the
// revisions they point to, loaded in one joined query, and kept for a second
// in process (like the platform's token cache: a release reaches devices
// served by other processes within a second; this process sees its own
// changes at once). Device sessions are never cached here.
import { fromDbTime } from '../platform/db/index.ts';
import type { Release } from './channels.ts';
import { toRevision, toSnap, type Revision, type Snap, type StoreDb } from './repo.ts';

export interface CatalogEntry {
  snap: Snap;
  releases: Release[];
  /** The released revisions, by number. */
  revisions: Map<number, Revision>;
  /** Serialized snap results (`,"snap-id":…,"name":…,"snap":{…}`) by base URL (prefixed "yaml " with snap-yaml), then revision (built on first use; dropped with the entry). */
  json: Map<string, Map<number, Buffer>>;
}

export const CATALOG_TTL_MS = 1000;
const MAX_ENTRIES = 50_000;

export class CatalogCache {
  private byId = new Map<string, { entry: CatalogEntry; until: number }>();
  private byName = new Map<string, { ids: string[]; until: number }>();
  /** Bumped by invalidate(): loads started before it do not fill the cache. */
  private generation = 0;
  private readonly refreshing = new Set<string>();
  constructor(
    private readonly db: StoreDb,
    private readonly ttlMs = CATALOG_TTL_MS,
    /** An expired entry is still served (while one refresh runs) for this long. */
    private readonly staleMs = 10_000,
  ) {}

  invalidate(): void {
    this.generation++;
    this.byId = new Map();
    this.byName = new Map();
  }

  /** Entries by snap-id (unknown ids are absent). */
  async byIds(ids: readonly string[]): Promise<Map<string, CatalogEntry>> {
    const now = Date.now();
    const out = new Map<string, CatalogEntry>();
    const missing: string[] = [];
    const stale: string[] = [];
    for (const id of new Set(ids)) {
      const c = this.byId.get(id);
      if (c && c.until > now) out.set(id, c.entry);
      else if (c && c.until + this.staleMs > now) {
        out.set(id, c.entry);
        if (!this.refreshing.has(`i:${id}`)) stale.push(id);
      } else missing.push(id);
    }
    if (stale.length) this.background(stale.map((id) => `i:${id}`), () => this.load('s.snap_id', stale));
    if (missing.length) for (const e of await this.load('s.snap_id', missing)) out.set(e.snap.snapId, e);
    return out;
  }

  /** Entries by snap name: every store's snap of that name. */
  async byNames(names: readonly string[]): Promise<Map<string, CatalogEntry[]>> {
    const now = Date.now();
    const out = new Map<string, CatalogEntry[]>();
    const missing: string[] = [];
    const stale: string[] = [];
    for (const name of new Set(names)) {
      const c = this.byName.get(name);
      const entries = c && c.until + this.staleMs > now ? c.ids.map((id) => this.byId.get(id)) : undefined;
      if (c && entries && entries.every((e) => e !== undefined)) {
        out.set(name, entries.map((e) => e!.entry));
        if (c.until <= now || entries.some((e) => e!.until <= now)) {
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
    const gen = this.generation;
    const loaded = await this.load('s.name', names);
    const out = new Map<string, CatalogEntry[]>();
    const until = Date.now() + this.ttlMs;
    for (const name of names) {
      const list = loaded.filter((e) => e.snap.name === name);
      out.set(name, list);
      if (gen === this.generation) this.byName.set(name, { ids: list.map((e) => e.snap.snapId), until });
    }
    return out;
  }

  private async load(column: 's.snap_id' | 's.name', values: string[]): Promise<CatalogEntry[]> {
    const gen = this.generation;
    const rows = await this.db
      .selectFrom('store_snaps as s')
      .leftJoin('store_releases as r', 'r.snap_id', 's.snap_id')
      .leftJoin('store_revisions as v', (j) => j.onRef('v.snap_id', '=', 'r.snap_id').onRef('v.revision', '=', 'r.revision'))
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
        e = { snap: toSnap({ ...row, created_at: row.snap_created_at }), releases: [], revisions: new Map(), json: new Map() };
        entries.set(row.snap_id, e);
      }
      if (row.rel_revision === null || row.architecture === null) continue;
      const revision = Number(row.rel_revision);
      e.releases.push({
        architecture: row.architecture,
        track: row.track!,
        risk: row.risk!,
        branch: row.branch!,
        revision,
        progressivePercentage: row.progressive_percentage === null ? null : Number(row.progressive_percentage),
        releasedAt: fromDbTime(row.released_at!),
        expiresAt: row.expires_at ? fromDbTime(row.expires_at) : null,
      });
      if (row.sha3_384 !== null && !e.revisions.has(revision)) e.revisions.set(revision, toRevision({ ...row, revision, created_at: row.rev_created_at }));
    }
    const now = Date.now();
    if (gen !== this.generation) return [...entries.values()];
    if (this.byId.size > MAX_ENTRIES) this.invalidate();
    for (const e of entries.values()) this.byId.set(e.snap.snapId, { entry: e, until: now + this.ttlMs });
    return [...entries.values()];
  }
}
