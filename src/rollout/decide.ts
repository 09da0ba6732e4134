// Update control's decision core (docs/update-control.md): which revision of
// a channel a device is offered, and why. Pure: no I/O, no clock (the caller
// resolves the channel, with branch expiry, at its own time and passes in the
// release it found), no randomness. The store's refresh path and
// `snapline rollout why` call the same `decide`.
import crypto, { createHash } from 'node:crypto';
import { formatWindows, inWindow, type MaintenanceWindow } from './window.ts';

/** Who asks: the identity of a device session (brand, model, serial). */
export interface DeviceIdentity {
  readonly brand: string;
  readonly model: string;
  readonly serial: string;
}

/** The release a channel resolves to, with what update control knows of it. */
export interface ChannelRelease {
  readonly snapId: string;
  /** Stable for the life of the release: re-releasing the same revision (a new percentage) keeps it. */
  readonly releaseId: string;
  readonly revision: number;
  /**
   * What the channel served before this release, for the devices outside it:
   * the channel's earlier revision, or what it followed (a more stable risk);
   * null when nothing was served there.
   */
  readonly previousRevision: number | null;
  /** Percentage of devices offered `revision` (1-100); null: every device. */
  readonly percentage: number | null;
  /** Paused: only the devices already offered `revision` keep being offered it. */
  readonly paused: boolean;
  /** Set when this release rolled another back (that release's id): for the explanation only. */
  readonly rollbackOf?: string | undefined;
  /** Paused by itself (health): offered to nobody new, not even the devices offered it before. */
  readonly halted?: boolean | undefined;
  /** Device groups whose devices are offered the revision whatever their bucket (a release or plan step targeting groups). */
  readonly groups?: readonly string[] | undefined;
  /** Maintenance windows: outside them devices are offered nothing new (they keep what they have). */
  readonly windows?: readonly MaintenanceWindow[] | undefined;
}

/** What the store recorded about this device and this release (store_rollout_devices). */
export interface DeviceFacts {
  /** The device was offered the release's revision before. */
  readonly offered: boolean;
}

/** What the device says about the snap in its refresh context, and whether a held group holds it. */
export interface RefreshFacts {
  /** The installed revision (the context's `revision`); absent on install. */
  readonly installedRevision?: number | undefined;
  /** The name of a held device group the device is in: it is offered nothing new. */
  readonly heldBy?: string | undefined;
  /** The device groups the device is in (for releases targeting groups). */
  readonly groups?: readonly string[] | undefined;
  /** The time of the refresh (maintenance windows); without it a release's windows are taken as open. */
  readonly now?: Date | undefined;
}

/** Why a revision was offered or withheld: one rule, with the numbers it used. */
export type Reason =
  | { readonly rule: 'full-release'; readonly releaseId: string; readonly rollbackOf?: string }
  | { readonly rule: 'in-percentage'; readonly releaseId: string; readonly bucket: number; readonly percentage: number }
  | { readonly rule: 'outside-percentage'; readonly releaseId: string; readonly bucket: number; readonly percentage: number }
  | { readonly rule: 'no-device-session'; readonly releaseId: string; readonly percentage: number }
  | { readonly rule: 'already-installed'; readonly releaseId: string }
  | { readonly rule: 'held'; readonly releaseId: string; readonly group: string }
  | { readonly rule: 'paused-kept'; readonly releaseId: string }
  | { readonly rule: 'paused-withheld'; readonly releaseId: string }
  | { readonly rule: 'halted'; readonly releaseId: string }
  | { readonly rule: 'in-group'; readonly releaseId: string; readonly group: string }
  | { readonly rule: 'outside-window'; readonly releaseId: string; readonly windows: string; readonly otherwise: Reason['rule'] };

export interface Decision {
  /** The revision to offer; null: nothing is served to this device from this channel. */
  readonly revision: number | null;
  /** True when the release's own revision is offered. */
  readonly offeredRelease: boolean;
  readonly reason: Reason;
}

/** Buckets are in basis points: 0 ≤ bucket < 10000; a device is in a release at P% when its bucket < P × 100. */
export const BUCKETS = 10_000;

