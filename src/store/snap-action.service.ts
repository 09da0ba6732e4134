// What the store answers devices (protocol section 6): snap actions (install,
// download, refresh, fetch-assertions), snap info, find, assertions, the file
// behind a download URL, and cohorts. The rules live here: visibility of
// private snaps, channel resolution and fall-through, cohorts, the epoch rule,
// classic confinement on Ubuntu Core. Nothing here knows about HTTP: a device
// comes in as a `Device` (sessions.service.ts), inputs as the route schemas'
// types, and answers go out as values (a snap action's as JSON bytes: it is
// assembled from snap objects serialized once per catalog entry).
import { assertionType, SNAP_SERIES, type Assertion } from '../assertions/index.ts';
import { ChannelError, RISKS, fullChannelName, memoizedChannel, type Channel } from '../channel/channel.ts';
import { decide, type DeviceIdentity } from '../rollout/index.ts';
import { findAssertion, signingChain } from '../platform/assertions/index.ts';
import type { BlobStore } from '../platform/blobs/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { platformView } from '../platform/db/index.ts';
import { availableReleases, parseStoreChannel, resolveChannel, type Release, type ReleaseHealth, type ReleasePlan } from './channels.ts';
import type { Catalog, CatalogEntry } from './catalog.repo.ts';
import type { CohortKeys } from './cohort-keys.ts';
import { CohortKeyError, cohortSnapshotTime, releasesAt, type Cohort } from './cohorts.ts';
import { ReplyBytes } from './reply-bytes.ts';
import { failRule } from '../rollout/index.ts';
import { rolloutMetrics, watchRolloutProgress, type ReleaseProgress } from './rollout-metrics.ts';
import { PlanDriver, type PlannedRelease } from './rollout-plans.ts';
import { recordHealth, type HealthReport } from './device-health.ts';
import { channelRelease, deviceFacts, deviceLabels, FactRecorder, identityOf, plainRelease, recordDownload, releaseCounts, type Observation, type StoredFacts } from './rollouts.ts';
import type { Device } from './sessions.service.ts';
import { snapObject } from './snap-object.ts';
import { StoreError } from './store.errors.ts';
import { findSnaps, revisionByDigest, revisionsByKeys, snapById, type Revision, type Snap, type StoreDb } from './store.repo.ts';
import type { AssertionQueryInput, FindInput, RefreshActionInput, RefreshContextEntry, SnapActionInput } from './store.schemas.ts';
import { pickVisible, visible } from './visibility.ts';

/** Types the assertions endpoint serves (no device identities). */
const SERVED_TYPES = new Set(['account', 'account-key', 'snap-declaration', 'snap-revision', 'snap-developer', 'store', 'validation-set', 'validation', 'model', 'base-declaration']);

type Action = RefreshActionInput;
type ContextEntry = RefreshContextEntry;

/** snapd's epoch rule: a revision may replace the installed one only if it can read data the installed one wrote. */
function canRead(next: { read: number[] }, installed: ContextEntry['epoch']): boolean {
  const written = Array.isArray(installed?.write) ? installed.write.filter((x) => typeof x === 'number') : [0];
  return next.read.some((e) => written.includes(e));
}

const err = (code: string, message: string, extra?: unknown) => ({ code, message, ...(extra ? { extra } : {}) });

/** A pick by channel carries the release it resolved to and the parsed channel (update control reads both). */
type Picked = { revision: number; effectiveChannel?: string; release?: Release; channel?: Channel } | { error: unknown };
const NO_COHORT: { cohort?: Cohort; error?: unknown } = Object.freeze({});

/**
 * Channel names parsed once per default track: every refresh names the same
 * few channels for each of its snaps (parsing, not resolution, is kept).
 */
const parsedChannels = new Map<string, Map<string, Channel | ChannelError>>();
function parsedChannel(name: string, defaultTrack: string): Channel | ChannelError {
  let byName = parsedChannels.get(defaultTrack);
  if (!byName) {
    if (parsedChannels.size >= 1000) parsedChannels.clear();
    parsedChannels.set(defaultTrack, (byName = new Map()));
  }
  return memoizedChannel(byName, name, () => parseStoreChannel(name, defaultTrack), 1000);
}

function archMatches(rev: Revision, arch: string): boolean {
  return rev.architectures.includes('all') || rev.architectures.includes(arch);
}

/** The file behind a download URL: its digest and size (the bytes come from `open`). */
export interface DownloadFile {
  digest: string;
  size: number;
  /** The bytes from `start` to `end` (inclusive). */
  open(start: number, end: number): ReturnType<BlobStore['get']>;
}

