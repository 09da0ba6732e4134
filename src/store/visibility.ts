// Who sees which snap (pure). A private snap of store S is visible only to requests
// naming S (Snap-Device-Store / X-Ubuntu-Store, or a device session of S) or
// naming a store that includes S. Anything else is "not found".
import type { Snap } from './store.repo.ts';

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