/**
 * The device's bucket for a release, in [0, 10000): SHA-256 of the
 * length-prefixed (brand, model, serial) and SHA-256 of the length-prefixed
 * (snap-id, release id), the first 64 bits of each xor-ed and mixed down to
 * 32 by murmur3's finalizer (full avalanche: another release, or snap,
 * reshuffles the devices, so the same devices are not always first), scaled.
 * The same inputs always give the same bucket.
 * Why two digests and not one over all five fields: a refresh of 20 snaps
 * under update control hashed 20 times, the largest cost update control
 * added to the refresh (bench/store-refresh-control.ts); both digests are
 * memoized (a device's for its request's other snaps, a release's for every
 * device), so a refresh hashes about once. A DeviceIdentity is not changed
 * once made (its fields are readonly): its digest is kept with the object.
 */
export function bucketOf(device: DeviceIdentity, snapId: string, releaseId: string): number {
  const d = deviceDigest(device);
  const r = releaseDigest(snapId, releaseId);
  const h = fmix32(d[0] ^ r[0] ^ fmix32(d[1] ^ r[1]));
  return Math.floor((h / 2 ** 32) * BUCKETS);
}

type Digest64 = readonly [number, number];
// A device's digest is kept with its identity object (the store makes one per session), the last
// one at hand (a refresh request asks for each of its snaps in turn); a release's by the catalog's
// own id strings, whose hashes V8 keeps: no key is built per call.
let lastDevice: DeviceIdentity | undefined;
let lastDeviceDigest: Digest64 = [0, 0];
// Keyed by the release id alone (the store's name their snap); the snap id is checked.
const releaseDigests = new Map<string, { snapId: string; digest: Digest64 }>();

const deviceDigests = new WeakMap<DeviceIdentity, Digest64>();

function deviceDigest(device: DeviceIdentity): Digest64 {
  if (device !== lastDevice) {
    let d = deviceDigests.get(device);
    if (d === undefined) deviceDigests.set(device, (d = digest64([device.brand, device.model, device.serial])));
    lastDeviceDigest = d;
    lastDevice = device;
  }
  return lastDeviceDigest;
}

function releaseDigest(snapId: string, releaseId: string): Digest64 {
  const memo = releaseDigests.get(releaseId);
  if (memo !== undefined && memo.snapId === snapId) return memo.digest;
  const digest = digest64([snapId, releaseId]);
  if (releaseDigests.size >= 10_000) releaseDigests.clear();
  releaseDigests.set(releaseId, { snapId, digest });
  return digest;
}

/** The first 64 bits (two words) of SHA-256 over the length-prefixed fields. */
function digest64(fields: readonly string[]): Digest64 {
  let size = 0;
  for (const f of fields) size += 4 + Buffer.byteLength(f, 'utf8');
  const input = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of fields) {
    const n = input.write(f, at + 4, 'utf8');
    input.writeUInt32BE(n, at);
    at += 4 + n;
  }
  const digest = sha256(input);
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}

/** murmur3's 32-bit finalizer: a bijection in which every input bit flips each output bit with probability about 1/2. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** SHA-256 of small inputs: crypto.hash (Node ≥ 20.12) when present, one-shot and cheaper than createHash. */
const sha256: (b: Buffer) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (b) => (crypto as unknown as { hash(alg: string, data: Buffer, enc: 'buffer'): Buffer }).hash('sha256', b, 'buffer')
    : (b) => createHash('sha256').update(b).digest();

/** Whether a bucket falls under a percentage (1-100, fractions allowed). */
export function inPercentage(bucket: number, percentage: number): boolean {
  return bucket < percentage * (BUCKETS / 100);
}

/** A release at this percentage is served to every device (no rollout to decide). */
export function isFull(percentage: number | null): boolean {
  return percentage === null || percentage >= 100;
}

/** Whether a release needs update control's decision (anything but a full, running release). */
export function isControlled(r: { readonly percentage: number | null; readonly paused: boolean }): boolean {
  return r.paused || !isFull(r.percentage);
}

/**
 * The revision a device is offered from a channel whose release is `release`.
 *
 * 0. A device in a held group keeps its installed revision: nothing new (an
 *    install, with nothing installed, is decided as usual).
 * 1. A device already running the release's revision keeps it (never moved back
 *    by a percentage; a rollback is a new release of the old revision).
 * 2. Paused: devices offered the revision before the pause keep being offered
 *    it; every other device gets the previous revision (the set is frozen).
 * 3. A full release (no percentage, or 100): every device.
 * 4. No device session: outside (the previous revision).
 * 2b. Paused by itself (halted): nobody new is offered the revision; only devices running it keep it.
 * 4b. A device in one of the release's groups is offered the revision.
 * 5. Otherwise the device's bucket decides: under P% the release, else the previous revision.
 * 6. An offer of the revision (not to a device already running it) made outside
 *    the release's maintenance windows is withheld: the device keeps what it has.
 */