/** What an assertion request asks for besides type and key. */
export interface AssertionRequest {
  maxFormat?: number | undefined;
  /** With its account/account-key chain (what fetch-assertions URLs point to). */
  chain?: boolean | undefined;
  /** "latest": the newest sequence point of a sequence-forming assertion; a number: that sequence point. */
  sequence?: string | undefined;
}

export class SnapActionService {
  /** The per-device facts of watched releases (update control), written in one upsert per request when they change. */
  readonly facts: FactRecorder;
  constructor(
    private readonly ctx: PlatformContext,
    private readonly db: StoreDb,
    private readonly catalog: Catalog,
    private readonly cohortKeys: CohortKeys,
  ) {
    this.facts = new FactRecorder(db);
    this.facts.onFailed = (releaseId, health, now) => this.checkHealth(releaseId, health, now);
    this.plans = new PlanDriver(ctx, db, catalog, this.facts);
    watchRolloutProgress(ctx.metrics.registry, () => this.rolloutProgress());
  }

  /** The devices of the current watched releases (the metrics' gauge, at each scrape). */
  private async rolloutProgress(): Promise<ReleaseProgress[]> {
    const rows = await this.db
      .selectFrom('store_releases as r')
      .innerJoin('store_snaps as s', 's.snap_id', 'r.snap_id')
      .select(['r.release_id', 's.name', 'r.paused'])
      .where('r.release_id', 'is not', null)
      .where((eb) => eb.or([eb('r.progressive_percentage', '<', 100), eb('r.paused', '=', 1), eb('r.plan', 'is not', null), eb('r.fail_after_checkins', 'is not', null), eb('r.target_groups', 'is not', null)]))
      .limit(1000)
      .execute();
    const counts = await releaseCounts(this.db, rows.map((r) => r.release_id!));
    return rows.map((r) => {
      const c = counts.get(r.release_id!);
      return { releaseId: r.release_id!, snap: r.name, offered: c?.offered ?? 0, took: c?.took ?? 0, failed: c?.failed ?? 0, notTried: c?.notTried ?? 0, paused: Number(r.paused) === 1 };
    });
  }

  /** Rollout plans: advanced (or paused) from the check-ins of their devices. */
  readonly plans: PlanDriver;

  /**
   * After a device of a release with health rules is counted as failed: when
   * the failed devices reach the error threshold (of those offered, once
   * enough were offered), the rollout pauses by itself (its set is frozen),
   * with the reason kept and in the audit log (actor: the device that tipped it).
   */
  private async checkHealth(releaseId: string, health: ReleaseHealth, now: Date): Promise<void> {
    rolloutMetrics(this.ctx.metrics.registry).events.inc({ event: 'failed' });
    if (health.errorThreshold === null) return;
    const c = (await releaseCounts(this.db, [releaseId])).get(releaseId);
    if (!c || c.offered < health.minDevices || c.failed * 100 < health.errorThreshold * c.offered) return;
    const share = Math.round((c.failed / c.offered) * 1000) / 10;
    const unhealthy = c.unhealthy ? ` or reported it unhealthy (${c.unhealthy})` : '';
    const reason = `${c.failed} of ${c.offered} devices offered the revision still reported another ${failRule(health.failAfterCheckins, health.failAfterSeconds)}${unhealthy} (${share}%, threshold ${health.errorThreshold}%)`;
    await this.plans.halt(releaseId, reason, now);
  }

  /**
   * Explicit health reports of a device with a session (POST
   * /api/store/device/health): an unhealthy revision counts the device as
   * failed for its watched releases (error thresholds apply), a healthy one
   * clears it. Answers which releases each report concerned.
   */
  async reportHealth(d: Device, reports: readonly HealthReport[]): Promise<{ results: { 'snap-id': string; revision: number; releases: string[] }[] }> {
    if (!d.session) throw new StoreError('unauthorized', 'a health report needs a device session (Snap-Device-Authorization)');
    const device = identityOf(d.session);
    const now = this.ctx.now();
    const entries = await this.catalog.entries.byIds([...new Set(reports.map((r) => r['snap-id']))]);
    const results = [];
    for (const r of reports) {
      const entry = entries.get(r['snap-id']);
      const outcome = await recordHealth(this.db, device, r, entry && visible(entry.snap, d) ? entry : undefined, now);
      for (const u of outcome.newlyUnhealthy) {
        if (u.health) await this.checkHealth(u.releaseId, u.health, now);
        else rolloutMetrics(this.ctx.metrics.registry).events.inc({ event: 'failed' });
      }
      results.push({ 'snap-id': r['snap-id'], revision: r.revision, releases: outcome.releases });
    }
    return { results };
  }

