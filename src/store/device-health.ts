// Explicit health reports (update control, docs/update-control.md): besides
// what snapd's check-ins show, a device (the device agent, or an app through
// it) may report, with its device session, that a snap revision it runs is
// unhealthy or healthy again. An unhealthy report counts the device as failed
// for the current watched releases of that revision (the rollout's error
// threshold applies, as for reverts); a healthy one clears it.
import { sql } from 'kysely';
import { toDbTime } from '../platform/db/index.ts';
import type { DeviceIdentity } from '../rollout/index.ts';
import type { CatalogEntry } from './catalog.repo.ts';
import type { ReleaseHealth } from './channels.ts';
import { watched } from './rollouts.ts';
import type { StoreDb } from './store.repo.ts';

export interface HealthReport {
  'snap-id': string;
  revision: number;
  status: 'okay' | 'error';
  message?: string | undefined;
}

/** What a report changed: the releases it concerns, and those where the device newly turned unhealthy (with their rules). */
export interface HealthOutcome {
  releases: string[];
  newlyUnhealthy: { releaseId: string; health: ReleaseHealth | null }[];
}

export async function recordHealth(db: StoreDb, device: DeviceIdentity, report: HealthReport, entry: CatalogEntry | undefined, now: Date): Promise<HealthOutcome> {
  const out: HealthOutcome = { releases: [], newlyUnhealthy: [] };
  if (!entry) return out;
  const at = toDbTime(now);
  for (const r of entry.releases.filter((x) => x.revision === report.revision && watched(x))) {
    const id = r.releaseId!;
    if (out.releases.includes(id)) continue;
    out.releases.push(id);
    const bad = report.status === 'error';
    const row = await db
      .insertInto('store_rollout_devices')
      .values({ release_id: id, brand_id: device.brand, model: device.model, serial: device.serial, snap_id: entry.snap.snapId, first_seen_at: at, offered_at: null, took_at: null, reported_revision: report.revision, reported_at: at, unhealthy_at: bad ? at : null, health_message: report.message ?? null })
      .onConflict((oc) =>
        oc.columns(['release_id', 'brand_id', 'model', 'serial']).doUpdateSet({
          unhealthy_at: bad ? sql`coalesce(store_rollout_devices.unhealthy_at, excluded.unhealthy_at)` : sql`null`,
          health_message: sql`excluded.health_message`,
        }),
      )
      .returning(['unhealthy_at'])
      .executeTakeFirstOrThrow();
    if (bad && row.unhealthy_at === at) out.newlyUnhealthy.push({ releaseId: id, health: r.health ?? null });
  }
  return out;
}
