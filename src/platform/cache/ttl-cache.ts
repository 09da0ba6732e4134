// The one in-process cache of the server: entries kept for a fixed time, a
// bound on their number, one load at a time per key (concurrent misses share
// it), and optionally a reload shortly before an entry expires so that a hot
// key never makes a request wait. Several processes may serve one database,
// so every user states how stale its entries may be (its TTL) and why.

export interface TtlCacheOptions {
  /** How long an entry is served, in ms. */
  ttlMs: number;
  /** At most this many entries; past it, expired ones are swept, then all if still full (a flood of distinct keys). */
  maxEntries?: number;
  /** Serve a hit this close to expiry and reload it in the background (ms); 0 disables. */
  refreshAheadMs?: number;
  /** Monotonic clock in ms (tests pass their own). */
  now?: () => number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();
  private readonly loading = new Map<K, Promise<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.refreshAheadMs = options.refreshAheadMs ?? 0;
    this.now = options.now ?? (() => performance.now());
  }

  /** The live value of `key`, or undefined. */
  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) this.sweep();
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Forgets everything (after a change made by this process). */
  clear(): void {
    this.entries.clear();
  }

  /**
   * The value of `key`, loaded by `load` on a miss. Concurrent misses share one
   * load; a failed load is not cached. A hit close to expiry is served and
   * reloaded in the background (refreshAheadMs).
   */
  through(key: K, load: (key: K) => Promise<V>): Promise<V> | V {
    const e = this.entries.get(key);
    const t = this.now();
    if (e && e.until > t) {
      if (this.refreshAheadMs > 0 && e.until - t <= this.refreshAheadMs && !this.loading.has(key)) {
        this.load(key, load).catch(() => undefined);
      }
      return e.value;
    }
    if (e) this.entries.delete(key);
    return this.load(key, load);
  }

  private load(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const pending = this.loading.get(key);
    if (pending) return pending;
    const p = load(key)
      .then((value) => {
        this.set(key, value);
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, p);
    return p;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (e.until <= t) this.entries.delete(k);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
  }
}