  /** A snap action request (POST /v2/snaps/refresh): snapd's answer, as JSON bytes. */
  async snapAction(d: Device, body: SnapActionInput): Promise<Buffer> {
    const publicUrl = d.baseUrl;
    const now = this.ctx.now();
    const catalog = this.catalog;
    const withYaml = body.fields?.includes('snap-yaml') ?? false;
    const jsonKey = withYaml ? `yaml ${publicUrl}` : publicUrl;
    const context = new Map<string, ContextEntry>();
    for (const c of body.context ?? []) if (typeof c['instance-key'] === 'string') context.set(c['instance-key'], c);
    // Results are objects, or a snap result as [text before, cached snap bytes, text after].
    const results: (Record<string, unknown> | [string, Buffer, string])[] = [];
    const errorList: unknown[] = [];
    if (d.series !== SNAP_SERIES) return Buffer.from(JSON.stringify({ results: [], 'error-list': [err('unsupported-series', `series ${d.series} is not served`)] }));

    // Every snap the actions name, with releases and released revisions (one query, or the 1 s cache).
    const names: string[] = [];
    const ids: string[] = [];
    for (const a of body.actions) {
      if ((a.action === 'install' || a.action === 'download') && typeof a.name === 'string') names.push(a.name);
      else if (a.action === 'refresh' && typeof a['snap-id'] === 'string') ids.push(a['snap-id']);
    }
    const [byName, byId] = await Promise.all([names.length ? catalog.entries.byNames(names) : new Map<string, CatalogEntry[]>(), ids.length ? catalog.entries.byIds(ids) : new Map<string, CatalogEntry>()]);

    // Update control: only for snaps with a progressive, paused or rolled-back release (a flag per
    // catalog entry; nothing more for the others). Paused releases need this device's facts: one query.
    let rollout: RolloutRequest | undefined;
    if (d.session) {
      // A device in a held group is offered nothing new, from any snap: every channel pick goes through the core.
      const groups = this.catalog.heldGroups(d.session.storeId);
      const held = groups instanceof Promise ? await groups : groups;
      const session = d.session;
      // Groups by label: the device's labels, one indexed read (only in stores that have such groups).
      const labels = held.usesLabels ? await deviceLabels(this.db, session.storeId, identityOf(session)) : undefined;
      const heldBy = held.match(session.model, session.serial, labels);
      const memberOf = () => held.memberOf(session.model, session.serial, labels);
      if (heldBy !== undefined) rollout = new RolloutRequest(identityOf(d.session), memberOf, heldBy);
      let paused: string[] | undefined;
      const scan = (e: CatalogEntry) => {
        if (!e.watched) return;
        rollout ??= new RolloutRequest(identityOf(d.session!), memberOf);
        for (const r of e.releases) if (r.paused && r.releaseId) (paused ??= []).push(r.releaseId);
      };
      for (const e of byId.values()) scan(e);
      for (const list of byName.values()) for (const e of list) scan(e);
      if (rollout && paused) rollout.facts = await deviceFacts(this.db, rollout.device, paused);
    }

    type Plan = { action: Action; entry: CatalogEntry; revision: number; effectiveChannel?: string; installedEpoch?: ContextEntry['epoch'] };
    const plans: Plan[] = [];
    for (const a of body.actions) {
      const ik = a['instance-key'];
      if (a.action === 'fetch-assertions') continue;
      if (a.action === 'install' || a.action === 'download') {
        const list = typeof a.name === 'string' ? (byName.get(a.name) ?? []) : [];
        const snap = pickVisible(
          list.map((e) => e.snap),
          d,
        );
        const entry = snap ? list.find((e) => e.snap === snap) : undefined;
        if (!entry) {
          results.push({ result: 'error', 'instance-key': ik, name: a.name, error: err('name-not-found', `snap not found: ${a.name}`) });
          continue;
        }
        const pending = this.pickFor(a, undefined, entry, d.arch, now);
        let picked = pending instanceof Promise ? await pending : pending;
        if ((entry.watched || rollout?.heldBy !== undefined) && !('error' in picked)) picked = controlled(picked, entry, d, rollout, undefined, now);
        if ('error' in picked) results.push({ result: 'error', 'instance-key': ik, name: entry.snap.name, 'snap-id': entry.snap.snapId, error: picked.error });
        else plans.push({ action: a, entry, revision: picked.revision, ...(picked.effectiveChannel ? { effectiveChannel: picked.effectiveChannel } : {}) });
        continue;
      }
      if (a.action === 'refresh') {
        const entry = typeof a['snap-id'] === 'string' ? byId.get(a['snap-id']) : undefined;
        const c = ik ? context.get(ik) : undefined;
        if (!entry || !visible(entry.snap, d)) {
          results.push({ result: 'error', 'instance-key': ik, 'snap-id': a['snap-id'], error: err('id-not-found', `snap not found: ${a['snap-id']}`) });
          continue;
        }
        const channel = a.channel ?? c?.['tracking-channel'] ?? 'stable';
        const pending = this.pickFor(a, c, entry, d.arch, now, channel);
        let picked = pending instanceof Promise ? await pending : pending;
        if ((entry.watched || rollout?.heldBy !== undefined) && !('error' in picked)) {
          picked = controlled(picked, entry, d, rollout, c?.revision, now);
          if ('error' in picked) continue; // nothing served to this device from its channel: no update
        }
        if ('error' in picked) {
          // An invalid cohort key the action carries is the device's to hear about; otherwise nothing for it: no update.
          if ((picked.error as { code?: string }).code === 'invalid-cohort-key') results.push({ result: 'error', 'instance-key': ik, 'snap-id': entry.snap.snapId, error: picked.error });
          continue;
        }
        if (picked.revision === c?.revision) continue;
        plans.push({ action: a, entry, revision: picked.revision, ...(picked.effectiveChannel ? { effectiveChannel: picked.effectiveChannel } : {}), installedEpoch: c?.epoch });
        continue;
      }
      errorList.push(err('invalid-action', `unknown action ${JSON.stringify(a.action)}`));
    }

    if (rollout) {
      // Promises only when something is to be written or a plan is due (the usual refresh: neither).
      const recording = rollout.observations.length ? this.facts.record(rollout.device, rollout.observations, now) : undefined;
      if (recording) await recording;
      const checking = rollout.planned.length ? this.plans.afterCheckIn(rollout.planned, now) : undefined;
      if (checking) await checking;
    }

    // Revisions asked for by number (and previous revisions of a progressive release) may not be released: read those.
    // Kept with the catalog entry once read: a progressive release's devices outside it ask for the same one on every refresh.
    const known = (p: Plan) => p.entry.revisions.get(p.revision) ?? p.entry.readRevisions?.get(p.revision);
    const unreleased = plans.filter((p) => !known(p));
    if (unreleased.length) {
      const read = await revisionsByKeys(this.db, unreleased.map((p) => ({ snapId: p.entry.snap.snapId, revision: p.revision })));
      for (const p of unreleased) {
        const r = read.get(`${p.entry.snap.snapId}#${p.revision}`);
        if (r) (p.entry.readRevisions ??= new Map()).set(p.revision, r);
      }
    }
    for (const p of plans) {
      const rev = known(p);
      const ik = p.action['instance-key'];
      const snap = p.entry.snap;
      if (rev && p.action.action === 'refresh' && !canRead(rev.epoch, p.installedEpoch)) continue; // an epoch the installed data cannot go to: no update
      if (rev && rev.confinement === 'classic' && !d.classic) {
        results.push({ result: 'error', 'instance-key': ik, name: snap.name, 'snap-id': snap.snapId, error: err('revision-not-found', `${snap.name} uses classic confinement, which Ubuntu Core devices cannot install`) });
        continue;
      }
      if (!rev || !archMatches(rev, d.arch)) {
        results.push({ result: 'error', 'instance-key': ik, name: snap.name, 'snap-id': snap.snapId, error: err('revision-not-found', `no snap revision ${p.revision} for ${d.arch}`) });
        continue;
      }
      // `,"snap-id":…,"name":…,"snap":{…}` as bytes, serialized once per catalog entry (and base URL, snap-yaml or not).
      const serialize = async () => Buffer.from(`,"snap-id":${JSON.stringify(snap.snapId)},"name":${JSON.stringify(snap.name)},"snap":${JSON.stringify(snapObject(publicUrl, snap, rev, await catalog.publisher(snap.publisherId), withYaml))}`);
      let byRevision = p.entry.json.get(jsonKey);
      if (!byRevision) p.entry.json.set(jsonKey, (byRevision = new Map()));
      let snapBytes = byRevision.get(rev.revision);
      if (!snapBytes) byRevision.set(rev.revision, (snapBytes = await serialize()));
      const effective = p.effectiveChannel ? `,"effective-channel":${JSON.stringify(p.effectiveChannel)}}` : '}';
      results.push([`{"result":${JSON.stringify(p.action.action)},"instance-key":${JSON.stringify(ik ?? null)}`, snapBytes, effective]);
    }

    const maxFormats = body['assertion-max-formats'] ?? {};
    for (const a of body.actions) if (a.action === 'fetch-assertions') results.push(await this.fetchAssertions(a, d, maxFormats));
    const out = new ReplyBytes().add('{"results":[');
    results.forEach((r, i) => {
      if (i > 0) out.add(',');
      if (Array.isArray(r)) out.add(r[0]).add(r[1]).add(r[2]);
      else out.add(JSON.stringify(r));
    });
    out.add(`],"error-list":${JSON.stringify(errorList)}}`);
    return out.toBuffer();
  }

