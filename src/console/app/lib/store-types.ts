// What the store's publisher API answers (src/store/store.schemas.ts, channels.ts, rollout.service.ts).

export interface SnapRow {
  snapId: string;
  name: string;
  publisherId: string;
  private: boolean;
  defaultTrack: string;
  createdAt: string;
}

export interface ChannelMapRow {
  architecture: string;
  track: string;
  risk: string;
  branch: string;
  channel: string;
  revision: number | null;
  following: string | null;
  progressivePercentage: number | null;
  expiresAt: string | null;
  releaseId: string | null;
  progressive: { percentage: number | null; paused: boolean | null; 'current-percentage': number | null } | null;
}

export interface SnapStatus {
  snap: SnapRow;
  collaborators: string[];
  channelMap: ChannelMapRow[];
}

export interface RevisionRow {
  revision: number;
  version: string;
  type: string;
  confinement?: string;
  grade?: string;
  base?: string | null;
  architectures: string[];
  sha3_384: string;
  size: number;
  developerId?: string;
  createdAt?: string;
  summary?: string;
  channels: string[];
}

export interface RolloutRelease {
  architecture: string;
  releaseId: string;
  revision: number;
  previousRevision: number | null;
  progressive: { percentage: number | null; paused: boolean; 'current-percentage': number };
  health: { failAfterCheckins: number; errorThreshold: number | null; minDevices: number } | null;
  pausedReason: string | null;
  /** The plan the release follows (update control's plans; null or absent: none). */
  plan?: { steps: { percentage: number | null; groups: string[]; soakSeconds: number; approval: boolean }[]; windows: string | null; step: number; of: number; stepStartedAt: string; state: string; explanation: string } | null;
  groups?: string[];
  releasedAt: string;
  devices: { seen: number; offered: number; took: number; failed: number; downloaded?: number; notTried?: number };
  rollback: { of: string; tookRolledBack: number; back: number } | null;
}

export interface RolloutStatus {
  snap: string;
  channel: string;
  releases: RolloutRelease[];
}

export interface DeviceGroup {
  name: string;
  models?: string[];
  serials?: string[];
  serialPattern?: string | null;
  held?: boolean;
  heldAt?: string | null;
  [k: string]: unknown;
}

export const RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;

/** The answer of a release: to a controlled channel, a pending request and nothing released. */
export interface ReleaseAnswer {
  released: string[];
  pending?: { id: number };
}

export interface ReleaseRequest {
  id: number;
  storeId: string;
  snapId: string;
  snap: string | null;
  revision: number;
  channels: string[];
  state: 'pending' | 'approved' | 'denied';
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

/** What a release form says once the server answered. */
export function releaseOutcome(revision: number, r: ReleaseAnswer): string {
  if (r.pending) return `Revision ${revision} is not released yet: the channel is controlled, so release request #${r.pending.id} waits for an approver (Update control, Approvals).`;
  return `Released revision ${revision} to ${r.released.join(', ')}.`;
}

export interface ValidationSet {
  accountId: string;
  name: string;
  sequence: number;
  revision: number;
  snaps: { name: string; id: string; presence: string; revision: number | null }[];
  assertion: string;
}
