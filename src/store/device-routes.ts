// The snapd-facing API (protocol section 6), at the server root so that a
// Snapline URL works as snapd's store base URL. Every route is public and
// does its own checks: device sessions, and visibility of private snaps.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertionType, encodeStream, MEDIA_TYPE, SNAP_SERIES, type Assertion } from '../assertions/index.ts';
import { findAssertion, signingChain } from '../platform/assertions/index.ts';
import { platformView } from '../platform/db/index.ts';
import type { PlatformContext } from '../platform/context.ts';
import { snapdError } from './snapd-error.ts';
import { ApiError } from '../platform/http/errors.ts';
import { ChannelError, RISKS, memoizedChannel, type Channel } from '../channel/channel.ts';
import { availableReleases, parseStoreChannel, resolveChannel, type Release } from './channels.ts';
import { revisionByDigest, revisionsByKeys, snapById, toSnap, type Revision, type Snap, type StoreDb } from './repo.ts';
import type { CatalogEntry } from './catalog.ts';
import { issueNonce, loadSession, openSession, requestSession, SessionCache, SessionError, type DeviceSession } from './sessions.ts';
import { snapObject } from './snap-object.ts';
import { ReplyBytes } from './reply-bytes.ts';
import { CohortKeys } from './cohort-keys.ts';
import { cohortRoutes } from './cohort-routes.ts';
import { CohortKeyError, cohortSnapshotTime, releasesAt, type Cohort } from './cohorts.ts';
import { header, pickVisible, visible, type Catalog } from './visibility.ts';

const PUBLIC = { kind: 'public' } as const;
const SNAPD = { access: PUBLIC, formatError: snapdError };

/** Types the assertions endpoint serves (no device identities). */
const SERVED_TYPES = new Set(['account', 'account-key', 'snap-declaration', 'snap-revision', 'snap-developer', 'store', 'validation-set', 'model', 'base-declaration']);

function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer: fastify would add "; charset=utf-8" to a string, which snapd refuses for find and assertion errors.
  return reply.status(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(body)));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The device a store request comes from (its session), for update control and rollout health. */
    storeDevice?: DeviceSession;
  }
}

export interface DeviceRequest {
  session: DeviceSession | undefined;
  storeId: string | undefined;
  seen: string[];
  arch: string;
  series: string;
  /** False on Ubuntu Core (Snap-Classic: false): classic-confinement snaps are not offered. */
  classic: boolean;
}

interface Action {
  action?: string;
  'instance-key'?: string;
  name?: string;
  'snap-id'?: string;
  channel?: string;
  revision?: number;
  'cohort-key'?: string;
  key?: string;
  assertions?: { type?: string; 'primary-key'?: string[]; 'sequence-key'?: string[]; sequence?: number; 'if-newer-than'?: number }[];
}

interface ContextEntry {
  'snap-id'?: string;
  'instance-key'?: string;
  revision?: number;
  'tracking-channel'?: string;
  'cohort-key'?: string;
  epoch?: { read?: unknown; write?: unknown };
}

/** snapd's epoch rule: a revision may replace the installed one only if it can read data the installed one wrote. */
function canRead(next: { read: number[] }, installed: ContextEntry['epoch']): boolean {
  const written = Array.isArray(installed?.write) ? (installed.write as unknown[]).filter((x): x is number => typeof x === 'number') : [0];
  return next.read.some((e) => written.includes(e));
}

const err = (code: string, message: string, extra?: unknown) => ({ code, message, ...(extra ? { extra } : {}) });

type Picked = { revision: number; effectiveChannel?: string } | { error: unknown };
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

