// Cohorts (pure): a cohort names one snap and the moment it was created.
// Every device presenting its key gets the revision that channel had at that
// moment, for up to 90 days; then the same key fixes the channel's revisions
// of that later moment for the next 90 days (what `snap create-cohort`
// documents). The key is opaque to devices: the cohort's fields plus a
// signature by the store key (signing and checking are in cohort-keys.ts).
// No I/O here: time comes in as arguments, the cohort id is random bytes
// chosen by the caller.
import { CohortKeyError } from './store.errors.ts';
import { parseChannelVerbatim } from '../channel/channel.ts';
import { BRANCH_TTL_MS, resolveChannel, type Release, type Resolved } from './channels.ts';
import type { Channel } from '../channel/channel.ts';

/** How long the revisions a cohort fixes stay fixed before the next window. */
export const COHORT_WINDOW_MS = 90 * 24 * 3600_000;
/** A key created up to this far ahead of the store's clock (another process's clock) is still accepted. */
export const COHORT_CLOCK_SKEW_MS = 10 * 60_000;
const CONTENT_PREFIX = 'snapline-cohort-v1';
const SNAP_ID = /^[A-Za-z0-9]{32}$/;
const COHORT_ID = /^[A-Za-z0-9_-]{16,64}$/;
const MAX_KEY_LENGTH = 4096;

export interface Cohort {
  readonly snapId: string;
  readonly createdAt: Date;
  /** Random, so that two cohorts of one snap created in the same millisecond differ. */
  readonly id: string;
}

export { CohortKeyError };

/** A cohort's stable identity: equal for every device in the cohort, different across cohorts; what update control hashes to bucket devices. */
export function cohortIdentity(c: Cohort): string {
  return `${c.snapId}/${c.createdAt.getTime()}/${c.id}`;
}

/** The bytes the store key signs: a prefix no assertion starts with, then the fields, one per line. */
export function cohortContent(c: Cohort): Buffer {
  return Buffer.from(`${CONTENT_PREFIX}\n${c.snapId}\n${c.createdAt.getTime()}\n${c.id}`);
}

/** The key devices carry: base64url(content) "." base64url(signature packet). */
export function formatCohortKey(content: Buffer, signature: Buffer): string {
  return `${content.toString('base64url')}.${signature.toString('base64url')}`;
}

/** Splits and decodes a key; its signature is checked by the caller. Throws CohortKeyError on anything malformed. */
export function parseCohortKey(key: unknown): { cohort: Cohort; content: Buffer; signature: Buffer } {
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH) throw new CohortKeyError('cohort key is malformed');
  const parts = key.split('.');
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]+$/.test(parts[1]!)) throw new CohortKeyError('cohort key is malformed');
  const content = Buffer.from(parts[0]!, 'base64url');
  const signature = Buffer.from(parts[1]!, 'base64url');
  const fields = content.toString('utf8').split('\n');
  const [prefix, snapId, created, id] = fields;
  if (fields.length !== 4 || prefix !== CONTENT_PREFIX || !SNAP_ID.test(snapId!) || !/^[0-9]{1,15}$/.test(created!) || !COHORT_ID.test(id!)) {
    throw new CohortKeyError('cohort key is malformed');
  }
  return { cohort: { snapId: snapId!, createdAt: new Date(Number(created)), id: id! }, content, signature };
}

/**
 * The moment whose channel map the cohort serves at `now`: its creation, or
 * the start of the current 90-day window after it. A key from the future
 * (beyond clock skew) is refused.
 */
export function cohortSnapshotTime(c: Cohort, now: Date): Date {
  const age = now.getTime() - c.createdAt.getTime();
  if (age < -COHORT_CLOCK_SKEW_MS) throw new CohortKeyError('cohort key was created in the future');
  if (age <= 0) return c.createdAt;
  return new Date(c.createdAt.getTime() + Math.floor(age / COHORT_WINDOW_MS) * COHORT_WINDOW_MS);
}

/** When the revisions fixed at `now` stop being fixed (the current window's end). */
export function cohortWindowEnd(c: Cohort, now: Date): Date {
  return new Date(cohortSnapshotTime(c, now).getTime() + COHORT_WINDOW_MS);
}

/** One row of store_release_history: a release (revision) or a close (null) of one architecture's channel. */
export interface ReleaseEvent {
  readonly architecture: string;
  /** Full channel name, track/risk[/branch]. */
  readonly channel: string;
  readonly revision: number | null;
  readonly progressivePercentage: number | null;
  readonly at: Date;
}

/**
 * The releases live at `at`, replayed from the history (in the order it was
 * written): as the publisher API does, a release for "all" replaces every
 * architecture's release of that channel, an arch-specific release replaces
 * only its own, a close removes one; branches expire 30 days after release.
 */
export function releasesAt(history: readonly ReleaseEvent[], at: Date): Release[] {
  const live = new Map<string, Release>();
  for (const e of history) {
    if (e.at > at) continue;
    let c: Channel;
    try {
      c = parseChannelVerbatim(e.channel);
    } catch {
      continue; // not a channel the publisher API writes
    }
    const where = `${c.track}/${c.risk}/${c.branch}`;
    if (e.revision === null) {
      live.delete(`${e.architecture} ${where}`);
      continue;
    }
    if (e.architecture === 'all') for (const k of [...live.keys()]) if (k.endsWith(` ${where}`)) live.delete(k);
    live.set(`${e.architecture} ${where}`, {
      architecture: e.architecture,
      track: c.track,
      risk: c.risk,
      branch: c.branch,
      revision: e.revision,
      progressivePercentage: e.progressivePercentage,
      releasedAt: e.at,
      expiresAt: c.branch ? new Date(e.at.getTime() + BRANCH_TTL_MS) : null,
    });
  }
  return [...live.values()];
}

/** What a device in cohort `c` tracking `channel` on `arch` gets at `now` (undefined: nothing was released there then). */
export function resolveCohort(history: readonly ReleaseEvent[], c: Cohort, arch: string, channel: Channel, now: Date): Resolved | undefined {
  const snapshot = cohortSnapshotTime(c, now);
  return resolveChannel(releasesAt(history, snapshot), arch, channel, snapshot);
}
