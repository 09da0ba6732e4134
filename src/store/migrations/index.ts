// The store's forward-only migrations (service "store"), one file each, in
// order. Append new ones at the end; never edit one that has been released:
// the names are the database ledger's.
import type { ServiceMigrations } from '../../platform/db/index.ts';
import { store } from './0001-store.ts';
import { collaborators } from './0002-collaborators.ts';
import { privateAccess } from './0003-private-access.ts';
import { rollouts } from './0004-rollouts.ts';
import { deviceGroups } from './0005-device-groups.ts';
import { rolloutHealth } from './0006-rollout-health.ts';
import { rolloutPlans } from './0007-rollout-plans.ts';
import { releaseApprovals } from './0008-release-approvals.ts';
import { rolloutDownloads } from './0009-rollout-downloads.ts';
import { rolloutFailAfter } from './0010-rollout-fail-after.ts';
import { channelWindows } from './0011-channel-windows.ts';
import { deviceHealth } from './0012-device-health.ts';
import { deviceLabels } from './0013-device-labels.ts';

export const storeMigrations: ServiceMigrations = {
  service: 'store',
  migrations: [store, collaborators, privateAccess, rollouts, deviceGroups, rolloutHealth, rolloutPlans, releaseApprovals, rolloutDownloads, rolloutFailAfter, channelWindows, deviceHealth, deviceLabels],
};