  /**
   * The cohort an action asks for: its own cohort-key, or, on a refresh that
   * names no channel (snapd's auto-refresh), the installed snap's. snapd sends
   * the channel and the cohort it wants on every other refresh, so a refresh
   * with a channel and no key leaves the cohort. An explicit revision wins.
   * A bad key on the action is an error; a bad key only in the context is
   * ignored (the device follows its channel rather than never refreshing).
   */
  private cohortFor(a: Action, c: ContextEntry | undefined, snapId: string, now: Date): { cohort?: Cohort; error?: unknown } {
    if (typeof a.revision === 'number') return NO_COHORT;
    const own = typeof a['cohort-key'] === 'string' && a['cohort-key'] !== '' ? a['cohort-key'] : undefined;
    const inherited = a.action === 'refresh' && a.channel === undefined && typeof c?.['cohort-key'] === 'string' && c['cohort-key'] !== '' ? c['cohort-key'] : undefined;
    const key = own ?? inherited;
    if (key === undefined) return NO_COHORT;
    try {
      const cohort = this.cohortKeys.check(key);
      if (cohort.snapId !== snapId) throw new CohortKeyError('cohort key is for another snap');
      cohortSnapshotTime(cohort, now);
      return { cohort };
    } catch (e) {
      if (!(e instanceof CohortKeyError)) throw e;
      return own === undefined ? NO_COHORT : { error: err(e.code, e.message) };
    }
  }

