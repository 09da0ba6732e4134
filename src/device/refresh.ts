// A refresh as snapd's auto-refresh does it (overlord/snapstate, store
// store_action.go, store_download.go; protocol doc 6.5, 6.10): the full
// context of every installed store snap, `Snap-Refresh-Reason: scheduled`,
// then for each update the download, its SHA3-384 against the store's
// answer (one more try from scratch on a mismatch), the snap-revision and
// snap-declaration chain against the trusted root, and only then the new
// revision is recorded. A snap whose refresh fails keeps its old revision,
// channel, cohort and refreshed-date (snapd's undo): nothing is half
// installed. Pure: the store client, the clock and the file place are passed in.
import { AssertionError, type Assertion, type ModelData, type SnapDeclarationData, type SnapRevisionData, type TrustDatabase, type ValidationSetData } from '../assertions/index.ts';
import { addWithPrerequisites } from './chain.ts';
import { DeviceError, isDeviceError, type DeviceErrorCode } from './errors.ts';
import { errorMessage, TransportError, type Clock, type Epoch, type SnapFiles } from './io.ts';
import { rfc3339, type InstalledSnap, type RefreshOutcome } from './state.ts';
import { SNAP_ACTION_FIELDS, type StoreClient } from './store-client.ts';
import { enforcedSetRefs, pinsFor, type SnapPin } from './validation-sets.ts';

export interface RefreshOptions {
  snaps: readonly InstalledSnap[];
  db: TrustDatabase;
  client: StoreClient;
  files: SnapFiles;
  clock: Clock;
  /** The device's model: its enforced validation sets pin revisions (fetched before each refresh). */
  model?: Assertion<ModelData>;
  /** Simulated install failures (a snap, or one revision of it): the device undoes as snapd does. */
  failInstall?: (name: string, revision: number) => boolean;
  onEvent?: (e: { kind: 'update' | 'updated' | 'failed'; name: string; revision: number; reason?: string }) => void;
}

export interface RefreshResult {
  snaps: InstalledSnap[];
  outcome: RefreshOutcome;
  /** Assertions verified and added on the way (to keep). */
  added: Assertion[];
}

/** One context entry, as snapd sends it for an installed snap; no cohort when an enforced set pins the revision. */
export function contextEntry(s: InstalledSnap, pin?: SnapPin): Record<string, unknown> {
  return {
    'snap-id': s.snapId,
    'instance-key': s.snapId,
    revision: s.revision,
    'tracking-channel': s.channel || 'stable',
    epoch: { read: [...s.epoch.read], write: [...s.epoch.write] },
    ...(s.refreshedDate ? { 'refreshed-date': s.refreshedDate } : {}),
    ...(s.cohort && !pin?.revision ? { 'cohort-key': s.cohort } : {}),
  };
}

/**
 * The snap action body of an auto-refresh of every store snap. A snap pinned
 * by enforced validation sets asks for the pinned revision with the sets'
 * keys, or is left out of the actions when it already runs it.
 */
export function refreshBody(snaps: readonly InstalledSnap[], pins: ReadonlyMap<string, SnapPin> = new Map()): Record<string, unknown> {
  const store = snaps.filter((s) => s.snapId !== '');
  const actions: Record<string, unknown>[] = [];
  for (const s of store) {
    const pin = pins.get(s.snapId);
    if (pin?.revision && pin.revision === s.revision) continue;
    actions.push({ action: 'refresh', 'instance-key': s.snapId, 'snap-id': s.snapId, ...(pin?.revision ? { revision: pin.revision } : {}), ...(pin ? { 'validation-sets': pin.sets.map((k) => [...k]) } : {}) });
  }
  return { context: store.map((s) => contextEntry(s, pins.get(s.snapId))), actions, fields: SNAP_ACTION_FIELDS };
}

/**
 * The model's enforced validation sets, at their newest sequence point (or
 * the one the model pins), fetched from the store and verified; when the
 * store cannot answer, the ones the device already holds (from the seed or an
 * earlier refresh).
 */