export async function deviceRoutes(app: FastifyInstance, ctx: PlatformContext, db: StoreDb, catalog: Catalog): Promise<void> {
  // Absolute URLs come from config.publicUrl; a server on an ephemeral port
  // (publicUrl ending in ":0", as in tests) uses the request's Host instead.
  const configuredUrl = ctx.config.publicUrl;
  const ephemeral = /:0$/.test(configuredUrl);
  const baseUrl = (req: FastifyRequest) => (ephemeral && req.headers.host ? `${req.protocol}://${req.headers.host}` : configuredUrl);
  const sessions = new SessionCache((tokenHash) => loadSession(db, tokenHash));
  const cohortKeys = new CohortKeys(ctx.root.storeSigner);

  async function device(req: FastifyRequest): Promise<DeviceRequest> {
    let session: DeviceSession | undefined;
    try {
      session = await requestSession(db, req, ctx.now(), sessions);
    } catch (e) {
      if (e instanceof SessionError) throw new ApiError(e.code, e.message, e.status);
      throw e;
    }
    if (session) {
      req.storeDevice = session;
      if (req.log.level === 'debug' || req.log.level === 'trace') req.log.debug({ device: `${session.brandId}/${session.model}/${session.serial}` }, 'device request');
    }
    const storeId = session?.storeId ?? header(req, 'snap-device-store') ?? header(req, 'x-ubuntu-store');
    return {
      session,
      storeId,
      seen: await catalog.storesSeenBy(storeId),
      arch: header(req, 'snap-device-architecture') ?? header(req, 'x-ubuntu-architecture') ?? 'amd64',
      classic: (header(req, 'snap-classic') ?? header(req, 'x-ubuntu-classic')) !== 'false',
      series: header(req, 'snap-device-series') ?? header(req, 'x-ubuntu-series') ?? SNAP_SERIES,
    };
  }

  // --- device sessions (6.3) ---
  await app.register(async (scope) => {
    // The nonce request has no body; accept (and ignore) whatever content type a client sends with it.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_req, _body, done) => done(null, undefined));
    scope.post('/api/v1/snaps/auth/nonces', { config: { ...SNAPD, rawBody: true }, schema: { hide: true } }, async (_req, reply) => {
      return json(reply, 200, { nonce: await issueNonce(db, ctx.now()) });
    });
  });

  app.post(
    '/api/v1/snaps/auth/sessions',
    {
      config: SNAPD,
      bodyLimit: 256 * 1024,
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['device-session-request', 'serial-assertion', 'model-assertion'],
          properties: { 'device-session-request': { type: 'string' }, 'serial-assertion': { type: 'string' }, 'model-assertion': { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      try {
        const token = await openSession(ctx, db, catalog, req.body as Record<string, unknown>);
        return json(reply, 200, { macaroon: token });
      } catch (e) {
        if (e instanceof SessionError) throw new ApiError(e.code, e.message, e.status);
        throw e;
      }
    },
  );

  // --- snap action (6.5) ---
  app.post(
    '/v2/snaps/refresh',
    {
      config: SNAPD,
      schema: {
        hide: true,
        body: {
          type: 'object',
          required: ['actions'],
          properties: {
            context: { type: 'array', maxItems: 5000, items: { type: 'object' } },
            actions: { type: 'array', maxItems: 5000, items: { type: 'object' } },
            fields: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    async (req, reply) => {
      const d = await device(req);
      const publicUrl = baseUrl(req);
      const now = ctx.now();
      const body = req.body as { context?: ContextEntry[]; actions: Action[]; fields?: string[] };
      const withYaml = body.fields?.includes('snap-yaml') ?? false;
      const jsonKey = withYaml ? `yaml ${publicUrl}` : publicUrl;
      const context = new Map<string, ContextEntry>();
      for (const c of body.context ?? []) if (typeof c['instance-key'] === 'string') context.set(c['instance-key'], c);
      // Results are objects, or a snap result as [text before, cached snap bytes, text after].
      const results: (Record<string, unknown> | [string, Buffer, string])[] = [];
      const errorList: unknown[] = [];
      if (d.series !== SNAP_SERIES) return json(reply, 200, { results: [], 'error-list': [err('unsupported-series', `series ${d.series} is not served`)] });

      // Every snap the actions name, with releases and released revisions (one query, or the 1 s cache).
      const names: string[] = [];
      const ids: string[] = [];
      for (const a of body.actions) {
        if ((a.action === 'install' || a.action === 'download') && typeof a.name === 'string') names.push(a.name);
        else if (a.action === 'refresh' && typeof a['snap-id'] === 'string') ids.push(a['snap-id']);
      }
      const [byName, byId] = await Promise.all([names.length ? catalog.entries.byNames(names) : new Map<string, CatalogEntry[]>(), ids.length ? catalog.entries.byIds(ids) : new Map<string, CatalogEntry>()]);

      type Plan = { action: Action; entry: CatalogEntry; revision: number; effectiveChannel?: string; installedEpoch?: ContextEntry['epoch'] };
      const plans: Plan[] = [];
      for (const a of body.actions) {
        const ik = a['instance-key'];
        if (a.action === 'fetch-assertions') continue;
        if (a.action === 'install' || a.action === 'download') {
          const list = typeof a.name === 'string' ? (byName.get(a.name) ?? []) : [];
          const snap = pickVisible(list.map((e) => e.snap), d.seen);
          const entry = snap ? list.find((e) => e.snap === snap) : undefined;
          if (!entry) {
            results.push({ result: 'error', 'instance-key': ik, name: a.name, error: err('name-not-found', `snap not found: ${a.name}`) });
            continue;
          }
          const pending = pickFor(a, undefined, entry, d.arch, now);
          const picked = pending instanceof Promise ? await pending : pending;
          if ('error' in picked) results.push({ result: 'error', 'instance-key': ik, name: entry.snap.name, 'snap-id': entry.snap.snapId, error: picked.error });
          else plans.push({ action: a, entry, ...picked });
          continue;
        }
        if (a.action === 'refresh') {
          const entry = typeof a['snap-id'] === 'string' ? byId.get(a['snap-id']) : undefined;
          const c = ik ? context.get(ik) : undefined;
          if (!entry || !visible(entry.snap, d.seen)) {
            results.push({ result: 'error', 'instance-key': ik, 'snap-id': a['snap-id'], error: err('id-not-found', `snap not found: ${a['snap-id']}`) });
            continue;
          }
          const channel = a.channel ?? c?.['tracking-channel'] ?? 'stable';
          const pending = pickFor(a, c, entry, d.arch, now, channel);
          const picked = pending instanceof Promise ? await pending : pending;
          if ('error' in picked) {
            // An invalid cohort key the action carries is the device's to hear about; otherwise nothing for it: no update.
            if ((picked.error as { code?: string }).code === 'invalid-cohort-key') results.push({ result: 'error', 'instance-key': ik, 'snap-id': entry.snap.snapId, error: picked.error });
            continue;
          }
          if (picked.revision === c?.revision) continue;
          plans.push({ action: a, entry, ...picked, installedEpoch: c?.epoch });
          continue;
        }
        errorList.push(err('invalid-action', `unknown action ${JSON.stringify(a.action)}`));
      }

      // Revisions asked for by number may not be released: read those.
      const unreleased = plans.filter((p) => !p.entry.revisions.has(p.revision));
      const extra = unreleased.length ? await revisionsByKeys(db, unreleased.map((p) => ({ snapId: p.entry.snap.snapId, revision: p.revision }))) : new Map<string, Revision>();
      for (const p of plans) {
        const rev = p.entry.revisions.get(p.revision) ?? extra.get(`${p.entry.snap.snapId}#${p.revision}`);
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
        let snapBytes: Buffer;
        if (p.entry.revisions.get(p.revision) === rev) {
          let byRevision = p.entry.json.get(jsonKey);
          if (!byRevision) p.entry.json.set(jsonKey, (byRevision = new Map()));
          let cached = byRevision.get(rev.revision);
          if (!cached) byRevision.set(rev.revision, (cached = await serialize()));
          snapBytes = cached;
        } else snapBytes = await serialize();
        const effective = p.effectiveChannel ? `,"effective-channel":${JSON.stringify(p.effectiveChannel)}}` : '}';
        results.push([`{"result":${JSON.stringify(p.action.action)},"instance-key":${JSON.stringify(ik ?? null)}`, snapBytes, effective]);
      }

      const maxFormats = (req.body as { 'assertion-max-formats'?: Record<string, unknown> })['assertion-max-formats'] ?? {};
      for (const a of body.actions.filter((x) => x.action === 'fetch-assertions')) results.push(await fetchAssertions(a, d, publicUrl, maxFormats));
      const out = new ReplyBytes().add('{"results":[');
      results.forEach((r, i) => {
        if (i > 0) out.add(',');
        if (Array.isArray(r)) out.add(r[0]).add(r[1]).add(r[2]);
        else out.add(JSON.stringify(r));
      });
      out.add(`],"error-list":${JSON.stringify(errorList)}}`);
      return reply.status(200).header('content-type', 'application/json').send(out.toBuffer());
    },
  );

  /**
   * The cohort an action asks for: its own cohort-key, or, on a refresh that
   * names no channel (snapd's auto-refresh), the installed snap's. snapd sends
   * the channel and the cohort it wants on every other refresh, so a refresh
   * with a channel and no key leaves the cohort. An explicit revision wins.
   * A bad key on the action is an error; a bad key only in the context is
   * ignored (the device follows its channel rather than never refreshing).
   */
  function cohortFor(a: Action, c: ContextEntry | undefined, snapId: string, now: Date): { cohort?: Cohort; error?: unknown } {
    if (typeof a.revision === 'number') return NO_COHORT;
    const own = typeof a['cohort-key'] === 'string' && a['cohort-key'] !== '' ? a['cohort-key'] : undefined;
    const inherited = a.action === 'refresh' && a.channel === undefined && typeof c?.['cohort-key'] === 'string' && c['cohort-key'] !== '' ? c['cohort-key'] : undefined;
    const key = own ?? inherited;
    if (key === undefined) return NO_COHORT;
    try {
      const cohort = cohortKeys.check(key);
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
  function pickFor(a: Action, c: ContextEntry | undefined, entry: CatalogEntry, arch: string, now: Date, channel = a.channel): Picked | Promise<Picked> {
    const { cohort, error } = cohortFor(a, c, entry.snap.snapId, now);
    if (error) return { error };
    if (!cohort) return pick(a, channel, entry.snap, entry.releases, arch, now);
    const at = cohortSnapshotTime(cohort, now);
    return catalog.releaseHistory(entry.snap.snapId).then((history) => pick(a, channel, entry.snap, releasesAt(history, at), arch, at));
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
      const releases = availableReleases(rels, now).filter((x) => x.architecture === arch || x.architecture === 'all').map((x) => ({ architecture: arch, channel: x.channel }));
      return { error: err('revision-not-found', `no snap revision available as specified for channel ${channelName ?? 'stable'} on ${arch}`, { releases }) };
    }
    return { revision: r.release.revision, effectiveChannel: r.effectiveChannel };
  }

  async function fetchAssertions(a: Action, d: DeviceRequest, publicUrl: string, maxFormats: Record<string, unknown>): Promise<Record<string, unknown>> {
    const urls: string[] = [];
    const errors: unknown[] = [];
    for (const want of a.assertions ?? []) {
      const type = typeof want.type === 'string' ? want.type : '';
      const t = assertionType(type);
      // snapd lists only types with a maximum format above 0; the others are 0.
      const maxFormat = Math.min(t?.maxFormat ?? 0, typeof maxFormats[type] === 'number' ? (maxFormats[type] as number) : 0);
      let key = Array.isArray(want['primary-key']) ? want['primary-key'] : undefined;
      const seqKey = Array.isArray(want['sequence-key']) ? want['sequence-key'] : undefined;
      if (!key && seqKey && typeof want.sequence === 'number') key = [...seqKey, String(want.sequence)];
      let found: Assertion | undefined;
      if (!key && seqKey && t?.sequenceForming && seqKey.every((k) => typeof k === 'string')) {
        // Not pinned: the latest sequence point (at least the one asked for).
        found = await latestInSequence(type, seqKey, d, maxFormat);
        const min = (want as { 'if-sequence-equal-or-newer-than'?: number })['if-sequence-equal-or-newer-than'];
        if (found && typeof min === 'number' && Number(found.primaryKey.at(-1)) < min) found = undefined;
        key = found?.primaryKey ?? [...seqKey];
      } else {
        if (!t || !key || key.some((k) => typeof k !== 'string')) {
          errors.push({ code: 'invalid-request', message: `invalid assertion reference`, type });
          continue;
        }
        found = await findServed(type, key, d, maxFormat);
      }
      const keyField = want['sequence-key'] ? { 'sequence-key': want['sequence-key'] } : { 'primary-key': key };
      if (!found) {
        errors.push({ code: 'not-found', message: `${type} ${key.join('/')} not found`, type, ...keyField });
        continue;
      }
      if (typeof want['if-newer-than'] === 'number' && found.revision <= want['if-newer-than']) continue;
      urls.push(`${publicUrl}/v2/assertions/${type}/${found.shortPrimaryKey.map(encodeURIComponent).join('/')}?chain=true&max-format=${maxFormat}`);
    }
    return { result: 'fetch-assertions', key: a.key, 'assertion-stream-urls': urls, ...(errors.length ? { 'error-list': errors } : {}) };
  }

  /** The highest sequence point of a sequence-forming assertion (validation-set), newest revision. */
  async function latestInSequence(type: string, sequenceKey: readonly string[], d: DeviceRequest, maxFormat?: number): Promise<Assertion | undefined> {
    if (!SERVED_TYPES.has(type) || sequenceKey.some((k) => k === '' || /[/%_\\]/.test(k))) return undefined;
    const prefix = `${sequenceKey.join('/')}/`;
    const rows = await db.selectFrom('assertions').select('primary_key').where('type', '=', type).where('primary_key', 'like', `${prefix}%`).execute();
    const sequences = rows.map((r) => Number(r.primary_key.slice(prefix.length))).filter((n) => Number.isInteger(n) && n > 0);
    if (sequences.length === 0) return undefined;
    return findServed(type, [...sequenceKey, String(Math.max(...sequences))], d, maxFormat);
  }

  /** An assertion the request may see: snap-declarations and snap-revisions only when their snap is visible. */
  async function findServed(type: string, key: readonly string[], d: DeviceRequest, maxFormat?: number): Promise<Assertion | undefined> {
    if (!SERVED_TYPES.has(type)) return undefined;
    const a = await findAssertion(platformView(db), type, key, maxFormat);
    if (!a) return undefined;
    if (type === 'snap-declaration' || type === 'snap-revision') {
      const snap = await snapById(db, a.headerString('snap-id'));
      if (snap && !visible(snap, d.seen)) return undefined;
    }
    return a;
  }

  await cohortRoutes(app, { catalog, cohortKeys, device, now: ctx.now });

  // --- assertions (6.9) ---
  app.get(
    '/v2/assertions/*',
    {
      config: SNAPD,
      schema: { hide: true, querystring: { type: 'object', properties: { 'max-format': { type: 'integer', minimum: 0 }, chain: { type: 'boolean' }, sequence: { type: 'string' } } } },
    },
    async (req, reply) => {
      const d = await device(req);
      const q = req.query as { 'max-format'?: number; chain?: boolean; sequence?: string };
      const parts = (req.params as { '*': string })['*'].split('/').map((p) => decodeURIComponent(p));
      const [type, ...key] = parts;
      let a: Assertion | undefined;
      if (q.sequence === 'latest' && type) a = await latestInSequence(type, key, d, q['max-format']);
      else {
        if (q.sequence !== undefined) key.push(q.sequence);
        a = type && key.length > 0 ? await findServed(type, key, d, q['max-format']) : undefined;
      }
      if (!a) return json(reply, 404, { 'error-list': [{ code: 'not-found', message: `${type} assertion not found` }] });
      let out: Assertion[] = [a];
      if (q.chain) {
        const trusted = new Set(ctx.root.trusted.map((t) => `${t.type}/${t.primaryKey.join('/')}`));
        const chain = await signingChain(platformView(db), [a], new Set(ctx.root.trusted.filter((t) => t.type === 'account-key').map((t) => t.primaryKey[0]!)));
        out = [...chain.filter((c) => !trusted.has(`${c.type}/${c.primaryKey.join('/')}`)), a];
      }
      return reply.status(200).header('content-type', MEDIA_TYPE).send(encodeStream(out));
    },
  );

  // --- info (6.7) ---
  app.get(
    '/v2/snaps/info/:name',
    { config: SNAPD, schema: { hide: true, querystring: { type: 'object', properties: { architecture: { type: 'string' }, fields: { type: 'string' } } } } },
    async (req, reply) => {
      const d = await device(req);
      const publicUrl = baseUrl(req);
      const name = (req.params as { name: string }).name;
      const q = req.query as { architecture?: string; fields?: string };
      const arch = q.architecture ?? d.arch;
      const list = (await catalog.entries.byNames([name])).get(name) ?? [];
      const snap = pickVisible(list.map((e) => e.snap), d.seen);
      const entry = snap ? list.find((e) => e.snap === snap) : undefined;
      const notFound = () => json(reply, 404, { 'error-list': [{ code: 'resource-not-found', message: `No snap named '${name}' found` }] });
      if (!snap || !entry) return notFound();
      const now = ctx.now();
      const rels = entry.releases.filter((r) => (r.architecture === arch || r.architecture === 'all') && (r.expiresAt === null || r.expiresAt > now));
      if (rels.length === 0) return notFound();
      const revs = new Map([...entry.revisions].map(([n, r]) => [`${snap.snapId}#${n}`, r]));
      const publisher = await catalog.publisher(snap.publisherId);
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
      return json(reply, 200, { name: snap.name, 'snap-id': snap.snapId, snap: common, 'channel-map': channelMap });
    },
  );

  // --- find (6.8) ---
  app.get(
    '/v2/snaps/find',
    {
      config: SNAPD,
      schema: { hide: true, querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 200 }, name: { type: 'string', maxLength: 200 }, architecture: { type: 'string' }, channel: { type: 'string' }, private: { type: 'string' } } } },
    },
    async (req, reply) => {
      const d = await device(req);
      const publicUrl = baseUrl(req);
      const q = req.query as { q?: string; name?: string; architecture?: string; channel?: string; private?: string };
      const arch = q.architecture ?? d.arch;
      const now = ctx.now();
      let query = db.selectFrom('store_snaps').selectAll();
      const term = (q.name ?? q.q ?? '').replace(/[%_\\]/g, '');
      if (q.name) query = query.where('name', 'like', `${term.replace(/\*$/, '')}%`);
      else if (term) query = query.where('name', 'like', `%${term}%`);
      const rows = (await query.orderBy('name').limit(500).execute()).map(toSnap).filter((s) => visible(s, d.seen) && (q.private !== 'true' || s.private));
      // One snap per name: the one this request sees first.
      const picked = [...new Set(rows.map((s) => s.name))].map((n) => pickVisible(rows.filter((s) => s.name === n), d.seen)!).filter(Boolean).slice(0, 100);
      const entries = await catalog.entries.byIds(picked.map((s) => s.snapId));
      const chosen: { snap: Snap; release: Release; channel: string }[] = [];
      for (const s of picked) {
        let channel;
        try {
          channel = parseStoreChannel(q.channel ?? 'stable', s.defaultTrack);
        } catch {
          return json(reply, 400, { 'error-list': [{ code: 'invalid-channel', message: `invalid channel ${q.channel}` }] });
        }
        const r = resolveChannel(entries.get(s.snapId)?.releases ?? [], arch, channel, now);
        if (r) chosen.push({ snap: s, release: r.release, channel: r.effectiveChannel });
      }
      const results = [];
      for (const c of chosen) {
        const rev = entries.get(c.snap.snapId)?.revisions.get(c.release.revision);
        if (!rev) continue;
        const o = snapObject(publicUrl, c.snap, rev, await catalog.publisher(c.snap.publisherId));
        results.push({ name: c.snap.name, 'snap-id': c.snap.snapId, snap: o, revision: { ...o, channel: c.channel } });
      }
      return json(reply, 200, { results });
    },
  );

  // --- downloads (6.10): the digest in the URL names the file; Range and resume ---
  app.get('/api/v1/snaps/download/:digest/:file', { config: SNAPD, schema: { hide: true } }, async (req, reply) => {
    const { digest } = req.params as { digest: string; file: string };
    if (!/^[0-9a-f]{96}$/.test(digest)) throw new ApiError('not-found', 'no such download');
    const rev = await revisionByDigest(db, digest);
    if (!rev) throw new ApiError('not-found', 'no such download');
    const size = rev.size;
    const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag: `"${digest}"`, 'content-type': 'application/octet-stream' };
    let start = 0;
    let end = size - 1;
    const range = header(req, 'range');
    let partial = false;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(size - 1, Number(m[2]));
        }
        if (start >= size || start > end) {
          return reply.status(416).headers({ ...headers, 'content-range': `bytes */${size}`, 'content-type': 'application/json' }).send(Buffer.from(JSON.stringify({ 'error-list': [{ code: 'range-not-satisfiable', message: `range ${range} is outside ${size} bytes` }] })));
        }
        partial = true;
      }
    }
    headers['content-length'] = String(end - start + 1);
    if (partial) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    // HEAD: an empty stream keeps our Content-Length (fastify's HEAD handler would set 0 for no payload).
    if (req.method === 'HEAD') return reply.status(partial ? 206 : 200).headers(headers).send(Readable.from([]));
    const blob = await ctx.blobs.get(digest, { start, end });
    return reply.sendByHand(partial ? 206 : 200, headers, (res) => blob.sendTo(res));
  });
}

function archMatches(rev: Revision, arch: string): boolean {
  return rev.architectures.includes('all') || rev.architectures.includes(arch);
}