  /**
   * pick, for the cohort when the action is in one: the channel as it was at
   * the cohort's snapshot time. A promise only then (the history may need a
   * read): the usual refresh of 20 snaps stays synchronous.
   */
  private pickFor(a: Action, c: ContextEntry | undefined, entry: CatalogEntry, arch: string, now: Date, channel = a.channel): Picked | Promise<Picked> {
    const { cohort, error } = this.cohortFor(a, c, entry.snap.snapId, now);
    if (error) return { error };
    if (!cohort) return pick(a, channel, entry.snap, entry.releases, arch, now);
    const at = cohortSnapshotTime(cohort, now);
    return this.catalog.releaseHistory(entry.snap.snapId).then((history) => pick(a, channel, entry.snap, releasesAt(history, at), arch, at));
  }

  private async fetchAssertions(a: Action, d: Device, maxFormats: Record<string, number>): Promise<Record<string, unknown>> {
    const urls: string[] = [];
    const errors: unknown[] = [];
    for (const want of a.assertions ?? []) {
      const found = await this.fetchAssertion(want, d, maxFormats);
      if ('error' in found) errors.push(found.error);
      else if (found.url) urls.push(found.url);
    }
    return { result: 'fetch-assertions', key: a.key, 'assertion-stream-urls': urls, ...(errors.length ? { 'error-list': errors } : {}) };
  }

  private async fetchAssertion(want: AssertionQueryInput, d: Device, maxFormats: Record<string, number>): Promise<{ url?: string } | { error: unknown }> {
    const type = want.type ?? '';
    const t = assertionType(type);
    // snapd lists only types with a maximum format above 0; the others are 0.
    const maxFormat = Math.min(t?.maxFormat ?? 0, Object.hasOwn(maxFormats, type) ? (maxFormats[type] ?? 0) : 0);
    let key = want['primary-key'];
    const seqKey = want['sequence-key'];
    if (!key && seqKey && typeof want.sequence === 'number') key = [...seqKey, String(want.sequence)];
    let found: Assertion | undefined;
    if (!key && seqKey && t?.sequenceForming) {
      // Not pinned: the latest sequence point (at least the one asked for).
      found = await this.latestInSequence(type, seqKey, d, maxFormat);
      const min = want['if-sequence-equal-or-newer-than'];
      if (found && typeof min === 'number' && Number(found.primaryKey.at(-1)) < min) found = undefined;
      key = found?.primaryKey ?? [...seqKey];
    } else {
      if (!t || !key) return { error: { code: 'invalid-request', message: `invalid assertion reference`, type } };
      found = await this.findServed(type, key, d, maxFormat);
    }
    const keyField = want['sequence-key'] ? { 'sequence-key': want['sequence-key'] } : { 'primary-key': key };
    if (!found) return { error: { code: 'not-found', message: `${type} ${key.join('/')} not found`, type, ...keyField } };
    if (typeof want['if-newer-than'] === 'number' && found.revision <= want['if-newer-than']) return {};
    return { url: `${d.baseUrl}/v2/assertions/${type}/${found.shortPrimaryKey.map(encodeURIComponent).join('/')}?chain=true&max-format=${maxFormat}` };
  }