async function enforcedSets(o: RefreshOptions, added: Assertion[]): Promise<Assertion<ValidationSetData>[]> {
  if (!o.model) return [];
  const sets: Assertion<ValidationSetData>[] = [];
  const fetch = (type: string, pk: readonly string[]) => o.client.assertion(type, pk);
  for (const ref of enforcedSetRefs(o.model)) {
    const seqKey = ['16', ref.accountId, ref.name];
    const what = `${ref.accountId}/${ref.name}${ref.sequence ? `=${ref.sequence}` : ''}`;
    let fetched: Assertion | undefined;
    let fetchError = '';
    try {
      fetched = ref.sequence ? await o.client.assertion('validation-set', [...seqKey, String(ref.sequence)]) : await o.client.latestInSequence('validation-set', seqKey);
      if (fetched) added.push(...(await addWithPrerequisites(o.db, fetched, fetch)));
    } catch (err) {
      if (err instanceof AssertionError) throw new DeviceError('device-validation-sets', `the enforced validation set ${what} does not verify: ${err.message}`);
      if (!isDeviceError(err) && !(err instanceof TransportError)) throw err;
      fetchError = `: ${errorMessage(err)}`;
    }
    const held = o.db.findSequence('validation-set', seqKey, ref.sequence || undefined) as Assertion<ValidationSetData> | undefined;
    if (!held) throw new DeviceError('device-validation-sets', `the model enforces validation set ${what}, which the device does not hold and the store did not give${fetchError}`);
    sets.push(held);
  }
  return sets;
}

/** Results that only say "nothing for you" (snapd does not treat them as failures of an auto-refresh). */
const NO_UPDATE_CODES = new Set(['revision-not-found', 'id-not-found', 'name-not-found', 'snap-not-found']);

interface Update {
  current: InstalledSnap;
  revision: number;
  url: string;
  sha3Hex: string;
  size: number;
  channel: string;
}

function parseUpdate(r: Record<string, unknown>, current: InstalledSnap): Update {
  const snap = r['snap'] as Record<string, unknown> | undefined;
  const dl = snap?.['download'] as Record<string, unknown> | undefined;
  const revision = snap?.['revision'];
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1) throw new DeviceError('device-store-error', `the store's answer for ${current.name} has no valid revision`);
  if (typeof dl?.['url'] !== 'string' || typeof dl['sha3-384'] !== 'string' || !/^[0-9a-f]{96}$/.test(dl['sha3-384']) || typeof dl['size'] !== 'number') {
    throw new DeviceError('device-store-error', `the store's answer for ${current.name} ${revision} has no usable download (url, sha3-384, size)`);
  }
  const redirect = r['redirect-channel'];
  return { current, revision, url: dl['url'], sha3Hex: dl['sha3-384'], size: dl['size'], channel: typeof redirect === 'string' && redirect !== '' ? redirect : current.channel };
}

function b64url(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64url');
}

