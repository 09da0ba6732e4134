// Who sees which snap (pure). A request sees public snaps everywhere, and the
// private snaps of the stores in its `privateIn`: for a device session of a
// store's model, that store and the stores it includes; for a request naming
// a store by header alone, only those of them whose `privateAccess` is
// 'store-id' (unless it carries a store-download credential of the named
// store's brand). sessions.service.ts decides `privateIn`; anything else is
// "not found".
import type { Snap } from './store.repo.ts';

/** What a request sees: the stores it names (preference order) and those whose private snaps it sees. */
export interface Sight {
  /** The store the request names and the stores it includes, in preference order. */
  seen: readonly string[];
  /** Of those, the stores whose private snaps the request sees. */
  privateIn: readonly string[];
}

export function visible(snap: Snap, sight: Sight): boolean {
  return !snap.private || sight.privateIn.includes(snap.storeId);
}

/** Of the snaps with one name (one per store), the one a request sees: its own store first, then included stores, then public ones. */
export function pickVisible(snaps: readonly Snap[], sight: Sight): Snap | undefined {
  for (const id of sight.seen) {
    const s = snaps.find((x) => x.storeId === id && visible(x, sight));
    if (s) return s;
  }
  return snaps.find((s) => !s.private);
}