  /** The highest sequence point of a sequence-forming assertion (validation-set), newest revision. */
  private async latestInSequence(type: string, sequenceKey: readonly string[], d: Device, maxFormat?: number): Promise<Assertion | undefined> {
    if (!SERVED_TYPES.has(type) || sequenceKey.some((k) => k === '' || /[/%_\\]/.test(k))) return undefined;
    const prefix = `${sequenceKey.join('/')}/`;
    const rows = await this.db.selectFrom('assertions').select('primary_key').where('type', '=', type).where('primary_key', 'like', `${prefix}%`).execute();
    const sequences = rows.map((r) => Number(r.primary_key.slice(prefix.length))).filter((n) => Number.isInteger(n) && n > 0);
    if (sequences.length === 0) return undefined;
    return this.findServed(type, [...sequenceKey, String(Math.max(...sequences))], d, maxFormat);
  }

  /** An assertion the request may see: snap-declarations and snap-revisions only when their snap is visible. */
  private async findServed(type: string, key: readonly string[], d: Device, maxFormat?: number): Promise<Assertion | undefined> {
    if (!SERVED_TYPES.has(type)) return undefined;
    const a = await findAssertion(platformView(this.db), type, key, maxFormat);
    if (!a) return undefined;
    // A validation is seen with its gating snap.
    if (type === 'snap-declaration' || type === 'snap-revision' || type === 'validation') {
      const snap = await snapById(this.db, a.headerString('snap-id'));
      if (snap && !visible(snap, d)) return undefined;
    }
    return a;
  }

  /**
   * One assertion (GET /v2/assertions/{type}/{key...}), alone or after its
   * signing chain up to (not including) the trusted root; StoreError not-found
   * for one that does not exist or that the device may not see.
   */
  async assertion(d: Device, type: string, key: string[], opts: AssertionRequest = {}): Promise<Assertion[]> {
    let a: Assertion | undefined;
    if (opts.sequence === 'latest' && type) a = await this.latestInSequence(type, key, d, opts.maxFormat);
    else {
      const full = opts.sequence !== undefined ? [...key, opts.sequence] : key;
      a = type && full.length > 0 ? await this.findServed(type, full, d, opts.maxFormat) : undefined;
    }
    if (!a) throw new StoreError('not-found', `${type} assertion not found`);
    if (!opts.chain) return [a];
    const root = this.ctx.root;
    const trusted = new Set(root.trusted.map((t) => `${t.type}/${t.primaryKey.join('/')}`));
    const chain = await signingChain(platformView(this.db), [a], new Set(root.trusted.filter((t) => t.type === 'account-key').map((t) => t.primaryKey[0]!)));
    return [...chain.filter((c) => !trusted.has(`${c.type}/${c.primaryKey.join('/')}`)), a];
  }

