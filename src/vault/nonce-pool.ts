// request-ids handed out from small per-caller batches. Each nonce is
// random, stored before anyone sees it (so any vault process can check and
// consume it) and handed out once; storing a batch in one statement takes
// the database write off most request-id calls when a factory line asks for
// many at once. A nonce is handed out only while it is fresh, so every
// device still gets (nearly) the whole validity period; the rest expire
// unused and are pruned like any other.
//
// The pool also remembers what it handed out, so the serial request that
// comes back to this process with one of them is known good without a
// database read; the nonce is consumed in the database either way, with the
// log row, so a nonce used elsewhere in the meantime still fails there.
import type { IssuedNonce } from './vault.repo.ts';

export type IssueBatch = (count: number, now: Date) => Promise<IssuedNonce[]>;

interface CallerPool {
  ready: IssuedNonce[];
  refill: Promise<void> | undefined;
  /** Nonces handed out since `since`: sizes the next batch to the demand. */
  demand: number;
  since: number;
}

/** A nonce this process handed out and has not seen back yet. */
export interface HandedOut {
  owner: string;
  expiresAt: Date;
}

/** At most this many handed-out nonces are remembered (the oldest are forgotten first). */
const REMEMBERED = 100_000;

export class NoncePool {
  private readonly pools = new Map<string, CallerPool>();
  private readonly handedOut = new Map<string, HandedOut>();

  /**
   * @param freshMs how long after its creation a stored nonce may still be handed out
   * @param maxBatch the most nonces stored at once for one caller
   */
  constructor(
    private readonly freshMs: number,
    private readonly maxBatch = 32,
  ) {}

  /** A fresh nonce for `owner`, storing a new batch with `issue` when none is ready. */
  async take(owner: string, now: () => Date, issue: IssueBatch): Promise<IssuedNonce> {
    const pool = this.poolOf(owner, now().getTime());
    for (;;) {
      const t = now().getTime();
      while (pool.ready.length > 0) {
        const n = pool.ready.pop()!;
        if (t - n.createdAt.getTime() < this.freshMs && t >= n.createdAt.getTime()) {
          pool.demand++;
          this.remember(n.nonce, { owner, expiresAt: n.expiresAt });
          return n;
        }
      }
      pool.ready = [];
      // One refill at a time per caller; requests arriving meanwhile wait for it.
      pool.refill ??= this.refill(pool, now, issue).finally(() => (pool.refill = undefined));
      await pool.refill;
    }
  }

  /** What this process knows of a nonce it handed out; forgets it (a second look goes to the database). */
  claim(nonce: string): HandedOut | undefined {
    const n = this.handedOut.get(nonce);
    this.handedOut.delete(nonce);
    return n;
  }

  /** Drops every batch (after an API key changes, say). */
  clear(): void {
    this.pools.clear();
    this.handedOut.clear();
  }

  private remember(nonce: string, n: HandedOut): void {
    // Maps iterate in insertion order: the first key is the oldest.
    if (this.handedOut.size >= REMEMBERED) this.handedOut.delete(this.handedOut.keys().next().value!);
    this.handedOut.set(nonce, n);
  }

  private poolOf(owner: string, t: number): CallerPool {
    let pool = this.pools.get(owner);
    if (!pool) {
      if (this.pools.size >= 10_000) this.pools.clear();
      pool = { ready: [], refill: undefined, demand: 0, since: t };
      this.pools.set(owner, pool);
    }
    return pool;
  }

  private async refill(pool: CallerPool, now: () => Date, issue: IssueBatch): Promise<void> {
    const at = now();
    // The batch covers what this caller used in the last freshness period:
    // one nonce for a caller asking now and then, up to maxBatch for a busy line.
    const elapsed = Math.max(1000, at.getTime() - pool.since);
    const perPeriod = (pool.demand * this.freshMs) / elapsed;
    const count = Math.max(1, Math.min(this.maxBatch, Math.ceil(perPeriod / 4)));
    if (elapsed > this.freshMs) {
      pool.demand = 0;
      pool.since = at.getTime();
    }
    pool.ready = (await issue(count, at)).reverse();
  }
}
