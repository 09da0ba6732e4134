// Channel maths of the store (pure): which release a request for a channel
// gets, with the snap store's fall-through (a closed or empty risk follows
// the next more stable risk of the same track; an expired or closed branch
// follows its risk), and the channel map `snapline status` shows.
import type { MaintenanceWindow, RolloutPlan } from '../rollout/index.ts';
import { ChannelError, RISKS, fullChannelName, parseChannel, type Channel, type Risk } from '../channel/channel.ts';

export const DEFAULT_TRACK = 'latest';
/** Branches expire 30 days after their last release unless told otherwise. */
export const BRANCH_TTL_MS = 30 * 24 * 3600_000;
const TRACK = /^[a-zA-Z0-9](?:[_.-]?[a-zA-Z0-9])*$/;
const BRANCH = /^[a-zA-Z0-9](?:[_.-]?[a-zA-Z0-9])*$/;

export interface Release {
  readonly architecture: string;
  readonly track: string;
  readonly risk: string;
  readonly branch: string;
  readonly revision: number;
  readonly progressivePercentage: number | null;
  readonly releasedAt: Date;
  readonly expiresAt: Date | null;
  /** Update control (migration 0004; absent on releases replayed from history for cohorts): the release's stable id. */
  readonly releaseId?: string | undefined;
  /** What devices outside a progressive or paused release keep; null: the channel's fall-through. */
  readonly previousRevision?: number | null | undefined;
  readonly paused?: boolean | undefined;
  /** The release id this one rolled back. */
  readonly rollbackOf?: string | null | undefined;
  /** Health rules (update control): when a device counts as failed, and when the rollout pauses by itself. */
  readonly health?: ReleaseHealth | null | undefined;
  /** Why the rollout paused by itself (null when paused by a person, or not paused). */
  readonly pausedReason?: string | null | undefined;
  /** The rollout plan the release follows, the step it is at (0-based) and since when. */
  readonly plan?: ReleasePlan | null | undefined;
  /** Device groups whose devices are offered the revision whatever their bucket. */
  readonly groups?: readonly string[] | undefined;
  /** The channel's maintenance windows (a plan's own windows win over them). */
  readonly channelWindows?: readonly MaintenanceWindow[] | undefined;
}

/** A release's plan and where it stands. */
export interface ReleasePlan {
  readonly plan: RolloutPlan;
  readonly step: number;
  readonly startedAt: Date;
}

/** A release's health rules (update control, docs/update-control.md). */
export interface ReleaseHealth {
  /** A device offered the revision that still reports another at this many check-ins (the first offer included) has failed. */
  readonly failAfterCheckins: number;
  /** ... or this many seconds after it downloaded the revision (null: check-ins only). */
  readonly failAfterSeconds?: number | null | undefined;
  /** Failed devices, in percent of those offered, that pause the rollout by itself (null: never by itself). */
  readonly errorThreshold: number | null;
  /** Devices that must have been offered the revision before the threshold applies. */
  readonly minDevices: number;
}

/** Parses a channel a publisher or device names; a missing track is the snap's default track. */
export function parseStoreChannel(s: string, defaultTrack = DEFAULT_TRACK): Channel {
  const c = parseChannel(s, defaultTrack);
  if (c.track.length > 28 || !TRACK.test(c.track)) throw new ChannelError(`invalid track in channel name: ${s}`);
  if (c.branch && (c.branch.length > 128 || !BRANCH.test(c.branch))) throw new ChannelError(`invalid branch in channel name: ${s}`);
  return c;
}

function live(r: Release, now: Date): boolean {
  return r.expiresAt === null || r.expiresAt > now;
}

/** The release at exactly (track, risk, branch) for `arch` (an arch-specific release wins over "all"). */
function at(releases: readonly Release[], arch: string, track: string, risk: string, branch: string, now: Date): Release | undefined {
  let all: Release | undefined;
  for (const r of releases) {
    if (r.track !== track || r.risk !== risk || r.branch !== branch || !live(r, now)) continue;
    if (r.architecture === arch) return r;
    if (r.architecture === 'all') all = r;
  }
  return all;
}

export interface Resolved {
  readonly release: Release;
  /** The channel the revision really comes from (full name). */
  readonly effectiveChannel: string;
}