  /** A snap and its channel map for one architecture (GET /v2/snaps/info/{name}); StoreError resource-not-found when there is nothing to show. */
  async info(d: Device, name: string, opts: { architecture?: string | undefined } = {}): Promise<Record<string, unknown>> {
    const publicUrl = d.baseUrl;
    const arch = opts.architecture ?? d.arch;
    const list = (await this.catalog.entries.byNames([name])).get(name) ?? [];
    const snap = pickVisible(
      list.map((e) => e.snap),
      d,
    );
    const entry = snap ? list.find((e) => e.snap === snap) : undefined;
    const notFound = () => new StoreError('resource-not-found', `No snap named '${name}' found`);
    if (!snap || !entry) throw notFound();
    const now = this.ctx.now();
    const rels = entry.releases.filter((r) => (r.architecture === arch || r.architecture === 'all') && (r.expiresAt === null || r.expiresAt > now));
    if (rels.length === 0) throw notFound();
    const revs = new Map([...entry.revisions].map(([n, r]) => [`${snap.snapId}#${n}`, r]));
    const publisher = await this.catalog.publisher(snap.publisherId);
    const channelMap = rels
      .sort((x, y) => x.track.localeCompare(y.track) || RISKS.indexOf(x.risk as never) - RISKS.indexOf(y.risk as never) || x.branch.localeCompare(y.branch))
      .flatMap((r) => {
        const rev = revs.get(`${snap.snapId}#${r.revision}`);
        if (!rev) return [];
        const name = [r.track === 'latest' ? '' : r.track, r.risk, r.branch].filter(Boolean).join('/');
        return [{ ...snapObject(publicUrl, snap, rev, publisher), channel: { architecture: arch, name, track: r.track, risk: r.risk, 'released-at': r.releasedAt.toISOString() } }];
      });
    const latest = [...revs.values()].sort((x, y) => y.revision - x.revision)[0]!;
    const common = snapObject(publicUrl, snap, latest, publisher);
    for (const k of ['revision', 'version', 'download', 'epoch', 'confinement', 'created-at', 'architectures']) delete common[k];
    return { name: snap.name, 'snap-id': snap.snapId, snap: common, 'channel-map': channelMap };
  }

  /** Snaps by name substring (`q`) or prefix (`name`) that the device sees, with what their channel serves (GET /v2/snaps/find). */
  async find(d: Device, q: FindInput): Promise<{ results: Record<string, unknown>[] }> {
    const publicUrl = d.baseUrl;
    const arch = q.architecture ?? d.arch;
    const now = this.ctx.now();
    const term = (q.name ?? q.q ?? '').replace(/[%_\\]/g, '');
    const rows = (await findSnaps(this.db, q.name ? { prefix: term.replace(/\*$/, '') } : term ? { substring: term } : {})).filter((s) => visible(s, d) && (q.private !== 'true' || s.private));
    // One snap per name: the one this request sees first.
    const picked = [...new Set(rows.map((s) => s.name))]
      .map(
        (n) =>
          pickVisible(
            rows.filter((s) => s.name === n),
            d,
          )!,
      )
      .filter(Boolean)
      .slice(0, 100);
    const entries = await this.catalog.entries.byIds(picked.map((s) => s.snapId));
    const chosen: { snap: Snap; release: Release; channel: string }[] = [];
    for (const s of picked) {
      let channel;
      try {
        channel = parseStoreChannel(q.channel ?? 'stable', s.defaultTrack);
      } catch {
        throw new StoreError('invalid-channel', `invalid channel ${q.channel}`);
      }
      const r = resolveChannel(entries.get(s.snapId)?.releases ?? [], arch, channel, now);
      if (r) chosen.push({ snap: s, release: r.release, channel: r.effectiveChannel });
    }
    const results = [];
    for (const c of chosen) {
      const rev = entries.get(c.snap.snapId)?.revisions.get(c.release.revision);
      if (!rev) continue;
      const o = snapObject(publicUrl, c.snap, rev, await this.catalog.publisher(c.snap.publisherId));
      results.push({ name: c.snap.name, 'snap-id': c.snap.snapId, snap: o, revision: { ...o, channel: c.channel } });
    }
    return { results };
  }

  /**
   * The file a download URL names by its SHA3-384 (lowercase hex): the digest
   * is the only key, so the URL cannot be guessed without it. StoreError
   * not-found for anything else.
   */
  async download(digest: string, device?: DeviceIdentity): Promise<DownloadFile> {
    if (!/^[0-9a-f]{96}$/.test(digest)) throw new StoreError('not-found', 'no such download');
    const rev = await revisionByDigest(this.db, digest);
    if (!rev) throw new StoreError('not-found', 'no such download');
    // Update control: a device that downloaded a release's revision has tried it (a later old revision is a revert).
    if (device) {
      const tried = await recordDownload(this.db, device, rev.snapId, rev.revision, this.ctx.now());
      if (tried.length) {
        this.facts.forgetDownloaded(device, tried);
        rolloutMetrics(this.ctx.metrics.registry).events.inc({ event: 'downloaded' }, tried.length);
      }
    }
    const blobs = this.ctx.blobs;
    return { digest, size: rev.size, open: (start, end) => blobs.get(digest, { start, end }) };
  }