function sameEpoch(a: Epoch, b: Epoch): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Downloads, verifies and records one update; throws DeviceError, leaving no file behind. */
async function apply(o: RefreshOptions, u: Update, added: Assertion[]): Promise<InstalledSnap> {
  const name = u.current.name;
  let got = await o.client.download(u.url, 'scheduled');
  for (let tries = 1; ; tries++) {
    if (got.status !== 200 && got.status !== 206) {
      throw new DeviceError('device-store-error', `cannot download ${name} ${u.revision}: unexpected status ${got.status}`);
    }
    if (got.sha3384Hex === u.sha3Hex && got.size === u.size) break;
    if (got.file) await o.files.remove(got.file);
    if (tries >= 2) {
      throw new DeviceError('device-snap-digest-mismatch', `${name} ${u.revision}: downloaded ${got.size} bytes with sha3-384 ${got.sha3384Hex}, the store announced ${u.size} bytes with ${u.sha3Hex}`);
    }
    // snapd truncates and downloads once more from scratch.
    got = await o.client.download(u.url, 'scheduled');
  }
  const file = got.file!;
  let committed: string | undefined;
  try {
    // The snap-revision of exactly these bytes, and its chain (declaration, publisher, keys) to the root.
    const fetch = (type: string, pk: readonly string[]) => o.client.assertion(type, pk);
    let rev: Assertion<SnapRevisionData> | undefined;
    try {
      rev = (await o.client.assertion('snap-revision', [b64url(u.sha3Hex)])) as Assertion<SnapRevisionData> | undefined;
      if (!rev) throw new DeviceError('device-snap-unverified', `${name} ${u.revision}: the store has no snap-revision for its digest`);
      // A newer snap-declaration first, as snapd refreshes declarations with snaps.
      const decl = await o.client.assertion('snap-declaration', ['16', rev.data.snapId]);
      if (decl) added.push(...(await addWithPrerequisites(o.db, decl, fetch)));
      added.push(...(await addWithPrerequisites(o.db, rev, fetch)));
    } catch (err) {
      if (err instanceof AssertionError) throw new DeviceError('device-snap-unverified', `${name} ${u.revision}: ${err.message}`);
      throw err;
    }
    const r = rev.data;
    if (r.snapSize !== got.size || r.snapSha3384 !== b64url(got.sha3384Hex)) throw new DeviceError('device-snap-digest-mismatch', `${name} ${u.revision}: the file does not match its snap-revision`);
    if (r.snapId !== u.current.snapId || r.snapRevision !== u.revision) {
      throw new DeviceError('device-snap-unverified', `${name}: the snap-revision is for ${r.snapId} revision ${r.snapRevision}, not ${u.current.snapId} revision ${u.revision}`);
    }
    const decl = o.db.find('snap-declaration', ['16', r.snapId]) as Assertion<SnapDeclarationData> | undefined;
    if (!decl || decl.data.snapName !== name) throw new DeviceError('device-snap-unverified', `${name}: its snap-declaration names ${JSON.stringify(decl?.data.snapName ?? '')}`);
    const meta = await o.files.inspect(file).catch((err: unknown) => {
      throw new DeviceError('device-snap-unverified', `${name} ${u.revision}: cannot read the snap: ${errorMessage(err)}`);
    });
    if (meta.name !== name) throw new DeviceError('device-snap-unverified', `${name} ${u.revision}: the file holds snap ${JSON.stringify(meta.name)}`);
    if (o.failInstall?.(name, u.revision)) throw new DeviceError('device-install-failed', `${name} ${u.revision}: installation failed (simulated); reverted to revision ${u.current.revision}`);
    committed = await o.files.commit(file, name, u.revision);
    const next: InstalledSnap = {
      ...u.current,
      revision: u.revision,
      channel: u.channel,
      refreshedDate: rfc3339(o.clock.now()),
      type: meta.type,
      version: meta.version,
      epoch: sameEpoch(meta.epoch, u.current.epoch) ? u.current.epoch : meta.epoch,
      file: committed,
    };
    return next;
  } catch (err) {
    await o.files.remove(committed ?? file);
    throw err;
  }
}