/** What a device tracking `channel` on `arch` gets, or undefined. */
export function resolveChannel(releases: readonly Release[], arch: string, channel: Channel, now: Date): Resolved | undefined {
  const risk = (channel.risk || 'stable') as Risk;
  if (channel.branch) {
    const r = at(releases, arch, channel.track, risk, channel.branch, now);
    if (r) return { release: r, effectiveChannel: fullChannelName(channel) };
  }
  for (let i = RISKS.indexOf(risk); i >= 0; i--) {
    const r = at(releases, arch, channel.track, RISKS[i]!, '', now);
    if (r) return { release: r, effectiveChannel: `${channel.track}/${RISKS[i]}` };
  }
  return undefined;
}

/** Every architecture and channel where something is released (for revision-not-found's extra.releases). */
export function availableReleases(releases: readonly Release[], now: Date): { architecture: string; channel: string }[] {
  return releases
    .filter((r) => live(r, now))
    .sort((x, y) => x.track.localeCompare(y.track) || RISKS.indexOf(x.risk as Risk) - RISKS.indexOf(y.risk as Risk) || x.branch.localeCompare(y.branch) || x.architecture.localeCompare(y.architecture))
    .map((r) => ({ architecture: r.architecture, channel: fullChannelName(r as Channel) }));
}

export interface ChannelMapRow {
  architecture: string;
  track: string;
  risk: string;
  branch: string;
  channel: string;
  /** The revision served there; null when nothing is. */
  revision: number | null;
  /** Set when the channel has no release of its own and follows a more stable risk. */
  following: string | null;
  progressivePercentage: number | null;
  expiresAt: string | null;
  /** The release's id (update control); null where the channel has no release of its own. */
  releaseId: string | null;
  /** Like snapcraft's channel map: set where the channel's own release is progressive or paused; current-percentage from the devices that took it. */
  progressive: { percentage: number | null; paused: boolean | null; 'current-percentage': number | null } | null;
}

/** The progressive state of a release as the channel map shows it (null when it is a plain release). */
function progressiveOf(r: Release, current: ReadonlyMap<string, number>): ChannelMapRow['progressive'] {
  const paused = r.paused ?? false;
  if (r.progressivePercentage === null && !paused) return null;
  const id = r.releaseId;
  return { percentage: r.progressivePercentage, paused, 'current-percentage': id !== undefined ? (current.get(id) ?? 0) : null };
}

/**
 * The channel map like `snapcraft status`: per architecture and track, every
 * risk (with what it follows), then live branches. `currentPercentage`: per
 * release id, the share of devices seen that took it (update control).
 */
export function channelMap(releases: readonly Release[], now: Date, currentPercentage: ReadonlyMap<string, number> = new Map()): ChannelMapRow[] {
  const arches = [...new Set(releases.map((r) => r.architecture))].sort();
  const rows: ChannelMapRow[] = [];
  for (const arch of arches) {
    const mine = releases.filter((r) => r.architecture === arch && live(r, now));
    const tracks = [...new Set(mine.map((r) => r.track))].sort((a, b) => (a === DEFAULT_TRACK ? -1 : b === DEFAULT_TRACK ? 1 : a.localeCompare(b)));
    for (const track of tracks) {
      for (const risk of RISKS) {
        const own = mine.find((r) => r.track === track && r.risk === risk && r.branch === '');
        const resolved = own ? undefined : resolveChannel(mine, arch, { track, risk, branch: '' }, now);
        rows.push({
          architecture: arch,
          track,
          risk,
          branch: '',
          channel: `${track}/${risk}`,
          revision: own?.revision ?? resolved?.release.revision ?? null,
          following: own ? null : (resolved?.effectiveChannel ?? null),
          progressivePercentage: own?.progressivePercentage ?? null,
          expiresAt: null,
          releaseId: own?.releaseId ?? null,
          progressive: own ? progressiveOf(own, currentPercentage) : null,
        });
        for (const b of mine.filter((r) => r.track === track && r.risk === risk && r.branch !== '').sort((x, y) => x.branch.localeCompare(y.branch))) {
          rows.push({
            architecture: arch,
            track,
            risk,
            branch: b.branch,
            channel: `${track}/${risk}/${b.branch}`,
            revision: b.revision,
            following: null,
            progressivePercentage: b.progressivePercentage,
            expiresAt: b.expiresAt ? b.expiresAt.toISOString() : null,
            releaseId: b.releaseId ?? null,
            progressive: progressiveOf(b, currentPercentage),
          });
        }
      }
    }
  }
  return rows;
}
