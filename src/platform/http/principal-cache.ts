// A per-process cache of resolved API tokens, kept for one second. At the
// request rates of the store and vault, looking every token up in the
// database would double the cost of a request; a second of staleness is the
// price: a revoked token, or a changed role, takes effect on every process
// within one second (and at once on the process that made the change).
import { createHash } from 'node:crypto';
import type { Principal } from './access.ts';

export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Resolves `token` through `resolve`, reusing a result younger than the TTL. */
  async get(token: string, resolve: (token: string) => Promise<Principal>): Promise<Principal> {
    // Keyed by a digest so the cache never holds token secrets.
    const key = createHash('sha256').update(token).digest('base64');
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > t) return hit.principal;
    const principal = await resolve(token);
    if (this.entries.size >= this.maxEntries) this.sweep(t);
    this.entries.set(key, { principal, until: t + this.ttlMs });
    return principal;
  }

  /** Forgets everything (after a revocation or a role change made here). */
  clear(): void {
    this.entries.clear();
  }

  private sweep(t: number): void {
    for (const [k, e] of this.entries) if (e.until <= t) this.entries.delete(k);
    // Still full: the cache is being flooded with distinct tokens; start over.
    if (this.entries.size >= this.maxEntries) this.entries.clear();
  }
}
