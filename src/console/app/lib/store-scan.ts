// The store's snaps with their channel maps (up to a bound): what the overview
// and update control summarise. The store has no "every rollout" listing, so
// the console reads each snap's status.
import { enc, getJson } from './api.ts';
import type { SnapRow, SnapStatus } from './store-types.ts';

export const SCAN_LIMIT = 100;

export async function scanStore(store: string): Promise<{ snaps: SnapRow[]; statuses: SnapStatus[]; truncated: boolean }> {
  const { snaps, nextAfter } = await getJson<{ snaps: SnapRow[]; nextAfter: string | null }>(`/api/console/stores/${enc(store)}/snaps`, { limit: SCAN_LIMIT });
  const statuses = await Promise.all(snaps.map((s) => getJson<SnapStatus>(`/api/store/snaps/${enc(s.name)}`, { store }).catch(() => undefined)));
  return { snaps, statuses: statuses.filter((x): x is SnapStatus => x !== undefined), truncated: nextAfter !== null };
}

/** Channels with a progressive or paused release of their own, per snap. */
export function progressiveChannels(statuses: readonly SnapStatus[]): { snap: string; publisher: string; channel: string }[] {
  const out = new Map<string, { snap: string; publisher: string; channel: string }>();
  for (const st of statuses) {
    for (const row of st.channelMap) {
      if (row.progressive && !row.following && row.revision !== null) out.set(`${st.snap.name} ${row.channel}`, { snap: st.snap.name, publisher: st.snap.publisherId, channel: row.channel });
    }
  }
  return [...out.values()];
}