  /**
   * New cohorts (POST /v2/cohorts, `snap create-cohort`): a key per named
   * snap. Names resolve as the device sees them: a snap it cannot see is
   * StoreError name-not-found, exactly like an unknown name.
   */
  async createCohorts(d: Device, snaps: readonly string[]): Promise<Record<string, string>> {
    const names = [...new Set(snaps)];
    const entries = await this.catalog.entries.byNames(names);
    const snapIds = new Map<string, string>();
    for (const name of names) {
      const snap = pickVisible(
        (entries.get(name) ?? []).map((e) => e.snap),
        d,
      );
      if (!snap) throw new StoreError('name-not-found', `snap not found: ${name}`);
      snapIds.set(name, snap.snapId);
    }
    const now = this.ctx.now();
    const keys = await Promise.all(names.map(async (name) => [name, await this.cohortKeys.create(snapIds.get(name)!, now)] as const));
    return Object.fromEntries(keys);
  }
}

function pick(a: Action, channelName: string | undefined, snap: Snap, rels: readonly Release[], arch: string, now: Date): Picked {
  if (typeof a.revision === 'number') {
    if (!Number.isInteger(a.revision) || a.revision < 1) return { error: err('invalid-revision', `invalid revision ${a.revision}`) };
    return { revision: a.revision };
  }
  const channel = parsedChannel(channelName ?? 'stable', snap.defaultTrack);
  if (channel instanceof ChannelError) return { error: err('invalid-channel', channel.message) };
  const r = resolveChannel(rels, arch, channel, now);
  if (!r) {
    const releases = availableReleases(rels, now)
      .filter((x) => x.architecture === arch || x.architecture === 'all')
      .map((x) => ({ architecture: arch, channel: x.channel }));
    return { error: err('revision-not-found', `no snap revision available as specified for channel ${channelName ?? 'stable'} on ${arch}`, { releases }) };
  }
  return { revision: r.release.revision, effectiveChannel: r.effectiveChannel, release: r.release, channel };
}

/** Update control's state for one snap action request of a device with a session. */
class RolloutRequest {
  /** This device's facts for the paused releases the request touches. */
  facts = new Map<string, StoredFacts>();
  readonly observations: Observation[] = [];
  /** Releases following a plan that this request touched (their plans are looked at after the facts are written). */
  readonly planned: PlannedRelease[] = [];
  private readonly plannedIds = new Set<string>();
  private groupNames: string[] | undefined;
  constructor(
    readonly device: DeviceIdentity,
    private readonly memberOf: () => string[],
    /** The held device group the device is in. */
    readonly heldBy?: string,
  ) {}

  /** A release following a plan that this request touched (once each). */
  plan(releaseId: string, plan: ReleasePlan, paused: boolean): void {
    if (this.plannedIds.has(releaseId)) return;
    this.plannedIds.add(releaseId);
    this.planned.push({ releaseId, plan, paused });
  }

  /** The store's groups the device is in (matched once per request, when a release targets groups). */
  get groups(): string[] {
    return (this.groupNames ??= this.memberOf());
  }
}

/**
 * A channel pick through update control (src/rollout): when the release the
 * channel resolved to is watched, the pure core decides the revision for
 * this device (the same `decide` that `rollout why` explains), and the
 * observation is kept for the facts. Without a session the device is outside.
 */
function controlled(picked: Exclude<Picked, { error: unknown }>, entry: CatalogEntry, d: Device, rollout: RolloutRequest | undefined, installed: number | undefined, now: Date): Picked {
  const { release, channel } = picked;
  if (!release || !channel) return picked;
  const watchedRelease = channelRelease(release, entry.snap.snapId, entry.releases, d.arch, channel, now);
  const cr = watchedRelease ?? (rollout?.heldBy !== undefined ? plainRelease(release, entry.snap.snapId) : undefined);
  if (!cr) return picked;
  const decision = decide(cr, rollout?.device, rollout?.facts.get(cr.releaseId), { installedRevision: installed, heldBy: rollout?.heldBy, groups: cr.groups?.length ? rollout?.groups : undefined, now });
  if (watchedRelease && release.plan && rollout) rollout.plan(cr.releaseId, release.plan, release.paused ?? false);
  if (watchedRelease) rollout?.observations.push({ releaseId: cr.releaseId, snapId: cr.snapId, revision: cr.revision, health: release.health, offered: decision.offeredRelease, reported: installed, took: installed === cr.revision });
  if (decision.revision === null) return { error: err('revision-not-found', `no snap revision available as specified for channel ${fullChannelName(channel)} on ${d.arch}`) };
  return decision.revision === picked.revision ? picked : { ...picked, revision: decision.revision };
}