export function decide(release: ChannelRelease, device: DeviceIdentity | undefined, facts: DeviceFacts | undefined, context: RefreshFacts = {}): Decision {
  const releaseId = release.releaseId;
  if (context.heldBy !== undefined && context.installedRevision !== undefined) {
    return { revision: context.installedRevision, offeredRelease: context.installedRevision === release.revision, reason: { rule: 'held', releaseId, group: context.heldBy } };
  }
  if (context.installedRevision === release.revision && isControlled(release)) return offer(release, { rule: 'already-installed', releaseId });
  const d = offerOrNot(release, device, facts, context);
  if (!d.offeredRelease || !release.windows?.length || context.now === undefined || inWindow(release.windows, context.now)) return d;
  // Outside the windows: nothing new now; an install gets what devices outside the release get.
  const reason: Reason = { rule: 'outside-window', releaseId, windows: formatWindows(release.windows!), otherwise: d.reason.rule };
  return { revision: context.installedRevision ?? release.previousRevision, offeredRelease: false, reason };
}

// Plain functions, not closures made per call: the refresh path decides once per snap of every request.
const offer = (release: ChannelRelease, reason: Reason): Decision => ({ revision: release.revision, offeredRelease: true, reason });
const withhold = (release: ChannelRelease, reason: Reason): Decision => ({ revision: release.previousRevision, offeredRelease: false, reason });

function offerOrNot(release: ChannelRelease, device: DeviceIdentity | undefined, facts: DeviceFacts | undefined, context: RefreshFacts): Decision {
  const releaseId = release.releaseId;
  if (release.paused && release.halted) return withhold(release, { rule: 'halted', releaseId });
  if (release.paused) return facts?.offered ? offer(release, { rule: 'paused-kept', releaseId }) : withhold(release, { rule: 'paused-withheld', releaseId });
  if (isFull(release.percentage)) return offer(release, { rule: 'full-release', releaseId, ...(release.rollbackOf ? { rollbackOf: release.rollbackOf } : {}) });
  const percentage = release.percentage!;
  if (!device) return withhold(release, { rule: 'no-device-session', releaseId, percentage });
  const group = release.groups?.length ? release.groups.find((g) => context.groups?.includes(g)) : undefined;
  if (group !== undefined) return offer(release, { rule: 'in-group', releaseId, group });
  const bucket = bucketOf(device, release.snapId, releaseId);
  return inPercentage(bucket, percentage) ? offer(release, { rule: 'in-percentage', releaseId, bucket, percentage }) : withhold(release, { rule: 'outside-percentage', releaseId, bucket, percentage });
}

/** One line a person reads: what was decided and why. */
export function explain(release: ChannelRelease, d: Decision): string {
  const what = d.revision === null ? 'nothing' : `revision ${d.revision}`;
  const r = d.reason;
  switch (r.rule) {
    case 'full-release':
      return r.rollbackOf
        ? `${what}: released to every device (rolling back release ${r.rollbackOf})`
        : `${what}: released to every device`;
    case 'in-percentage':
      return `${what}: the device's bucket ${(r.bucket / 100).toFixed(2)} is under the release's ${r.percentage}%`;
    case 'outside-percentage':
      return `${what}: the device's bucket ${(r.bucket / 100).toFixed(2)} is not under the release's ${r.percentage}% (revision ${release.revision} withheld; the channel's previous revision)`;
    case 'no-device-session':
      return `${what}: without a device session a device is outside a ${r.percentage}% release (revision ${release.revision} withheld)`;
    case 'held':
      return `${what}: the device is in the held group ${r.group}: it keeps its installed revision`;
    case 'already-installed':
      return `${what}: the device already runs the release's revision and keeps it`;
    case 'paused-kept':
      return `${what}: the rollout is paused and the device was offered the revision before the pause`;
    case 'paused-withheld':
      return `${what}: the rollout is paused and the device was not offered revision ${release.revision} before the pause`;
    case 'halted':
      return `${what}: the rollout paused itself (health) and offers revision ${release.revision} to nobody new`;
    case 'in-group':
      return `${what}: the device is in the group ${r.group} the release targets`;
    case 'outside-window':
      return `${what}: outside the maintenance windows (${r.windows}); the device keeps what it has (inside, rule ${r.otherwise} would offer revision ${release.revision})`;
  }
}
