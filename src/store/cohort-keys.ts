// Cohort keys made and checked with the store key from key custody (the
// root's second key, which already signs snap-declarations): a key cannot be
// forged or edited without it, and every process of the server accepts the
// keys any other made. The cohort maths is in cohorts.ts.
import { randomBytes } from 'node:crypto';
import { TtlCache } from '../platform/cache/ttl-cache.ts';
import type { Signer } from '../platform/keys/index.ts';
import { CohortKeyError, cohortContent, formatCohortKey, parseCohortKey, type Cohort } from './cohorts.ts';

const VERIFIED_CACHE_SIZE = 10_000;

export class CohortKeys {
  /**
   * Keys whose signature checked out: a device presents the same key on
   * every refresh. A signature stays good, so the time only bounds how long
   * an unused key takes room.
   */
  private readonly verified = new TtlCache<string, Cohort>({ ttlMs: 24 * 3600_000, maxEntries: VERIFIED_CACHE_SIZE });
  constructor(private readonly signer: Signer) {}

  /** A new cohort of `snapId` created at `now`, as the key devices will carry. */
  async create(snapId: string, now: Date, id = randomBytes(12).toString('base64url')): Promise<string> {
    const content = cohortContent({ snapId, createdAt: now, id });
    const signature = await this.signer.sign(content, now);
    return formatCohortKey(content, Buffer.from(signature, 'base64'));
  }

  /** The cohort a key names; CohortKeyError when it is malformed or not signed by this store. */
  check(key: unknown): Cohort {
    const known = typeof key === 'string' ? this.verified.get(key) : undefined;
    if (known) return known;
    const { cohort, content, signature } = parseCohortKey(key);
    try {
      this.signer.publicKey.verify(content, signature.toString('base64'));
    } catch {
      throw new CohortKeyError('cohort key is not signed by this store');
    }
    this.verified.set(key as string, cohort);
    return cohort;
  }

}
