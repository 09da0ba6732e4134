// The orphan-blob sweep: a stored blob that no revision references is
// removed once it is older than a grace period. Uploads store their blob
// first and commit its revision row after (reading snap.yaml, signing): a
// process killed in between leaves a blob without a revision, which no one
// else would ever remove. The grace period, counted from when the blob was
// stored (put again: from then), keeps the sweep off an upload that has
// stored its blob but not committed yet; `BlobStore.delete(…, {storedBefore})`
// keeps it off a blob stored again while the sweep decides. Any number of
// `serve` processes may sweep the same blobs and database at once.
import type { BlobStore } from '../platform/blobs/index.ts';
import type { StoreDb } from './store.repo.ts';

export interface SweepResult {
  /** Blobs looked at. */
  seen: number;
  /** Orphans removed. */
  removed: number;
}

/** Removes blobs stored before `now - graceMs` that no store revision references. */
export async function sweepOrphanBlobs(db: StoreDb, blobs: BlobStore, opts: { graceMs: number; now: Date }): Promise<SweepResult> {
  const cutoff = new Date(opts.now.getTime() - opts.graceMs);
  let seen = 0;
  let removed = 0;
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = await db.selectFrom('store_revisions').select('sha3_384').where('sha3_384', 'in', batch).execute();
    const referenced = new Set(rows.map((r) => r.sha3_384));
    for (const hex of batch) if (!referenced.has(hex) && (await blobs.delete(hex, { storedBefore: cutoff }))) removed++;
    batch = [];
  };
  for await (const b of blobs.list()) {
    seen++;
    if (b.storedAt.getTime() >= cutoff.getTime()) continue;
    batch.push(b.hex);
    if (batch.length >= 500) await flush();
  }
  await flush();
  return { seen, removed };
}
