// A per-process cache of resolved API tokens, kept for one second. At the
// request rates of the store and vault, looking every token up in the
// database would double the cost of a request; a second of staleness is the
// price: a revoked token, or a changed role, takes effect on every process
// within one second (and at once on the process that made the change).
import { createHash } from 'node:crypto';
import type { Principal } from './access.ts';
import { TtlCache } from '../cache/ttl-cache.ts';

export class PrincipalCache {
  private readonly cache: TtlCache<string, Principal>;

  constructor(ttlMs = 1000, maxEntries = 10_000, now?: () => number) {
    this.cache = new TtlCache({ ttlMs, maxEntries, ...(now ? { now } : {}) });
  }

  /** Resolves `token` through `resolve`, reusing a result younger than the TTL. */
  async get(token: string, resolve: (token: string) => Promise<Principal>): Promise<Principal> {
    // Keyed by a digest so the cache never holds token secrets.
    const key = createHash('sha256').update(token).digest('base64');
    return this.cache.through(key, () => resolve(token));
  }

  /** Forgets everything (after a revocation or a role change made here). */
  clear(): void {
    this.cache.clear();
  }
}