/** One auto-refresh of every store snap. Store-level failures end in a `failed` outcome, never a throw. */
export async function refresh(o: RefreshOptions): Promise<RefreshResult> {
  const at = rfc3339(o.clock.now());
  const snaps = [...o.snaps];
  const added: Assertion[] = [];
  const failed: { name: string; revision?: number; code: DeviceErrorCode; reason: string }[] = [];
  const updated: { name: string; from: number; to: number; channel: string }[] = [];
  const outcomeOf = (code?: DeviceErrorCode, reason?: string): RefreshOutcome => ({
    at,
    outcome: code ? 'failed' : failed.length === 0 ? (updated.length > 0 ? 'updated' : 'no-updates') : updated.length > 0 ? 'partial' : 'failed',
    updated,
    failed,
    ...(code ? { code, reason } : {}),
  });
  if (!snaps.some((s) => s.snapId !== '')) return { snaps, outcome: outcomeOf(), added };
  let results: Record<string, unknown>[];
  try {
    const body = refreshBody(snaps, pinsFor(snaps, await enforcedSets(o, added)));
    // snapd sends no request when nothing is a candidate (every snap at its pinned revision).
    results = (body['actions'] as unknown[]).length === 0 ? [] : (await o.client.snapAction(body, 'scheduled')).results;
  } catch (err) {
    if (isDeviceError(err)) return { snaps, outcome: outcomeOf(err.code, err.message), added };
    if (err instanceof TransportError) return { snaps, outcome: outcomeOf('device-store-error', err.message), added };
    throw err;
  }
  const byKey = new Map(snaps.filter((s) => s.snapId !== '').map((s) => [s.snapId, s]));
  for (const r of results) {
    const key = r['instance-key'];
    const current = typeof key === 'string' ? byKey.get(key) : undefined;
    if (!current) {
      failed.push({ name: String(r['name'] ?? key ?? '?'), code: 'device-store-error', reason: `the store answered for an instance-key the device did not send: ${JSON.stringify(key)}` });
      continue;
    }
    if (r['result'] === 'error') {
      const e = (r['error'] ?? {}) as { code?: string; message?: string };
      if (!NO_UPDATE_CODES.has(String(e.code))) failed.push({ name: current.name, code: 'device-store-error', reason: `${e.code ?? 'error'}: ${e.message ?? ''}` });
      continue;
    }
    if (r['result'] !== 'refresh') continue;
    let u: Update;
    try {
      u = parseUpdate(r, current);
    } catch (err) {
      if (!isDeviceError(err)) throw err;
      failed.push({ name: current.name, code: err.code, reason: err.message });
      continue;
    }
    if (u.revision === current.revision) continue; // snapd: same revision means no update
    o.onEvent?.({ kind: 'update', name: current.name, revision: u.revision });
    try {
      const next = await apply(o, u, added);
      snaps[snaps.indexOf(current)] = next;
      if (current.file !== next.file) await o.files.remove(current.file);
      updated.push({ name: current.name, from: current.revision, to: next.revision, channel: next.channel });
      o.onEvent?.({ kind: 'updated', name: current.name, revision: next.revision });
    } catch (err) {
      // Whatever went wrong (the store, the checks, the disk), this snap keeps its old revision.
      const e = isDeviceError(err) ? err : new DeviceError('device-install-failed', `${current.name} ${u.revision}: ${errorMessage(err)}`, { cause: err });
      failed.push({ name: current.name, revision: u.revision, code: e.code, reason: e.message });
      o.onEvent?.({ kind: 'failed', name: current.name, revision: u.revision, reason: e.message });
    }
  }
  await reportHealth(o, updated, failed, snaps);
  return { snaps, outcome: outcomeOf(), added };
}

/**
 * After the refresh, the device tells a Snapline store how it went (explicit
 * health reports, update control): each revision installed is okay, each one
 * undone an error with the reason. Best effort: a store without the endpoint,
 * or one that fails, changes nothing on the device.
 */
async function reportHealth(
  o: RefreshOptions,
  updated: readonly { name: string; to: number }[],
  failed: readonly { name: string; revision?: number; reason: string }[],
  snaps: readonly InstalledSnap[],
): Promise<void> {
  const idOf = (name: string) => snaps.find((s) => s.name === name)?.snapId ?? '';
  const reports = [
    ...updated.map((u) => ({ snapId: idOf(u.name), revision: u.to, status: 'okay' as const })),
    ...failed.filter((f) => f.revision !== undefined).map((f) => ({ snapId: idOf(f.name), revision: f.revision!, status: 'error' as const, message: f.reason })),
  ].filter((r) => r.snapId !== '');
  try {
    await o.client.reportHealth(reports);
  } catch (err) {
    if (!isDeviceError(err) && !(err instanceof TransportError)) throw err;
  }
}
