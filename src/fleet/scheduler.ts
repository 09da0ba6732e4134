// Bounded concurrency and reproducible randomness for the fleet. Pure.

/** Runs at most `limit` tasks at a time; the others wait their turn, first come first served. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most tasks ever running at once. */
  peak = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, not ${limit}`);
  }

  get running(): number {
    return this.active;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on without being released
      else this.active--;
    }
  }
}

/** mulberry32: a small seeded generator in [0, 1), so that a run's --fail draws can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When a device refreshes next: `every` after the start of its last refresh,
 * or never (undefined) when that would be past `end`. A device that came up
 * late keeps its own phase, which spreads the fleet's refreshes over the period.
 */
export function nextRefreshAt(lastStart: number, everyMs: number, endMs: number): number | undefined {
  if (!(everyMs > 0)) return undefined;
  const at = lastStart + everyMs;
  return at < endMs ? at : undefined;
}
